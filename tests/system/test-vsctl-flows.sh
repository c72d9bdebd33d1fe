#!/usr/bin/env bash
# vsctl's flow, group, packet and monitor commands against a live daemon
# whose bridge and ports are dummies (no kernel device, no traffic outside
# the daemon): output text as ovs-ofctl prints it, errors, restart
# persistence of groups, replace-flows atomicity and kept counters.
. "$(dirname "$0")/lib.sh"

start_vswitchd --internal-port-type=dummy || exit 1
br=${P}br
out=$RUN/out
dump() { vsctl dump-flows "$br" "$@" 2>&1 | sed 's/ duration=[0-9.]*s,//; s/ idle_age=[0-9]*,//'; }
has() { # description regex command...
    local what=$1 re=$2; shift 2
    if "$@" >"$out" 2>&1 && grep -Eq -- "$re" "$out"; then pass "$what"
    else fail "$what"; sed 's/^/    /' "$out" | head -20; fi
}
expect_err() { # description regex command...
    local what=$1 re=$2; shift 2
    if "$@" >"$out" 2>&1; then fail "$what (exit 0)"; sed 's/^/    /' "$out"
    elif grep -Eq -- "$re" "$out"; then pass "$what"
    else fail "$what (message)"; sed 's/^/    /' "$out"; fi
}
# ICMP echo 10.0.0.1 -> 10.0.0.2 from 00:..:01 to 00:..:02, 96 bytes.
PKT=000000000002000000000001080045000054000040004001f6a80a0000010a000002
PKT=${PKT}0800f7fc000000010000000000000000000000000000000000000000000000
PKT=${PKT}00000000000000000000000000000000000000000000000000000000000000

check "add-br" vsctl add-br "$br"
check "add dummy ports" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl add-port $br ${P}p1 type=dummy ofport=1 && $VSCTL_BIN --server=unix:$RUN/ctl add-port $br ${P}p2 type=dummy ofport=2"

# ---- add-flows, errors and their lines ----
cat >"$RUN/f1" <<EOT
# a comment, then a blank line

table=0,priority=10,in_port=1,actions=resubmit(,1)
table=1,priority=10,ip,actions=controller,output:2
table=1,priority=5,cookie=0x11,arp,actions=drop
table=1,priority=6,cookie=0x12,ip,nw_dst=10.9.0.0/16,actions=output:1
EOT
check "add-flows" vsctl add-flows "$br" "$RUN/f1"
has "dump-flows shows them" "table=1, n_packets=0, n_bytes=0, priority=10,ip actions=CONTROLLER:65535,output:2" dump
printf 'table=2,priority=1,actions=drop\nin_port=1,bogus=1,actions=drop\n' >"$RUN/bad1"
expect_err "syntax error names file and line" "bad1: line 2: .*bogus" vsctl add-flows "$br" "$RUN/bad1"
check_not "nothing sent after a syntax error" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br table=2 | grep -q ."
printf 'table=3,priority=1,actions=drop\ntable=3,priority=2,actions=group:99\ntable=3,priority=3,actions=drop\n' >"$RUN/bad2"
expect_err "daemon error names the line" "bad2: line 2: " vsctl add-flows "$br" "$RUN/bad2"
has "flows before the error applied" "priority=1 actions=drop" vsctl dump-flows "$br" table=3
check_not "flows after the error not applied" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br table=3 | grep -q priority=3"
expect_err "--bundle: all or nothing" "bad2: line 2: |bundle" vsctl add-flows "$br" "$RUN/bad2" --bundle
has "--bundle: nothing added" "flow_count=1" vsctl dump-aggregate "$br" table=3
check "del-flows table=3" vsctl del-flows "$br" table=3

# ---- dump-flows filters, dump-aggregate ----
has "dump-flows cookie=V/M" "cookie=0x12" vsctl dump-flows "$br" cookie=0x12/0xffffffffffffffff
check_not "dump-flows cookie filter excludes" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br cookie=0x12/0xffffffffffffffff | grep -q cookie=0x11"
has "dump-flows out_port" "nw_dst=10.9.0.0/16 actions=output:1" vsctl dump-flows "$br" out_port=1
has "dump-flows --no-stats" "^ table=1, priority=10,ip actions=CONTROLLER:65535,output:2$" vsctl dump-flows "$br" table=1 --no-stats
has "dump-aggregate" "^NXST_AGGREGATE reply \(xid=0x[0-9a-f]+\): packet_count=0 byte_count=0 flow_count=5$" vsctl dump-aggregate "$br"
has "dump-aggregate with a match" "flow_count=2$" vsctl dump-aggregate "$br" "table=1,ip"
has "dump-aggregate json" '"flow_count": 5' vsctl --format=json dump-aggregate "$br"

