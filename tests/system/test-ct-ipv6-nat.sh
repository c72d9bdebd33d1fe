#!/usr/bin/env bash
# SNAT and DNAT over IPv6, with OVS's bracketed address syntax.
#  - SNAT: h1 (fd00:253:26::1) -> h2 (fd00:99::2) through
#    ct(commit,zone=8,nat(src=[fd00:99::10])): ping6, HTTP, dump shows the
#    translated reply tuple, h2 sees only fd00:99::10.
#  - DNAT: h1 -> VIP [fd00:253:26::100]:80 served by the backend
#    [fd00:99::2]:8080 (the client has a static neighbour for the VIP).
. "$(dirname "$0")/lib.sh"

H1=${P}x1 H2=${P}x2 br=${P}xb
IP1=fd00:253:26::1 IP2=fd00:99::2 NAT6=fd00:99::10 VIP=fd00:253:26::100
VMAC=00:00:5e:00:02:64
start_vswitchd || exit 1
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ {print $2}'; }
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}x10" 10.253.26.1/24
veth_to_ns "$H2" "${P}x20" 10.253.26.2/24
ip -n "$H1" addr add $IP1/64 dev eth0 nodad
ip -n "$H2" addr add $IP2/64 dev eth0 nodad
M1=$(mac_of "$H1") M2=$(mac_of "$H2")
ip -n "$H1" route add fd00:99::/64 dev eth0
ip -n "$H1" neigh add $IP2 lladdr "$M2" dev eth0 nud permanent
ip -n "$H1" neigh add $VIP lladdr $VMAC dev eth0 nud permanent
ip -n "$H2" route add fd00:253:26::/64 dev eth0
ip -n "$H2" neigh add $NAT6 lladdr "$M1" dev eth0 nud permanent
ip -n "$H2" neigh add $IP1 lladdr "$M1" dev eth0 nud permanent
check "add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}x10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}x20" type=afpacket ofport=2
check "replace the default flow" vsctl del-flows "$br"
nat6_flows() {
    printf '%s\n' \
    'table=0,priority=200,icmp6,icmp_type=133,actions=drop' \
    'table=0,priority=200,icmp6,icmp_type=143,actions=drop' \
    'table=0,priority=100,ipv6,ct_state=-trk,actions=ct(table=1,zone=8,nat)' \
    "table=1,priority=110,tcp6,in_port=1,ipv6_dst=$VIP,tp_dst=80,ct_state=+trk+new,actions=ct(commit,zone=8,nat(dst=[$IP2]:8080)),mod_dl_dst:$M2,output:2" \
    "table=1,priority=100,ipv6,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=8,nat(src=[$NAT6])),output:2" \
    "table=1,priority=100,ipv6,in_port=1,ct_state=+trk+est,actions=mod_dl_dst:$M2,output:2" \
    'table=1,priority=100,ipv6,in_port=2,ct_state=+trk+est,actions=output:1' \
    'table=1,priority=100,ipv6,in_port=2,ct_state=+trk+rel,actions=output:1' \
    'table=1,priority=1,actions=drop' | vsctl add-flows "$br" -
}
check "ipv6 nat flows parse" nat6_flows
nsx "$H2" timeout 20 tcpdump -nn -l -i eth0 -c 100 'ip6 and tcp' \
    >"$RUN/h2.txt" 2>/dev/null &
tdpid=$!
sleep 0.5
check "snat6: ping6 through the SNAT" nsx "$H1" ping -6 -c 3 -i 0.2 -W 2 $IP2
nsx "$H2" python3 -m http.server 8080 --bind $IP2 >/dev/null 2>&1 &
for _ in $(seq 50); do
    nsx "$H2" sh -c "exec 3<>/dev/tcp/$IP2/8080" 2>/dev/null && break
    sleep 0.1
done
check "snat6: http through the SNAT" nsx "$H1" curl -sf -m 5 -o /dev/null \
    "http://[$IP2]:8080/"
check "snat6: dump shows the translated reply tuple" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=8 | grep -E \
    '^tcp,orig=\(src=$IP1,dst=$IP2,sport=([0-9]+),dport=8080\),reply=\(src=$IP2,dst=$NAT6,sport=8080,dport=[0-9]+\)'" \
    "$VSCTL_BIN"
sleep 0.5; kill $tdpid 2>/dev/null; wait $tdpid 2>/dev/null
check "snat6: h2 saw only the translated source" sh -c \
    "grep -q '$NAT6' '$RUN/h2.txt' && ! grep -q 'IP6 $IP1\.[0-9]* > $IP2\.8080' '$RUN/h2.txt'"
check "dnat6: curl to the VIP is served by the backend" \
    nsx "$H1" curl -sf -m 5 -o /dev/null "http://[$VIP]/"
check "dnat6: dump shows dnat" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=8 | grep -E \
    '^tcp,orig=\(src=$IP1,dst=$VIP,sport=([0-9]+),dport=80\),reply=\(src=$IP2,dst=$IP1,sport=8080,dport=\1\)'" \
    "$VSCTL_BIN"
