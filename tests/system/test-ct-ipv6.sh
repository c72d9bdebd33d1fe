#!/usr/bin/env bash
# IPv6 through the conntrack firewall: ping6 and HTTP (python3 http.server
# on [fd00:...]:8080, curl) pass from h1 to h2, new connections from h2 are
# dropped, dump-conntrack shows the tcp6 connection in OVS's format.
. "$(dirname "$0")/lib.sh"

H1=${P}s1 H2=${P}s2 br=${P}sb
IP61=fd00:253:25::1 IP62=fd00:253:25::2
FLOWS='table=0,priority=200,icmp6,icmp_type=135,actions=normal
table=0,priority=200,icmp6,icmp_type=136,actions=normal
table=0,priority=200,icmp6,icmp_type=133,actions=drop
table=0,priority=200,icmp6,icmp_type=143,actions=drop
table=0,priority=100,ipv6,ct_state=-trk,actions=ct(table=1,zone=7)
table=1,priority=100,ipv6,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=7),output:2
table=1,priority=100,ipv6,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ipv6,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=100,ipv6,in_port=2,ct_state=+trk+rel,actions=output:1
table=1,priority=1,actions=drop'

start_vswitchd || exit 1
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}s10" 10.253.25.1/24
veth_to_ns "$H2" "${P}s20" 10.253.25.2/24
ip -n "$H1" addr add $IP61/64 dev eth0 nodad
ip -n "$H2" addr add $IP62/64 dev eth0 nodad
check "add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}s10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}s20" type=afpacket ofport=2
check "replace the default flow" vsctl del-flows "$br"
add_fw_flows() { printf '%s\n' "$FLOWS" | vsctl add-flows "$br" -; }
check "firewall flows" add_fw_flows

check "h1 -> h2 ping6" nsx "$H1" ping -6 -c 3 -i 0.2 -W 2 $IP62
check "dump shows the icmpv6 echo connection" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=7 | grep -E \
    '^icmpv6,orig=\(src=$IP61,dst=$IP62,id=[0-9]+,type=128,code=0\),reply=\(src=$IP62,dst=$IP61,id=[0-9]+,type=129,code=0\),zone=7'" \
    "$VSCTL_BIN"
nsx "$H2" python3 -m http.server 8080 --bind $IP62 >/dev/null 2>&1 &
for _ in $(seq 50); do
    nsx "$H2" sh -c "exec 3<>/dev/tcp/$IP62/8080" 2>/dev/null && break
    sleep 0.1
done
check "h1 -> h2 http over ipv6" nsx "$H1" curl -sf -m 5 -o /dev/null \
    "http://[$IP62]:8080/"
check "dump shows the tcp6 connection" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=7 | grep -E \
    '^tcp,orig=\(src=$IP61,dst=$IP62,sport=([0-9]+),dport=8080\),reply=\(src=$IP62,dst=$IP61,sport=8080,dport=\1\),zone=7,protoinfo=\(state=(TIME_WAIT|CLOSING|ESTABLISHED|FIN_WAIT|CLOSE_WAIT|LAST_ACK|CLOSED)\)'" \
    "$VSCTL_BIN"
check "h1 -> h2 tcp over ipv6 (4 MB)" tcp_ok "$H1" "$H2" $IP62 5701
check_not "h2 -> h1 new ping6 is blocked" nsx "$H2" ping -6 -c 2 -i 0.2 -W 1 $IP61
nsx "$H1" timeout 10 nc -6 -l -p 5702 >/dev/null 2>&1 &
sleep 0.3
check_not "h2 -> h1 new tcp over ipv6 is blocked" nsx "$H2" nc -6 -z -w 2 $IP61 5702
# An ICMPv6 error related to a UDP flow comes back +rel.
check "udp6 to a closed port is refused (related ICMPv6 error passes)" \
    nsx "$H1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9999)); s.settimeout(2)
for _ in range(3):
    s.send(b"hello")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)' $IP62
