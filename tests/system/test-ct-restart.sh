#!/usr/bin/env bash
# Restarts that keep connections (docs/conntrack.md, "Restarts").  A
# stateful firewall (zone 1) between two namespaces on AF_PACKET ports:
#   - an iperf3 stream goes on across `vsctl restart` (same pid, no
#     reset, throughput after the restart, connection ESTABLISHED);
#   - and across SIGTERM + start;
#   - after kill -9 the periodic snapshot (interval 1 s) brings back an
#     idle TCP connection, which still works, while new connections
#     from h2 are still dropped;
#   - a SNAT binding survives a restart (replies still translated);
#   - a corrupt, a truncated and a future-version snapshot are refused
#     with a log line and the daemon starts with an empty table.
. "$(dirname "$0")/lib.sh"

H1=${P}h1 H2=${P}h2 br=${P}rs
IP1=10.253.11.1 IP2=10.253.11.2 NATIP=10.253.11.100
SNAP=$RUN/conf.db.ct
FW='table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=1,actions=drop'
NAT="table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1,nat)
table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1,nat(src=$NATIP)),output:2
table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=1,actions=drop"

start() { start_vswitchd --ct-snapshot-interval=1; }
set_flows() { vsctl del-flows "$br" && printf '%s\n' "$1" | vsctl add-flows "$br" -; }
nconns() { vsctl ct-get-nconns; }
# The established connection to PORT in zone 1, in the dump.
est_in_dump() { # PORT
    vsctl dump-conntrack zone=1 | grep -E \
        "^tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=$1\),.*zone=1,protoinfo=\(state=ESTABLISHED\)"
}
# iperf3 JSON: no error, and each of the last 3 one-second intervals moved
# data: the restart was at about 3 s of 10, and on a loaded machine TCP's
# retransmission backoff may keep a few seconds around it empty.
iperf_went_on() { # JSON
    python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit("iperf3 error: " + d["error"])
bps = [i["sum"]["bits_per_second"] for i in d["intervals"]]
print("intervals (Mbit/s):", [round(b / 1e6) for b in bps])
sys.exit(0 if len(bps) >= 9 and all(b > 0 for b in bps[-3:]) else 1)
EOF
}
# Starts an iperf3 stream of 10 s from h1; sets IPERF_PID.
iperf_start() { # PORT JSON
    nsx "$H2" iperf3 -s -1 -p "$1" -D >/dev/null 2>&1
    sleep 0.3
    nsx "$H1" timeout 25 iperf3 -c $IP2 -p "$1" -t 10 -i 1 --json \
        >"$2" 2>&1 &
    IPERF_PID=$!
}
# A long-lived TCP connection h1 -> h2:PORT fed from a fifo on fd 7;
# what arrives goes to $RUN/nc.PORT.
idle_conn_start() { # PORT
    rm -f "$RUN/in.$1"; mkfifo "$RUN/in.$1"
    nsx "$H2" timeout 50 nc -l -p "$1" >"$RUN/nc.$1" 2>/dev/null &
    sleep 0.3
    nsx "$H1" timeout 50 sh -c "nc $IP2 $1 <'$RUN/in.$1'" >/dev/null 2>&1 &
    exec 7>"$RUN/in.$1"
}
arrives() { # PORT TEXT: TEXT reaches the server within 5 s
    for _ in $(seq 50); do grep -q "$2" "$RUN/nc.$1" && return 0; sleep 0.1; done
    return 1
}

start || exit 1
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}a0" $IP1/24
veth_to_ns "$H2" "${P}b0" $IP2/24
check "add-br" vsctl add-br "$br"
check "add-port h1 side" vsctl add-port "$br" "${P}a0" type=afpacket ofport=1
check "add-port h2 side" vsctl add-port "$br" "${P}b0" type=afpacket ofport=2
check "firewall flows" set_flows "$FW"
check "h1 -> h2 ping passes" ping_ok "$H1" $IP2

# ---- vsctl restart in the middle of an iperf3 stream ----------------------
pid_before=$(cat "$RUN/pid")
iperf_start 5231 "$RUN/iperf1.json"
sleep 3
check "vsctl restart succeeds" vsctl restart
check "restarted in place (same pid $pid_before)" \
    sh -c "[ \"\$(cat $RUN/pid)\" = $pid_before ] && kill -0 $pid_before"
check "the log says what was restored" \
    grep -qE "restored [1-9][0-9]* connections .*final snapshot" "$RUN/log"
check "dump-conntrack shows the stream ESTABLISHED after restart" \
    est_in_dump 5231
check "vsctl status shows what was restored" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl status | grep -E '^ct_snapshot_restored: [1-9]'" \
    "$VSCTL_BIN"
wait $IPERF_PID; rc=$?
check "vsctl status shows the periodic snapshots" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl status | grep -E '^ct_snapshot_entries: [1-9]'" \
    "$VSCTL_BIN"
check "iperf3 across vsctl restart exits 0 (no reset)" \
    sh -c "[ $rc -eq 0 ] || { grep -m1 '\"error\"' $RUN/iperf1.json; false; }"
check "iperf3 throughput continues after vsctl restart" \
    iperf_went_on "$RUN/iperf1.json"

