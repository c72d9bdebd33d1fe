#!/usr/bin/env bash
# Conntrack zones keep two identical address spaces apart: two pairs of
# namespaces with the same IPs on one bridge, zone 1 for ports 1-2, zone 2
# for ports 3-4.  The same tuple is tracked twice, a reply-looking packet
# in one zone is not let through by a connection of the other, and a
# flush of one zone leaves the other alone.
. "$(dirname "$0")/lib.sh"

A1=${P}a1 A2=${P}a2 B1=${P}b1 B2=${P}b2 br=${P}zb
IP1=10.253.22.1 IP2=10.253.22.2
start_vswitchd || exit 1
for h in "$A1" "$A2" "$B1" "$B2"; do add_ns "$h"; done
veth_to_ns "$A1" "${P}a10" $IP1/24
veth_to_ns "$A2" "${P}a20" $IP2/24
veth_to_ns "$B1" "${P}b10" $IP1/24
veth_to_ns "$B2" "${P}b20" $IP2/24
check "add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}a10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}a20" type=afpacket ofport=2 &&
vsctl add-port "$br" "${P}b10" type=afpacket ofport=3 &&
vsctl add-port "$br" "${P}b20" type=afpacket ofport=4
check "replace the default flow" vsctl del-flows "$br"
zone_flows() {
    printf '%s\n' \
    'table=0,priority=10,arp,in_port=1,actions=output:2' \
    'table=0,priority=10,arp,in_port=2,actions=output:1' \
    'table=0,priority=10,arp,in_port=3,actions=output:4' \
    'table=0,priority=10,arp,in_port=4,actions=output:3' \
    'table=0,priority=100,ip,in_port=1,actions=ct(table=1,zone=1)' \
    'table=0,priority=100,ip,in_port=2,actions=ct(table=1,zone=1)' \
    'table=0,priority=100,ip,in_port=3,actions=ct(table=1,zone=2)' \
    'table=0,priority=100,ip,in_port=4,actions=ct(table=1,zone=2)' \
    'table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1),output:2' \
    'table=1,priority=100,ip,in_port=3,ct_state=+trk+new,actions=ct(commit,zone=2),output:4' \
    'table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2' \
    'table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1' \
    'table=1,priority=100,ip,in_port=3,ct_state=+trk+est,actions=output:4' \
    'table=1,priority=100,ip,in_port=4,ct_state=+trk+est,actions=output:3' \
    'table=1,priority=1,actions=drop' | vsctl add-flows "$br" -
}
check "zone flows" zone_flows

check "zone 1: a1 -> a2 ping" ping_ok "$A1" $IP2
check "zone 2: b1 -> b2 ping" ping_ok "$B1" $IP2
# The same TCP tuple in both zones at once (fixed source port).
for h in "$A2" "$B2"; do
    nsx "$h" timeout 10 nc -l -p 5501 >"$RUN/rx-$h" 2>/dev/null &
done
sleep 0.3
for h in "$A1" "$B1"; do
    nsx "$h" sh -c "(echo from-$h; sleep 3) | timeout 6 nc -p 40500 $IP2 5501" \
        >/dev/null 2>&1 &
done
sleep 1
vsctl dump-conntrack >"$RUN/dump.txt"
tuple="tcp,orig=\(src=$IP1,dst=$IP2,sport=40500,dport=5501\),reply=\(src=$IP2,dst=$IP1,sport=5501,dport=40500\)"
check "the same tcp tuple is tracked in zone 1" grep -E "^$tuple,zone=1," "$RUN/dump.txt"
check "the same tcp tuple is tracked in zone 2" grep -E "^$tuple,zone=2," "$RUN/dump.txt"
check "icmp tracked in both zones" sh -c \
    "grep -E '^icmp,orig=\(src=$IP1,dst=$IP2,.*zone=1\$' '$RUN/dump.txt' && \
     grep -E '^icmp,orig=\(src=$IP1,dst=$IP2,.*zone=2\$' '$RUN/dump.txt'"
wait
check "each server got its own client's data (a2)" grep -qx "from-$A1" "$RUN/rx-$A2"
check "each server got its own client's data (b2)" grep -qx "from-$B1" "$RUN/rx-$B2"

# A UDP "connection" a1:40501 -> a2:5502 in zone 1; b2 sends what would be
# its reply to b1 in zone 2: it is new there, from the wrong side, so it
# is dropped.
nsx "$B1" timeout 4 nc -u -l -p 40501 >"$RUN/b1-udp.txt" 2>/dev/null &
nsx "$A2" timeout 4 nc -u -l -p 5502 >"$RUN/a2-udp.txt" 2>/dev/null &
sleep 0.3
nsx "$A1" sh -c "echo zone1 | timeout 1 nc -u -p 40501 -w 1 $IP2 5502" >/dev/null 2>&1
check "zone 1 udp delivered" grep -qx zone1 "$RUN/a2-udp.txt"
nsx "$B2" sh -c "echo leak | timeout 1 nc -u -p 5502 -w 1 $IP1 40501" >/dev/null 2>&1
sleep 0.5
check "a reply-looking udp packet in zone 2 is not let through by zone 1" \
    test ! -s "$RUN/b1-udp.txt"
check_not "b2 -> b1 new ping blocked in zone 2" nsx "$B2" ping -c 2 -i 0.2 -W 1 $IP1

check "flush-conntrack zone=1" vsctl flush-conntrack zone=1
check "zone 1 is empty" sh -c \
    "[ -z \"\$(\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=1)\" ]" "$VSCTL_BIN"
check "zone 2 still holds its connections" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=2 | grep -q 'zone=2'" "$VSCTL_BIN"
