#!/usr/bin/env bash
# Configuration survives kill -9: same bridges, ports (numbers) and flows,
# and traffic flows again after the restart.
. "$(dirname "$0")/lib.sh"

start_vswitchd || exit 1
A=${P}a B=${P}b br=${P}br
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}a0" 10.252.0.1/24
veth_to_ns "$B" "${P}b0" 10.252.0.2/24
check "add-br" vsctl add-br "$br"
check "add-port a ofport=7" vsctl add-port "$br" "${P}a0" type=afpacket ofport=7
check "add-port b ofport=9" vsctl add-port "$br" "${P}b0" type=afpacket ofport=9
check "add-flows" sh -c "printf '%s\n' 'priority=100,arp,actions=normal' \
  'priority=100,ip,in_port=7,actions=output:9' \
  'priority=100,ip,in_port=9,actions=output:7' \
  'priority=10,actions=drop' | $VSCTL_BIN --server=unix:$RUN/ctl add-flows $br -"
check "ping before restart" ping_ok "$A" 10.252.0.2
vsctl show >"$RUN/show.before"
vsctl dump-flows "$br" --no-stats >"$RUN/flows.before"
kill9_vswitchd
check_not "ping fails while the switch is down" nsx "$A" ping -c 1 -W 1 10.252.0.2
start_vswitchd || exit 1
vsctl show >"$RUN/show.after"
vsctl dump-flows "$br" --no-stats >"$RUN/flows.after"
check "same show output after kill -9" diff "$RUN/show.before" "$RUN/show.after"
check "same flows after kill -9" diff "$RUN/flows.before" "$RUN/flows.after"
check "ping after restart" ping_ok "$A" 10.252.0.2
check "tcp after restart" tcp_ok "$A" "$B" 10.252.0.2
