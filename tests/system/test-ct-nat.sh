#!/usr/bin/env bash
# Conntrack NAT with real clients.
#  - SNAT to an address range: h1 (private) -> h2 through
#    ct(commit,zone=1,nat(src=10.99.0.10-10.99.0.12)), replies through
#    ct(zone=1,nat); h2 sees a source in the range, dump-conntrack shows
#    the translated reply tuple; ping and TCP work.
#  - ICMP errors through SNAT: UDP to a closed port on h2; the port
#    unreachable comes back +rel, translated outside and inside, with
#    correct checksums (tcpdump -vv in h1) and the client gets ECONNREFUSED.
#  - DNAT to a virtual IP answered by an ARP responder flow: curl to
#    VIP:80 is served by python3 http.server on the backend's port 8080.
. "$(dirname "$0")/lib.sh"

start_vswitchd || exit 1
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ {print $2}'; }

# ---- SNAT to a range ---------------------------------------------------------
H1=${P}n1 H2=${P}n2 br=${P}nb
IP1=10.253.20.1 IP2=10.99.0.2
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}n10" $IP1/24
veth_to_ns "$H2" "${P}n20" $IP2/24
M1=$(mac_of "$H1") M2=$(mac_of "$H2")
# No router: static routes and neighbours, so no ARP crosses the NAT.
ip -n "$H1" route add 10.99.0.0/24 dev eth0
ip -n "$H1" neigh add $IP2 lladdr "$M2" dev eth0 nud permanent
for a in 10 11 12; do
    ip -n "$H2" neigh add 10.99.0.$a lladdr "$M1" dev eth0 nud permanent
done
check "snat: add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}n10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}n20" type=afpacket ofport=2
check "snat: replace the default flow" vsctl del-flows "$br"
snat_flows() {
    printf '%s\n' \
    'table=0,priority=10,arp,actions=normal' \
    'table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1,nat)' \
    'table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1,nat(src=10.99.0.10-10.99.0.12)),output:2' \
    'table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2' \
    'table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1' \
    'table=1,priority=100,ip,in_port=2,ct_state=+trk+rel,actions=output:1' \
    'table=1,priority=1,actions=drop' | vsctl add-flows "$br" -
}
check "snat: flows" snat_flows
nsx "$H2" timeout 20 tcpdump -nn -l -i eth0 -c 200 'ip and not arp' \
    >"$RUN/snat-h2.txt" 2>/dev/null &
h2dump=$!
sleep 0.5
check "snat: h1 -> h2 ping" ping_ok "$H1" $IP2
check "snat: h1 -> h2 tcp (4 MB)" tcp_ok "$H1" "$H2" $IP2 5401
for i in 1 2 3 4 5 6; do
    nsx "$H2" timeout 5 nc -l -p $((5410 + i)) >/dev/null 2>&1 &
done
sleep 0.3
for i in 1 2 3 4 5 6; do
    nsx "$H1" sh -c "sleep 8 | timeout 10 nc $IP2 $((5410 + i))" \
        >/dev/null 2>&1 &
done
sleep 1
vsctl dump-conntrack zone=1 >"$RUN/snat-dump.txt"
check "snat: dump shows tcp translated to the range" grep -E \
    "^tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=541[1-6]\),reply=\(src=$IP2,dst=10\.99\.0\.1[0-2],sport=541[1-6],dport=[0-9]+\),zone=1" \
    "$RUN/snat-dump.txt"
check "snat: dump shows icmp translated to the range" grep -E \
    "^icmp,orig=\(src=$IP1,dst=$IP2,id=[0-9]+,type=8,code=0\),reply=\(src=$IP2,dst=10\.99\.0\.1[0-2],id=[0-9]+,type=0,code=0\),zone=1" \
    "$RUN/snat-dump.txt"
check "snat: every dumped reply goes to an address in the range" \
    sh -c "! grep -E 'reply=\(src=$IP2,dst=' '$RUN/snat-dump.txt' | \
    grep -vE 'reply=\(src=$IP2,dst=10\.99\.0\.1[0-2],'"
check "snat: every connection is translated (none left untranslated)" \
    sh -c "! grep -E 'reply=\(src=$IP2,dst=$IP1,' '$RUN/snat-dump.txt'"