# ---- mod-flows, del-flows ----
check "mod-flows --strict" vsctl mod-flows "$br" "table=1,priority=5,arp,actions=output:2" --strict
has "mod-flows changed the actions" "priority=5,arp actions=output:2" dump
check "mod-flows loose by cookie" vsctl mod-flows "$br" "table=1,cookie=0x12/0xffffffffffffffff,actions=output:2"
has "cookie-selected flow modified" "cookie=0x12, .*nw_dst=10.9.0.0/16 actions=output:2" dump
check "del-flows cookie=V/M" vsctl del-flows "$br" "cookie=0x10/0xf0"
check_not "cookie-selected flows deleted" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep -q 'cookie=0x1[12]'"
check "del-flows --strict" vsctl del-flows "$br" "table=0,priority=0" --strict
has "strict delete kept the others" "flow_count=2$" vsctl dump-aggregate "$br"

# ---- packet-out and monitor ----
vsctl monitor "$br" >"$RUN/mon" 2>&1 &
mon=$!
sleep 0.5
check "packet-out (keyword form)" vsctl packet-out "$br" "in_port=1 packet=$PKT actions=resubmit(,0)"
check "packet-out (ovs-ofctl form)" vsctl packet-out "$br" 1 "resubmit(,0)" "$PKT"
sleep 0.5
kill $mon 2>/dev/null; wait $mon 2>/dev/null
has "monitor prints the packet-in header" "^NXT_PACKET_IN2 \(xid=0x0\): table_id=1 cookie=0x0 total_len=96 in_port=1 \(via action\) data_len=96 \(unbuffered\)$" cat "$RUN/mon"
has "monitor prints the packet" "^icmp,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0 icmp_csum:f7fc$" cat "$RUN/mon"
check "two packet-ins" test "$(grep -c NXT_PACKET_IN2 "$RUN/mon")" -eq 2
expect_err "packet-out bad hex" "not a packet in hex" vsctl packet-out "$br" "in_port=1 packet=0011 actions=drop"
expect_err "packet-out bad action" "invalid actions" vsctl packet-out "$br" "in_port=1 packet=$PKT actions=frobnicate"

# ---- trace ----
has "trace a flow" "Datapath actions: " vsctl trace "$br" "in_port=1,icmp,nw_src=10.0.0.1,nw_dst=10.0.0.2"
has "trace a packet" "resubmit\(,1\)" vsctl trace "$br" in_port=1 "$PKT"

# ---- groups ----
check "add-group" vsctl add-group "$br" "group_id=1,type=select,bucket=output:1,bucket=weight:50,actions=output:2"
check "add-group indirect" vsctl add-group "$br" "group_id=2,type=indirect,bucket=actions=output:1"
expect_err "add-group twice" "exist" vsctl add-group "$br" "group_id=2,type=indirect,bucket=actions=output:1"
has "dump-groups header" "^OFPST_GROUP_DESC reply \(OF1.5\) \(xid=0x[0-9a-f]+\):$" vsctl dump-groups "$br"
has "dump-groups select" "^ group_id=1,type=select,bucket=bucket_id:0,actions=output:1,bucket=bucket_id:1,weight:50,actions=output:2$" vsctl dump-groups "$br"
check "mod-group" vsctl mod-group "$br" "group_id=2,type=indirect,bucket=actions=output:2"
has "mod-group changed it" "^ group_id=2,type=indirect,bucket=bucket_id:0,actions=output:2$" vsctl dump-groups "$br" group_id=2
check "mod-group --may-create" vsctl mod-group "$br" "group_id=3,type=all,bucket=output:1,bucket=output:2" --may-create
check "flow into a group" vsctl add-flow "$br" "table=1,priority=20,udp,actions=group:1"
has "dump-group-stats" "^ group_id=1,duration=[0-9.]+s,ref_count=1,packet_count=0,byte_count=0,bucket0:packet_count=0,byte_count=0,bucket1:packet_count=0,byte_count=0$" vsctl dump-group-stats "$br" group_id=1
check "del-groups group_id=3" vsctl del-groups "$br" group_id=3
check_not "group 3 gone" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-groups $br | grep -q group_id=3"

# ---- restart: groups come back before flows ----
vsctl dump-groups "$br" | tail -n +2 >"$RUN/groups.before"
dump --no-stats >"$RUN/flows.before"
stop_vswitchd
start_vswitchd --internal-port-type=dummy || fail "restart"
vsctl dump-groups "$br" | tail -n +2 >"$RUN/groups.after"
dump --no-stats >"$RUN/flows.after"
check "groups survive a restart" cmp "$RUN/groups.before" "$RUN/groups.after"
check "flows (incl. one into a group) survive a restart" cmp "$RUN/flows.before" "$RUN/flows.after"
kill9_vswitchd
start_vswitchd --internal-port-type=dummy || fail "restart after kill -9"
vsctl dump-groups "$br" | tail -n +2 >"$RUN/groups.after9"
check "groups survive kill -9" cmp "$RUN/groups.before" "$RUN/groups.after9"
check "del-groups (all)" vsctl del-groups "$br"
has "no groups left" "^OFPST_GROUP_DESC reply" vsctl dump-groups "$br"
check "dump-groups is only the header" test "$(vsctl dump-groups "$br" | wc -l)" -eq 1