# ---- SIGTERM + start ------------------------------------------------------
iperf_start 5232 "$RUN/iperf2.json"
sleep 3
stop_vswitchd
check "final snapshot saved on SIGTERM" \
    grep -qE "saved [1-9][0-9]* connections .*final" "$RUN/log"
start || exit 1
check "dump-conntrack shows the stream ESTABLISHED after SIGTERM + start" \
    est_in_dump 5232
wait $IPERF_PID; rc=$?
check "iperf3 across SIGTERM + start exits 0 (no reset)" \
    sh -c "[ $rc -eq 0 ] || { grep -m1 '\"error\"' $RUN/iperf2.json; false; }"
check "iperf3 throughput continues after SIGTERM + start" \
    iperf_went_on "$RUN/iperf2.json"

# ---- kill -9: the periodic snapshot ---------------------------------------
idle_conn_start 5300
echo before >&7
check "idle connection carries data" arrives 5300 before
sleep 2.5       # at least one periodic snapshot (interval 1 s) since
kill9_vswitchd
start || exit 1
check "restored from a periodic snapshot after kill -9" \
    grep -qE "restored [1-9][0-9]* connections .*periodic snapshot" \
    "$RUN/log"
echo after >&7
check "the connection still works after kill -9" arrives 5300 after
check "dump-conntrack shows it ESTABLISHED again" est_in_dump 5300
nsx "$H1" timeout 10 nc -l -p 5302 >/dev/null 2>&1 &
sleep 0.3
check_not "h2 -> h1 new tcp is still blocked" nsx "$H2" nc -z -w 2 $IP1 5302
exec 7>&-

# ---- SNAT binding across a restart ----------------------------------------
check "snat flows" set_flows "$NAT"
vsctl flush-conntrack >/dev/null
mac1=$(ip -n "$H1" -br link show eth0 | awk '{print $3}')
ip -n "$H2" neigh replace $NATIP lladdr "$mac1" dev eth0
idle_conn_start 5310
echo natbefore >&7
check "snat connection carries data" arrives 5310 natbefore
check "h2 sees the translated source" \
    sh -c "ip netns exec $H2 ss -tn | grep -q '$IP2:5310 *$NATIP:'"
check "vsctl restart with a NAT binding" vsctl restart
check "dump-conntrack keeps the NAT reply tuple" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=1 | \
    grep -E 'dport=5310\),reply=\(src=$IP2,dst=$NATIP,sport=5310'" \
    "$VSCTL_BIN"
echo natafter >&7
check "the snat connection still works after restart" arrives 5310 natafter
exec 7>&-
ip netns pids "$H1" | xargs -r kill 2>/dev/null
ip netns pids "$H2" | xargs -r kill 2>/dev/null
check "firewall flows again" set_flows "$FW"

# ---- Snapshots that must be refused ---------------------------------------
# Each time: some connections, SIGTERM (final snapshot), damage, start.
refused() { # DAMAGE-COMMAND LOG-REGEX WHAT
    vsctl flush-conntrack >/dev/null
    nsx "$H1" ping -c 1 -W 1 $IP2 >/dev/null
    nsx "$H1" ping -c 1 -W 1 -I eth0 $IP2 >/dev/null
    stop_vswitchd
    eval "$1"
    : >"$RUN/log"
    start || return 1
    check "$3: refused with a log line" grep -qE "$2" "$RUN/log"
    check "$3: empty connection table" [ "$(nconns)" = 0 ]
    check "$3: kept as .rejected" [ -f "$SNAP.rejected" ]
    check "$3: the daemon forwards" ping_ok "$H1" $IP2
    rm -f "$SNAP.rejected"
}
flip_byte='size=$(stat -c %s "$SNAP"); printf "\\xa5" | dd of="$SNAP" bs=1 seek=$((size / 2)) conv=notrunc status=none'
refused "$flip_byte" "ignoring conntrack snapshot .*checksum mismatch" \
    "corrupt snapshot"
refused 'truncate -s $(( $(stat -c %s "$SNAP") - 40 )) "$SNAP"' \
    "ignoring conntrack snapshot .*(truncated|torn)" "truncated snapshot"
refused 'printf "\\x02" | dd of="$SNAP" bs=1 seek=8 conv=notrunc status=none' \
    "ignoring conntrack snapshot .*unsupported format version 2\.0" \
    "future-version snapshot"

# ---- Binary upgrade: restart picks up a new binary at the same path --------
stop_vswitchd
mkdir -p "$RUN/bin" && cp "$VSWITCHD" "$RUN/bin/vswitchd"
VSWITCHD=$RUN/bin/vswitchd
start || exit 1
nsx "$H1" ping -c 1 -W 1 $IP2 >/dev/null
cp "$RUN/bin/vswitchd" "$RUN/bin/vswitchd.new"
mv "$RUN/bin/vswitchd.new" "$RUN/bin/vswitchd"    # the "upgrade"
pid=$(cat "$RUN/pid")
check "the running binary was replaced" \
    sh -c "readlink /proc/$pid/exe | grep -q deleted"
check "vsctl restart after an upgrade" vsctl restart
check "the daemon now runs the new binary" \
    sh -c "[ \"\$(readlink /proc/$pid/exe)\" = '$RUN/bin/vswitchd' ]"
check "connections kept across the upgrade" [ "$(nconns)" -ge 1 ]
