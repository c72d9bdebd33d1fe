#!/usr/bin/env bash
# SIGTERM shuts vswitchd down cleanly: TAPs it created are removed, XDP
# programs it attached are detached, the socket and pidfile are gone,
# and a restart rebuilds the same switch.
. "$(dirname "$0")/lib.sh"

A=${P}a B=${P}b br=${P}br
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}a0" 10.253.0.1/24
veth_to_ns "$B" "${P}b0" 10.253.0.2/24
start_vswitchd || exit 1
check "add-br" vsctl add-br "$br"
check "add afxdp port" vsctl add-port "$br" "${P}a0" type=afxdp
check "add afpacket port" vsctl add-port "$br" "${P}b0" type=afpacket
check "add tap port" vsctl add-port "$br" "${P}t" type=tap
check "tap exists" ip link show "${P}t"
check "internal port exists" ip link show "$br"
check "XDP program attached" sh -c "ip link show ${P}a0 | grep -q xdp"
pid=$(cat "$RUN/pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check_not "vswitchd exited" kill -0 "$pid"
check_not "tap removed" ip link show "${P}t"
check_not "internal port removed" ip link show "$br"
check_not "XDP program detached" sh -c "ip link show ${P}a0 | grep -q xdp"
check_not "control socket removed" test -e "$RUN/ctl"
check_not "pidfile removed" test -e "$RUN/pid"
check "log says it stopped" grep -qi "exit\|stop\|shut" "$RUN/log"
start_vswitchd || exit 1
check "restart: ports back" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl list-ports $br | grep -q ${P}t"
check "restart: tap recreated" ip link show "${P}t"
