#!/usr/bin/env bash
# TCP throughput from a QEMU guest through the stateful firewall (the ct
# pipeline of tests/system/test-vm-firewall.sh, zone 1) to a namespace:
# iperf3 in the guest (a copy of Debian's, in the ts-vm initramfs) to
# iperf3 -s in the namespace, first through Trackswitch, then through Open
# vSwitch 3.1's userspace datapath (private instance, datapath_type=netdev,
# other_config:userspace-tso-enable=true), the same guest and namespace.
#
# The guest's TAP is owned by QEMU, so each switch reaches it through an
# AF_PACKET socket on the TAP's host side: Trackswitch with an `afpacket`
# port, OVS with a plain "system" port (netdev-linux opens AF_PACKET with
# the virtio-net header when userspace TSO is on).  The namespace's veth is
# attached the same way (afpacket / system).  Prints:
#   bench: vm_boot_s N s                (and vm_accel, as text)
#   bench: vm_tcp_ct_trackswitch X Gbit/s
#   bench: vm_tcp_ct_ovs Y Gbit/s       (only if OVS is installed)
# Nothing is asserted.  usage: bench-vm.sh BUILD_DIR [SECS]
set -u
build=$(cd "${1:-build}" && pwd) secs=${2:-${BENCH_SECS:-5}}
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "bench: vm figures need root"; exit 0; }
command -v qemu-system-x86_64 >/dev/null ||
    { echo "bench: vm figures need qemu-system-x86"; exit 0; }
RUN=$(mktemp -d /tmp/ts-benchvm.XXXXXX)
P=bv$$ P=${P:0:7}
NS=${P}n TAP=${P}t VETH=${P}e BR=${P}br VM=${P}g
IP1=10.253.79.1 IP2=10.253.79.2
export TS_VM_CACHE=${TS_VM_CACHE:-$build/vm} TS_VM_RUNDIR=$RUN/vms
TSVM=$top/tools/vm/ts-vm
O=$RUN/ovs
FLOWS='table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=1,actions=drop'

ts_down() {
    [ -f "$RUN/ts.pid" ] || return 0
    local pid; pid=$(cat "$RUN/ts.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    rm -f "$RUN/ts.pid"
}
ovs_down() {
    for p in vswitchd ovsdb; do
        [ -f "$O/$p.pid" ] && kill "$(cat "$O/$p.pid")" 2>/dev/null
    done
    sleep 0.5
    ip link del "$BR" 2>/dev/null
    ip link del ovs-netdev 2>/dev/null
    true
}
cleanup() {
    ts_down; ovs_down
    # BENCH_VM_LOGS=DIR keeps the switches' and the guest's logs.
    [ -n "${BENCH_VM_LOGS:-}" ] && mkdir -p "$BENCH_VM_LOGS" &&
        cp -r "$RUN"/ts.log "$O" "$TS_VM_RUNDIR" "$BENCH_VM_LOGS"/ 2>/dev/null
    "$TSVM" stop "$VM" 2>/dev/null
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    ip link del "$VETH" 2>/dev/null
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

t0=$(date +%s.%N)
"$TSVM" start "$VM" --tap "$TAP" --ip $IP1/24 >"$RUN/start.log" 2>&1 &
vmpid=$!
ip netns add "$NS"
ip -n "$NS" link set lo up
ip link add "$VETH" type veth peer name eth0 netns "$NS"
ip link set "$VETH" up
ip -n "$NS" addr add $IP2/24 dev eth0
ip -n "$NS" link set eth0 up
if ! wait $vmpid; then
    echo "bench: vm_tcp_ct guest failed to boot"; sed 's/^/    /' "$RUN/start.log"
    exit 0
fi
t1=$(date +%s.%N)
echo "bench: vm_boot_s $(python3 -c "print('%.1f' % ($t1 - $t0))") s"
echo "bench: vm_accel $("$TSVM" status "$VM" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["accel"])')"

iperf() { # NAME
    ip netns exec "$NS" iperf3 -s -1 -p 5211 -D >/dev/null 2>&1
    sleep 0.5
    "$TSVM" exec "$VM" --timeout $((secs + 20)) -- \
        "iperf3 -c $IP2 -p 5211 -t $secs -J" >"$RUN/iperf.json" 2>/dev/null
    local g
    g=$(python3 -c 'import json,sys
e = json.load(open(sys.argv[1]))["end"]
print("%.2f" % (e["sum_received"]["bits_per_second"] / 1e9))' \
        "$RUN/iperf.json" 2>/dev/null)
    echo "bench: vm_tcp_ct_$1 ${g:-fail} Gbit/s"
    ip netns exec "$NS" pkill -x iperf3 2>/dev/null
    true
}

# ---- Trackswitch ----------------------------------------------------------
V="$build/utilities/vsctl --server=unix:$RUN/ts.ctl"
if "$build/vswitchd/vswitchd" --db="$RUN/ts.db" --ctl="unix:$RUN/ts.ctl" \
        --pidfile="$RUN/ts.pid" --log-file="$RUN/ts.log" --detach &&
    $V add-br "$BR" && $V add-port "$BR" "$TAP" type=afpacket ofport=1 &&
    $V add-port "$BR" "$VETH" type=afpacket ofport=2 && $V del-flows "$BR" &&
    printf '%s\n' "$FLOWS" | $V add-flows "$BR" -; then
    "$TSVM" exec "$VM" -- "ping -c 2 -W 2 $IP2" >/dev/null
    iperf trackswitch
else
    echo "bench: vm_tcp_ct_trackswitch fail Gbit/s"
fi
ts_down
sleep 0.5

# ---- Open vSwitch userspace datapath ----------------------------------------
command -v ovs-vswitchd >/dev/null || exit 0
mkdir -p "$O"
export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O
OV="ovs-vsctl --db=unix:$O/db.sock"
ovsdb-tool create "$O/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$O/conf.db" --remote=punix:"$O/db.sock" --pidfile="$O/ovsdb.pid" \
    --detach --log-file="$O/ovsdb.log" 2>/dev/null
$OV --no-wait init
$OV --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
ovs-vswitchd unix:"$O/db.sock" --pidfile="$O/vswitchd.pid" --detach \
    --log-file="$O/vswitchd.log" -vconsole:off 2>/dev/null
$OV add-br "$BR" -- set bridge "$BR" datapath_type=netdev fail-mode=secure
$OV add-port "$BR" "$TAP" -- set interface "$TAP" ofport_request=1
$OV add-port "$BR" "$VETH" -- set interface "$VETH" ofport_request=2
printf '%s\n' "$FLOWS" | ovs-ofctl add-flows "$BR" -
sleep 1
"$TSVM" exec "$VM" -- "ping -c 2 -W 2 $IP2" >/dev/null
iperf ovs
