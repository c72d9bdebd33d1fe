#!/usr/bin/env bash
# Protocol robustness: a hostile client sends malformed, truncated, random
# and never-read messages while two namespaces ping each other through the
# switch.  The daemon must answer bad requests with errors, drop what
# cannot be parsed, disconnect the client that never reads, stay up, keep
# forwarding (no ping lost) and keep serving well-behaved clients.
. "$(dirname "$0")/lib.sh"

ABUSE="python3 $(dirname "$0")/ctl-abuse.py $RUN/ctl"
start_vswitchd --probe-interval=2 || exit 1
A=${P}a B=${P}b br=${P}br
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}a0" 10.252.0.1/24
veth_to_ns "$B" "${P}b0" 10.252.0.2/24
check "add-br" vsctl add-br "$br"
check "add-port a" vsctl add-port "$br" "${P}a0" type=afpacket
check "add-port b" vsctl add-port "$br" "${P}b0" type=afpacket
check "ping before" ping_ok "$A" 10.252.0.2

# Forwarding runs for the whole abuse: 600 pings at 10 ms.
nsx "$A" ping -q -c 600 -i 0.01 -W 2 10.252.0.2 >"$RUN/ping.out" 2>&1 &
ping_pid=$!
pid=$(cat "$RUN/pid")

check "malformed messages get errors" $ABUSE malformed
check "truncated frames handled" $ABUSE truncated
for seed in 1 2 3; do
    check "random messages (seed $seed)" $ABUSE random $seed
done
check "a client that never reads is disconnected" $ABUSE slow
check "a silent client is probed, then disconnected" $ABUSE silent 2
check "daemon still running" kill -0 "$pid"
check "disconnect logged" grep -q "disconnecting" "$RUN/log"
check "good client still served" vsctl show
check "flows still intact" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep -q actions=NORMAL"

wait $ping_pid
check "no ping lost while under attack" grep -q " 0% packet loss" "$RUN/ping.out"
sed 's/^/    /' "$RUN/ping.out" | tail -2
check "ping after" ping_ok "$A" 10.252.0.2
