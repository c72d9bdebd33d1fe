#!/usr/bin/env bash
# Conntrack control plane on a stateful firewall (the ct pipeline of
# /work/shared/bench/compare.sh, zone 1): h1 -> h2 ping, TCP and HTTP
# pass, h2 -> h1 new connections are dropped; dump-conntrack shows the
# connection in OVS's format, flush-conntrack removes it, ct-get-nconns
# counts, a zone limit of 1 refuses the second commit (and counts it),
# ct-events prints NEW and DESTROY, and the configuration survives a
# restart.
. "$(dirname "$0")/lib.sh"

H1=${P}h1 H2=${P}h2 br=${P}fw
IP1=10.253.7.1 IP2=10.253.7.2
FLOWS='table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=1,actions=drop'

start_vswitchd || exit 1
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}a0" $IP1/24
veth_to_ns "$H2" "${P}b0" $IP2/24
check "add-br" vsctl add-br "$br"
check "add-port h1 side" vsctl add-port "$br" "${P}a0" type=afpacket ofport=1
check "add-port h2 side" vsctl add-port "$br" "${P}b0" type=afpacket ofport=2
check "replace the default flow" vsctl del-flows "$br"
add_fw_flows() { printf '%s\n' "$FLOWS" | vsctl add-flows "$br" -; }
check "firewall flows" add_fw_flows

# ---- Traffic through the firewall -----------------------------------------
check "h1 -> h2 ping passes" ping_ok "$H1" $IP2
check "dump-conntrack shows the icmp connection in zone 1" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack | grep -E \
    '^icmp,orig=\(src=$IP1,dst=$IP2,id=[0-9]+,type=8,code=0\),reply=\(src=$IP2,dst=$IP1,id=[0-9]+,type=0,code=0\),zone=1'" \
    "$VSCTL_BIN"
check "h1 -> h2 tcp passes" tcp_ok "$H1" "$H2" $IP2 5301
nsx "$H2" python3 -m http.server 8080 --bind $IP2 >/dev/null 2>&1 &
for _ in $(seq 50); do
    nsx "$H2" sh -c "exec 3<>/dev/tcp/$IP2/8080" 2>/dev/null && break
    sleep 0.1
done
check "h1 -> h2 http passes" nsx "$H1" curl -sf -m 5 -o /dev/null \
    http://$IP2:8080/
check_not "h2 -> h1 new ping is blocked" \
    nsx "$H2" ping -c 2 -i 0.2 -W 1 $IP1
nsx "$H1" timeout 10 nc -l -p 5302 >/dev/null 2>&1 &
sleep 0.3
check_not "h2 -> h1 new tcp is blocked" nsx "$H2" nc -z -w 2 $IP1 5302

# A connection that stays open: an idle nc session.
nsx "$H2" timeout 30 nc -l -p 5300 >/dev/null 2>&1 &
sleep 0.3
nsx "$H1" sh -c "sleep 25 | timeout 30 nc $IP2 5300" >/dev/null 2>&1 &
sleep 0.5
vsctl dump-conntrack >"$RUN/dump.txt"
est_re="^tcp,orig=\(src=$IP1,dst=$IP2,sport=([0-9]+),dport=5300\),reply=\(src=$IP2,dst=$IP1,sport=5300,dport=\1\),zone=1,protoinfo=\(state=ESTABLISHED\)$"
check "dump-conntrack shows the open tcp connection ESTABLISHED" \
    grep -E "$est_re" "$RUN/dump.txt"
sport=$(sed -nE "s/^tcp,orig=\(src=$IP1,dst=$IP2,sport=([0-9]+),dport=5300\).*/\1/p" "$RUN/dump.txt")
check "dump-conntrack -s shows packets and timeout" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack -s zone=1 | \
    grep -E 'dport=5300,packets=[1-9][0-9]*,bytes=[1-9][0-9]*\).*timeout=[0-9]+'" \
    "$VSCTL_BIN"
check "dump-conntrack zone=2 is empty" \
    sh -c "[ -z \"\$(\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=2)\" ]" \
    "$VSCTL_BIN"
check "dump-conntrack --format=json parses the line" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl --format=json dump-conntrack | \
    python3 -c 'import json,sys; c=json.load(sys.stdin)[\"connections\"]; \
    sys.exit(not any(x[\"proto\"]==\"tcp\" and x[\"zone\"]==1 and \
    x[\"orig\"][\"dport\"]==5300 and \
    x[\"protoinfo\"][\"state\"]==\"ESTABLISHED\" for x in c))'" "$VSCTL_BIN"
n_lines=$(wc -l <"$RUN/dump.txt")
check "ct-get-nconns counts the dumped connections ($n_lines)" \
    sh -c "[ \"\$(\"\$0\" --server=unix:$RUN/ctl ct-get-nconns)\" -ge 2 ] && \
    [ \"\$(\"\$0\" --server=unix:$RUN/ctl ct-get-nconns)\" -ge $n_lines ]" \
    "$VSCTL_BIN"