# ICMP port unreachable for UDP through the SNAT.  h1 fills its own
# checksums, so the quoted UDP checksum is complete and must stay right.
tx_csum_off "$H1"
nsx "$H1" timeout 15 tcpdump -nn -vv -l -i eth0 -c 1 'icmp' \
    >"$RUN/icmperr.txt" 2>/dev/null &
tdpid=$!
sleep 0.5
check "snat: udp to a closed port is refused (ICMP error delivered)" \
    nsx "$H1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9999)); s.settimeout(2)
for _ in range(3):
    s.send(b"hello")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' $IP2
wait $tdpid 2>/dev/null
check "snat: the icmp error reached h1 addressed to h1" \
    grep -E "$IP2 > $IP1: ICMP $IP2 udp port 9999 unreachable" \
    "$RUN/icmperr.txt"
check "snat: the quoted packet is translated back (src $IP1)" \
    grep -E "$IP1\.[0-9]+ > $IP2\.9999: \[(no cksum|udp sum ok)\] UDP" \
    "$RUN/icmperr.txt"
check_not "snat: no bad checksum in the icmp error" \
    grep -iE "bad cksum|wrong|bad udp cksum|incorrect" "$RUN/icmperr.txt"
sleep 1
kill $h2dump 2>/dev/null; wait $h2dump 2>/dev/null
check "snat: h2 saw sources only in the range" sh -c \
    "grep -E ' IP 10\.99\.0\.1[0-2]\.?[0-9]* > $IP2' '$RUN/snat-h2.txt' && \
    ! grep -E ' IP $IP1[ .]' '$RUN/snat-h2.txt'"

# ---- DNAT to a virtual IP ----------------------------------------------------
A=${P}d1 B=${P}d2 br=${P}db
IPA=10.253.21.1 IPB=10.253.21.2 VIP=10.253.21.100 VMAC=00:00:5e:00:01:64
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}d10" $IPA/24
veth_to_ns "$B" "${P}d20" $IPB/24
MB=$(mac_of "$B")
check "dnat: add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}d10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}d20" type=afpacket ofport=2
check "dnat: replace the default flow" vsctl del-flows "$br"
dnat_flows() {
    printf '%s\n' \
    "table=0,priority=200,arp,arp_tpa=$VIP,arp_op=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],mod_dl_src:$VMAC,load:0x2->NXM_OF_ARP_OP[],move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],load:0x00005e000164->NXM_NX_ARP_SHA[],move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],load:0x0afd1564->NXM_OF_ARP_SPA[],in_port" \
    'table=0,priority=10,arp,actions=normal' \
    'table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=3,nat)' \
    "table=1,priority=100,tcp,in_port=1,nw_dst=$VIP,tp_dst=80,ct_state=+trk+new,actions=ct(commit,zone=3,nat(dst=$IPB:8080)),mod_dl_dst:$MB,output:2" \
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=mod_dl_dst:$MB,output:2" \
    "table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=mod_dl_src:$VMAC,output:1" \
    'table=1,priority=1,actions=drop' | vsctl add-flows "$br" -
}
check "dnat: flows" dnat_flows
nsx "$B" python3 -m http.server 8080 --bind $IPB >/dev/null 2>&1 &
for _ in $(seq 50); do
    nsx "$B" sh -c "exec 3<>/dev/tcp/$IPB/8080" 2>/dev/null && break
    sleep 0.1
done
check "dnat: curl http://VIP/ is served by the backend" sh -c \
    "ip netns exec $A curl -sf -m 5 http://$VIP/ | grep -q Directory"
vsctl dump-conntrack zone=3 >"$RUN/dnat-dump.txt"
check "dnat: dump shows the translated reply tuple" grep -E \
    "^tcp,orig=\(src=$IPA,dst=$VIP,sport=([0-9]+),dport=80\),reply=\(src=$IPB,dst=$IPA,sport=8080,dport=\1\),zone=3" \
    "$RUN/dnat-dump.txt"
check "dnat: ten requests in a row" sh -c \
    "for i in \$(seq 10); do ip netns exec $A curl -sf -m 5 -o /dev/null http://$VIP/ || exit 1; done"
check_not "dnat: the backend port itself is not reachable from the client" \
    nsx "$A" curl -sf -m 2 -o /dev/null http://$IPB:8080/