# ---- replace-flows: atomic, unchanged flows keep their counters ----
# Real traffic for the counters: a namespace behind an afpacket port
# (port 3) whose pings send ARP requests into the bridge.
check "reset flows" vsctl del-flows "$br"
add_ns "${P}n1" && veth_to_ns "${P}n1" "${P}v1" 10.77.0.1/24
check "afpacket port" vsctl add-port "$br" "${P}v1" type=afpacket ofport=3
cat >"$RUN/r0" <<EOT
table=0,priority=10,in_port=3,actions=resubmit(,1)
table=1,priority=10,ip,actions=output:2
table=1,priority=9,arp,actions=output:2
EOT
check "initial flows" vsctl add-flows "$br" "$RUN/r0"
nsx "${P}n1" ping -c 2 -i 0.3 -W 1 10.77.0.2 >/dev/null 2>&1
sleep 1.2   # statistics are collected by the periodic run
has "counter before" "n_packets=[1-9][0-9]*, .*priority=9,arp actions=output:2" vsctl dump-flows "$br" table=1
has "dump-dp-flows in OVS's syntax" "^recirc_id\(0\),in_port\(3\),.*eth_type\(0x0806\).*, packets:[1-9][0-9]*, bytes:[0-9]+, used:[0-9.]+s, actions:2$" vsctl dump-dp-flows "$br"
before=$(vsctl dump-flows "$br" table=1 | grep arp | sed 's/.*\(n_packets=[0-9]*\).*/\1/')
cat >"$RUN/r1" <<EOT
table=0,priority=10,in_port=3,actions=resubmit(,1)
table=1,priority=10,ip,actions=drop
table=1,priority=9,arp,actions=output:2
table=1,priority=8,ipv6,actions=drop
EOT
check "replace-flows" vsctl replace-flows "$br" "$RUN/r1"
has "unchanged flow kept its counters" "$before, .*priority=9,arp actions=output:2" vsctl dump-flows "$br" table=1
has "changed flow replaced" "priority=10,ip actions=drop" dump
has "new flow present" "priority=8,ipv6 actions=drop" dump
has "exactly the file's flows" "flow_count=4$" vsctl dump-aggregate "$br"
check "del-port afpacket" vsctl del-port "$br" "${P}v1"
dump --no-stats | sort >"$RUN/before-bad"
printf 'table=1,priority=7,ip,actions=output:2\ntable=1,priority=6,actions=group:77\n' >"$RUN/r2"
expect_err "replace-flows with a bad flow fails" "." vsctl replace-flows "$br" "$RUN/r2"
dump --no-stats | sort >"$RUN/after-bad"
check "failed replace-flows changed nothing" cmp "$RUN/before-bad" "$RUN/after-bad"

# Atomicity: while replace-flows swaps 2000 flows for 2000 others, a
# watcher never sees a table that is neither the old nor the new one.
python3 - "$RUN" <<'EOT'
import sys
d = sys.argv[1]
with open(d + "/big-old", "w") as f:
    for i in range(2000):
        f.write("table=0,priority=100,ip,nw_src=10.1.%d.%d,actions=drop\n" % (i // 256, i % 256))
with open(d + "/big-new", "w") as f:
    for i in range(2000):
        f.write("table=0,priority=100,ip,nw_src=10.2.%d.%d,actions=drop\n" % (i // 256, i % 256))
EOT
check "load 2000 flows" vsctl replace-flows "$br" "$RUN/big-old"
has "replace-flows loaded exactly them" "flow_count=2000$" vsctl dump-aggregate "$br"
( for _ in $(seq 30); do vsctl dump-aggregate "$br"; done ) >"$RUN/watch" 2>&1 &
watcher=$!
check "replace 2000 flows" vsctl replace-flows "$br" "$RUN/big-new"
wait $watcher
check "every observed table had 2000 flows" sh -c "! grep -v 'flow_count=2000\$' '$RUN/watch'"
has "new flows in place" "nw_src=10.2.7.207" vsctl dump-flows "$br"


# ---- help ----
for c in add-flows replace-flows dump-aggregate packet-out monitor add-group mod-group del-groups dump-groups; do
    has "help lists $c" "$c" "$VSCTL_BIN" --help
done