check "ct-stats counts tcp" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-stats zone=1 | grep -E '^\s+TCP: [1-9]'" \
    "$VSCTL_BIN"

# ---- Events and flush -------------------------------------------------------
vsctl ct-events zone=1 >"$RUN/events.txt" 2>&1 &
evpid=$!
sleep 0.5
check "tcp while ct-events listens" tcp_ok "$H1" "$H2" $IP2 5303
check "flush-conntrack of one tuple" vsctl flush-conntrack zone=1 \
    "ct_nw_src=$IP1,ct_nw_dst=$IP2,ct_nw_proto=6,ct_tp_src=${sport:-0},ct_tp_dst=5300"
check_not "the flushed connection is gone" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack | grep 'dport=5300,'" \
    "$VSCTL_BIN"
check "flush-conntrack zone=1" vsctl flush-conntrack zone=1
check "after the flush, ct-get-nconns is 0" \
    sh -c "[ \"\$(\"\$0\" --server=unix:$RUN/ctl ct-get-nconns)\" = 0 ]" \
    "$VSCTL_BIN"
sleep 0.5
kill $evpid 2>/dev/null; wait $evpid 2>/dev/null
check "ct-events printed NEW for the tcp connection" \
    grep -E "^\[NEW\] tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=5303\)" \
    "$RUN/events.txt"
check "ct-events printed DESTROY" grep -E "^\[DESTROY\] (tcp|icmp)," \
    "$RUN/events.txt"

# ---- A dump bigger than one slice ---------------------------------------------
nsx "$H1" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(3000):
    s.sendto(b"x", (sys.argv[1], 20000 + p))
    if p % 100 == 99:
        time.sleep(0.005)' $IP2
sleep 0.5
n_dump=$(vsctl dump-conntrack zone=1 | grep -c '^udp,')
n_conns=$(vsctl ct-get-nconns)
check "a dump of $n_dump udp connections (several slices) is whole" \
    test "$n_dump" -gt 2000 -a "$n_dump" -eq "$n_conns"
check "ct-stats counts them" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-stats | grep -x '\s*UDP: $n_dump'" \
    "$VSCTL_BIN"
check "flush-conntrack removes them" vsctl flush-conntrack
check "nothing left" test "$(vsctl ct-get-nconns)" = 0

# ---- Zone limit ----------------------------------------------------------------
check "ct-set-limits zone=1,limit=1" vsctl ct-set-limits zone=1,limit=1
nsx "$H2" timeout 30 nc -l -p 5310 >/dev/null 2>&1 &
sleep 0.3
nsx "$H1" sh -c "sleep 20 | timeout 25 nc $IP2 5310" >/dev/null 2>&1 &
sleep 0.5
check "the first connection is committed" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-get-limits zone=1 | \
    grep -x 'zone=1,limit=1,count=1'" "$VSCTL_BIN"
nsx "$H2" timeout 10 nc -l -p 5311 >/dev/null 2>&1 &
sleep 0.3
check_not "a second connection fails (not committed)" \
    nsx "$H1" nc -z -w 2 $IP2 5311
check "ct-get-limits output as OVS" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-get-limits | tr '\n' ';' | \
    grep -x 'default limit=0;zone=1,limit=1,count=1;'" "$VSCTL_BIN"
check "the zone limit drop is counted" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-stats zone=1 | \
    grep -E '^\s+zone_limit_drops: [1-9]'" "$VSCTL_BIN"

# ---- Configuration survives a restart ---------------------------------------
check "ct-set-maxconns" vsctl ct-set-maxconns 5000
check "ct-set-timeout-policy" vsctl ct-set-timeout-policy zone=1 \
    tcp_established=600 udp_first=10
check "ct-set-tcp-seq-chk off" vsctl ct-set-tcp-seq-chk off
kill9_vswitchd
start_vswitchd || exit 1
check "after restart: maxconns" \
    sh -c "[ \"\$(\"\$0\" --server=unix:$RUN/ctl ct-get-maxconns)\" = 5000 ]" \
    "$VSCTL_BIN"
# The limit survives; the count is 1 if the connection was in the last
# periodic conntrack snapshot before the kill, else 0.
check "after restart: limits" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-get-limits | grep -Ex 'zone=1,limit=1,count=[01]'" \
    "$VSCTL_BIN"
check "after restart: timeout policy" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-get-timeout-policy zone=1 | \
    grep -x 'zone=1: tcp_established=600 udp_first=10'" "$VSCTL_BIN"
check "after restart: tcp-seq-chk" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl ct-get-tcp-seq-chk | grep -x 'TCP sequence checking: disabled'" \
    "$VSCTL_BIN"
check "ct-del-limits zone=1" vsctl ct-del-limits zone=1
check "ct-del-timeout-policy zone=1" vsctl ct-del-timeout-policy zone=1
check_not "zone 1 has no timeout policy any more" \
    vsctl ct-get-timeout-policy zone=1
