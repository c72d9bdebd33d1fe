#!/usr/bin/env bash
# vslab vm nodes (QEMU guests through tools/vm/ts-vm): examples/vm-mixed.lua
# (a guest and a namespace behind a stateful firewall) under `vslab test`,
# status, exec and a second `up` on the kept lab, a clean `down` (no QEMU,
# no TAP, no namespace, no state left; a second `down` finds nothing), a
# vm link of type tap refused, and `down` after `kill -9` of vslab while
# its guest boots.  SKIP (77) only if QEMU cannot run at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../tools/vm/vm-test-lib.sh"
VSLAB=$TS_BUILD_DIR/utilities/vslab
SRC=${TS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LAB=${P}vm
F=$RUN/$LAB.lua
trap 'rc=$?; "$VSLAB" --name="$LAB" down x.lua >/dev/null 2>&1; (exit $rc); cleanup' EXIT

vm_require                      # before anything is made (a skip)

# Every process of the lab's guests names /run/vslab/LAB/vm in its command
# line (ts-vm, its supervisor, QEMU).  ("v[m]": grep must not find itself.)
guest_procs() { grep -la "/run/vslab/$LAB/v[m]" /proc/[0-9]*/cmdline 2>/dev/null; true; }
taps() { [ -n "$TAG" ] && ip -o link show type tun | grep -o "$TAG-[0-9a-f]*[ab]"; true; }
nothing_left() {
    local p t n
    p=$(guest_procs); t=$(taps)
    n=$(ip netns list | grep "^vslab\.$LAB\." || true)
    echo "processes: ${p:-none}; taps: ${t:-none}; namespaces: ${n:-none}"
    ls -R "/run/vslab/$LAB" 2>/dev/null
    [ -z "$p" ] && [ -z "$t" ] && [ -z "$n" ] && [ ! -e "/run/vslab/$LAB" ]
}
second_down_empty() { "$VSLAB" --name="$LAB" down x.lua | tee /dev/stderr | grep -q 'nothing to remove'; }

TAG=
check "vm-mixed.lua: vslab test (kept up)" \
    timeout 50 "$VSLAB" --private --name="$LAB" --keep test "$SRC/examples/vm-mixed.lua"
TAG=$(ip -o link show | grep "alias vslab\.$LAB\$" | grep -o 'v[0-9a-f]\{5\}-' | head -1)
TAG=${TAG%-}
tap_is_tun() { [ -n "$TAG" ] && ip -o link show type tun | grep "$TAG-"; }
check "the guest's TAP is a tagged tun device" tap_is_tun
status_text() { "$VSLAB" status | tee /dev/stderr | grep -A3 "^$LAB " | grep -q 'vm g1 .*running .*10.71.0.3/24'; }
check "status lists the vm" status_text
status_json() {
    "$VSLAB" status --format json | tee /dev/stderr | LAB=$LAB python3 -c '
import json, os, sys
labs = [l for l in json.load(sys.stdin) if l["lab"] == os.environ["LAB"]]
vms = labs[0]["vms"]
assert vms[0]["name"] == "g1" and vms[0]["running"] and vms[0]["memory"] == 256, vms'
}
check "status --format json lists the vm" status_json
exec_vm() { "$VSLAB" exec g1 -- 'cat /proc/cmdline' | grep tsvm.name=g1; }
check "vslab exec runs in the vm" exec_vm
exec_status() { "$VSLAB" --name="$LAB" exec g1 -- 'exit 3'; [ $? = 3 ]; }
check "vslab exec returns the guest command's status" exec_status
exec_ns() { "$VSLAB" --name="$LAB" exec h1 -- ip -o addr show dev eth0 | grep 10.71.0.1/24; }
check "vslab exec in the namespace still works" exec_ns
qpid=$(cat "/run/vslab/$LAB/vm/g1/qemu.pid" 2>/dev/null)
second_up() {
    "$VSLAB" --private --name="$LAB" up "$SRC/examples/vm-mixed.lua" &&
        [ -n "$qpid" ] && [ "$(cat "/run/vslab/$LAB/vm/g1/qemu.pid")" = "$qpid" ]
}
check "second up keeps the running guest" second_up
graph_vm() { "$VSLAB" graph "$SRC/examples/vm-mixed.lua" | grep -F 'g1{{'; }
check "graph draws the vm as a hexagon" graph_vm
check "down" "$VSLAB" --name="$LAB" down x.lua
check "nothing left: no QEMU, TAP, namespace or state" nothing_left
check "second down finds nothing" second_down_empty

printf 'local sw = switch "s"\nlocal g = vm "g" { ip = "10.72.0.2/24" }\nlink(g, sw, { type = "tap" })\n' >"$F"
refused() {
    "$VSLAB" --private --name="$LAB" up "$F" >"$RUN/out" 2>&1
    local rc=$?
    cat "$RUN/out"
    [ $rc = 2 ] && grep -q "$LAB.lua:3: vm 'g': a vm link cannot be type 'tap'" "$RUN/out"
}
check "a vm link of type tap is refused (status 2, file:line)" refused
check "nothing made for the refused lab" nothing_left

# kill -9 while the guest boots: down finds it from the tag alone.
cat >"$F" <<'LUA'
local sw = switch "s"
link(vm "g" { ip = "10.72.0.2/24" }, sw)
link(host "h" { ip = "10.72.0.1/24" }, sw)
LUA
"$VSLAB" --private --name="$LAB" up "$F" >"$RUN/up.out" 2>&1 &
vpid=$!
for _ in $(seq 200); do
    grep -qa "path=/run/vslab/$LAB/v[m]/" /proc/[0-9]*/cmdline 2>/dev/null && break
    sleep 0.05
done
kill -9 $vpid; wait $vpid 2>/dev/null
booting() { guest_procs | grep .; }
check "a killed up left a booting guest (QEMU runs)" booting
check "down after kill -9" "$VSLAB" --name="$LAB" down x.lua
check "nothing left after kill -9 and down" nothing_left
check "second down after kill -9 finds nothing" second_down_empty
