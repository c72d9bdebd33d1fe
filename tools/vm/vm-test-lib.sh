# Helpers for shell tests and benchmarks with QEMU guests (tools/vm/ts-vm).
# Source it after tests/system/lib.sh: it needs $RUN, $TS_BUILD_DIR and the
# PASS/FAIL helpers, and it chains its own cleanup (stop every guest this
# test started, so that their TAPs go too) before lib.sh's.
#
#   vm_require                 SKIP (exit 77) if QEMU cannot run at all
#   vm_start_bg NAME TAP IP [ts-vm start options]   boot in the background
#   vm_wait NAME...            wait for those boots; 0 if all are up
#   vmx NAME CMD               run a shell command in the guest (its status)
#   vm_stop_all                stop every guest started here
TSVM=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ts-vm
export TS_VM_CACHE=${TS_VM_CACHE:-$TS_BUILD_DIR/vm}
export TS_VM_RUNDIR=$RUN/vms
VM_LIST=()

# Call it first, before the test creates anything: a skip bypasses lib.sh's
# cleanup (which would turn exit 77 into a failure).
vm_skip() {
    echo "SKIP: $*"
    trap - EXIT
    rm -rf "$RUN"
    exit 77
}
vm_require() {
    local q=${TS_VM_QEMU:-qemu-system-x86_64}
    if ! command -v "$q" >/dev/null; then
        vm_skip "$q is not installed (tools/install-deps installs it)"
    fi
    # QEMU itself must start; whether our guest boots is what tests check.
    if ! timeout 20 "$q" -machine none -accel tcg -nodefaults \
            -display none -monitor none -S -no-user-config \
            -daemonize -pidfile "$RUN/qemu-probe.pid" >/dev/null 2>&1; then
        vm_skip "$q cannot run on this machine"
    fi
    kill "$(cat "$RUN/qemu-probe.pid")" 2>/dev/null
    # Build the initramfs and pick the accelerator once, before parallel
    # boots (both are cached; a failure here is a failure, not a skip).
    local accel
    if accel=$("$TSVM" accel 2>"$RUN/accel.err"); then
        pass "guest initramfs built, accelerator $accel"
    else
        fail "guest initramfs and accelerator"
        sed 's/^/    /' "$RUN/accel.err"
        exit 1
    fi
}

vm_start_bg() { # NAME TAP IP [options]
    local name=$1 tap=$2 ip=$3; shift 3
    VM_LIST+=("$name")
    "$TSVM" start "$name" --tap "$tap" --ip "$ip" "$@" \
        >"$RUN/vm-$name.start" 2>&1 &
    eval "VM_PID_$name=$!"
}

vm_wait() { # NAME...
    local rc=0 name pid
    for name in "$@"; do
        eval "pid=\${VM_PID_$name}"
        if wait "$pid"; then
            pass "guest $name boots ($(grep -o '(.*)' "$RUN/vm-$name.start"))"
        else
            fail "guest $name boots"
            sed 's/^/    /' "$RUN/vm-$name.start" | tail -30
            rc=1
        fi
    done
    return $rc
}

vmx() { # NAME CMD (a shell command line for the guest's busybox sh)
    "$TSVM" exec "$1" --timeout "${VMX_TIMEOUT:-30}" -- "$2"
}

vm_stop_all() {
    local name
    for name in "${VM_LIST[@]}"; do
        "$TSVM" stop "$name" 2>/dev/null
    done
    VM_LIST=()
}

trap 'rc=$?; vm_stop_all; (exit $rc); cleanup' EXIT
