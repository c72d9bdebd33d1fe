# Shared helpers for shell system tests.  Source it; it sets a trap that
# removes every namespace, interface and daemon the test made, also when
# the test fails.
#
# Each check prints "PASS: what" or "FAIL: what"; the test exits non-zero
# if any check failed.  Needs root.
set -u
TS_BUILD_DIR=${TS_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
VSWITCHD=$TS_BUILD_DIR/vswitchd/vswitchd
VSCTL_BIN=$TS_BUILD_DIR/utilities/vsctl
P=t$$                           # unique prefix (<= 8 chars + suffixes)
P=${P:0:8}
RUN=$(mktemp -d /tmp/ts-systest.XXXXXX)
NS_LIST=() LINK_LIST=() n_fail=0 n_pass=0

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: system tests need root"; exit 77
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true

pass() { echo "PASS: $*"; n_pass=$((n_pass + 1)); }
fail() { echo "FAIL: $*"; n_fail=$((n_fail + 1)); }
check() { # description command...
    local what=$1; shift
    if "$@" >"$RUN/check.out" 2>&1; then pass "$what"; else
        fail "$what"; sed 's/^/    /' "$RUN/check.out" | tail -20; fi
}
check_not() {
    local what=$1; shift
    if "$@" >"$RUN/check.out" 2>&1; then fail "$what";
        sed 's/^/    /' "$RUN/check.out" | tail -20; else pass "$what"; fi
}

vsctl() { "$VSCTL_BIN" --server="unix:$RUN/ctl" "$@"; }

start_vswitchd() { # [extra args]
    "$VSWITCHD" --db="$RUN/conf.db" --ctl="unix:$RUN/ctl" \
        --pidfile="$RUN/pid" --log-file="$RUN/log" --detach "$@" || {
        echo "vswitchd failed to start"; tail -20 "$RUN/log" 2>/dev/null
        return 1; }
}
stop_vswitchd() {
    local pid
    [ -f "$RUN/pid" ] || return 0
    pid=$(cat "$RUN/pid")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null; true
}
kill9_vswitchd() {
    local pid; pid=$(cat "$RUN/pid")
    kill -9 "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# add_ns NAME: a namespace with loopback up.
add_ns() {
    ip netns add "$1" && NS_LIST+=("$1") && ip -n "$1" link set lo up
}
# veth_to_ns NS HOSTIF IP/LEN: veth pair, HOSTIF stays in the root
# namespace (for the switch), eth0 goes to NS with IP.
veth_to_ns() {
    local ns=$1 hif=$2 ip=$3
    ip link add "$hif" type veth peer name eth0 netns "$ns" || return 1
    LINK_LIST+=("$hif")
    ip link set "$hif" up
    ip -n "$ns" addr add "$ip" dev eth0
    ip -n "$ns" link set eth0 up
}
# tap_to_ns NS TAP IP/LEN: move a TAP the switch created into NS as eth0.
tap_to_ns() {
    local ns=$1 tap=$2 ip=$3
    for _ in $(seq 50); do ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
    ip link set "$tap" netns "$ns" name eth0 || return 1
    ip -n "$ns" addr add "$ip" dev eth0
    ip -n "$ns" link set eth0 up
}
# AF_XDP frames carry no checksum metadata: peers must fill checksums.
tx_csum_off() { ip netns exec "$1" ethtool -K eth0 tx off >/dev/null 2>&1; true; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ping_ok() { # NS DST
    nsx "$1" ping -c 3 -i 0.2 -W 2 "$2"
}
# tcp_ok NS_CLIENT NS_SERVER SERVER_IP [PORT]: 4 MB through nc, checked by
# cmp.  An IPv6 SERVER_IP makes the server listen on IPv6.
tcp_ok() {
    local c=$1 s=$2 ip=$3 port=${4:-5201} fam=-4
    case $ip in *:*) fam=-6 ;; esac
    head -c 4000000 /dev/urandom >"$RUN/tx.bin"
    nsx "$s" timeout 20 nc $fam -l -p "$port" -N >"$RUN/rx.bin" &
    local spid=$!
    sleep 0.3
    nsx "$c" timeout 15 nc $fam -N "$ip" "$port" <"$RUN/tx.bin" || { kill $spid 2>/dev/null; return 1; }
    wait $spid
    cmp "$RUN/tx.bin" "$RUN/rx.bin"
}
iperf_ok() { # NS_CLIENT NS_SERVER SERVER_IP [SECS]
    nsx "$2" iperf3 -s -1 -p 5211 -D >/dev/null 2>&1; sleep 0.3
    nsx "$1" timeout 20 iperf3 -c "$3" -p 5211 -t "${4:-1}" -f g 2>&1 | tail -4
    return "${PIPESTATUS[0]}"
}

cleanup() {
    local rc=$?
    stop_vswitchd
    for ns in "${NS_LIST[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    for l in "${LINK_LIST[@]}"; do ip link del "$l" 2>/dev/null; done
    if [ "$n_fail" -ne 0 ] && [ -f "$RUN/log" ]; then
        echo "---- vswitchd log (tail) ----"; tail -30 "$RUN/log"
    fi
    rm -rf "$RUN"
    echo "system: $n_pass checks passed, $n_fail failed"
    [ "$n_fail" -eq 0 ] && [ $rc -eq 0 ] && exit 0
    exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM
