#!/usr/bin/env bash
# Control-plane figures with 100,000 ct-style flows, for Trackswitch and,
# when installed, Open vSwitch 3.1 (private instances, no traffic):
#   bench: flows_add_bundle_100k_s           (add-flows --bundle, wall)
#   bench: flows_add_bundle_100k_cpu_s       (the same, CPU: user+sys of
#                                             the client and the daemon)
#   bench: flows_add_bundle_100k_client_cpu_s, ..._daemon_cpu_s (its parts)
#   bench: flows_dump_100k_s                 (dump-flows, wall)
#   bench: flows_vswitchd_rss_100k_mb        (daemon RSS with the flows,
#                                             after the dump)
#   bench: ts_flows_vswitchd_rss_added_100k_mb (Trackswitch: the same
#                                             before the dump)
# each prefixed with ts_ or ovs_.  Nothing is asserted.
#   usage: bench-flows.sh BUILD_DIR [N_FLOWS]
set -u
build=$1 n=${2:-100000}
run=$(mktemp -d /tmp/ts-benchflows.XXXXXX)
cleanup() {
    for p in "$run"/ts.pid "$run"/ovs/*.pid; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
    done
    sleep 0.3
    ip link del tsbf0 2>/dev/null; ip link del ovsbf0 2>/dev/null
    ip link del ovs-netdev 2>/dev/null
    rm -rf "$run"
}
trap cleanup EXIT

# 100,000 ct-style flows: a firewall's first table, one flow per source.
gen() { # ACTIONS
    python3 - "$n" "$1" <<'PY'
import sys
n, act = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for i in range(n):
    out.write("table=0,priority=100,ip,in_port=1,nw_src=10.%d.%d.%d,"
              "ct_state=-trk,actions=%s\n" % (i >> 16 & 255, i >> 8 & 255,
                                             i & 255, act))
PY
}
wall() { # prints seconds taken by the command
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null || return 1; t1=$(date +%s.%N)
    python3 -c "print('%.3f' % ($t1 - $t0))"
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # PID: user+sys
# Runs the command; prints "WALL CLIENT_CPU DAEMON_CPU" in seconds, the
# daemon being PID (its CPU over the run, from /proc).
timed() { # PID command...
    local pid=$1 d0 d1 out TIMEFORMAT='%R %U %S'
    shift
    d0=$(ticks "$pid")
    out=$( { time "$@" >/dev/null 2>/dev/null; } 2>&1 ) || return 1
    d1=$(ticks "$pid")
    echo "$out" | awk -v d=$((d1 - d0)) -v hz="$hz" \
        '{printf "%.3f %.3f %.3f", $1, $2 + $3, d / hz}'
}
report_add() { # PREFIX "WALL CLIENT DAEMON"
    set -- "$1" $2
    echo "bench: $1_flows_add_bundle_100k_s $2 s"
    echo "bench: $1_flows_add_bundle_100k_cpu_s" \
         "$(awk -v a="$3" -v b="$4" 'BEGIN {printf "%.3f", a + b}') s"
    echo "bench: $1_flows_add_bundle_100k_client_cpu_s $3 s"
    echo "bench: $1_flows_add_bundle_100k_daemon_cpu_s $4 s"
}

# --- Trackswitch ---------------------------------------------------------
"$build/vswitchd/vswitchd" --db="$run/ts.db" --ctl="unix:$run/ts.ctl" \
    --pidfile="$run/ts.pid" --log-file="$run/ts.log" --detach \
    --internal-port-type=dummy || exit 1
V="$build/utilities/vsctl --server=unix:$run/ts.ctl"
$V add-br tsbf0
$V add-port tsbf0 p1 type=dummy ofport=1 >/dev/null
$V add-port tsbf0 p2 type=dummy ofport=2 >/dev/null
act="ct(table=1,zone=1)"
gen "$act" >"$run/flows"
if ! head -1 "$run/flows" | $V add-flows tsbf0 - 2>/dev/null; then
    act="output:2"                      # ct() not accepted by this build
    gen "$act" >"$run/flows"
fi
$V del-flows tsbf0
echo "bench: ts_flows_actions $act"
t=$(timed "$(cat "$run/ts.pid")" $V add-flows tsbf0 "$run/flows" --bundle) &&
    report_add ts "$t"
echo "bench: ts_flows_vswitchd_rss_added_100k_mb" \
     "$(rss_mb "$(cat "$run/ts.pid")") MB"
t=$(wall $V dump-flows tsbf0) && echo "bench: ts_flows_dump_100k_s $t s"
echo "bench: ts_flows_vswitchd_rss_100k_mb $(rss_mb "$(cat "$run/ts.pid")") MB"

# --- Open vSwitch ----------------------------------------------------------
command -v ovs-vswitchd >/dev/null || exit 0
O=$run/ovs
mkdir -p "$O"
export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O
ovsdb-tool create "$O/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$O/conf.db" --remote=punix:"$O/db.sock" --pidfile="$O/ovsdb.pid" \
    --detach --log-file="$O/ovsdb.log"
ovs-vsctl --db=unix:"$O/db.sock" --no-wait init
ovs-vswitchd unix:"$O/db.sock" --pidfile="$O/vswitchd.pid" --detach \
    --log-file="$O/vswitchd.log" -vconsole:off
ovs-vsctl --db=unix:"$O/db.sock" add-br ovsbf0 -- set bridge ovsbf0 \
    datapath_type=netdev fail-mode=secure
gen "ct(table=1,zone=1)" >"$run/flows"
t=$(timed "$(cat "$O/vswitchd.pid")" \
      ovs-ofctl add-flows ovsbf0 "$run/flows" --bundle) &&
    report_add ovs "$t"
t=$(wall ovs-ofctl dump-flows ovsbf0) && echo "bench: ovs_flows_dump_100k_s $t s"
echo "bench: ovs_flows_vswitchd_rss_100k_mb $(rss_mb "$(cat "$O/vswitchd.pid")") MB"
