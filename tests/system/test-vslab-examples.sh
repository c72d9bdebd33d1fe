#!/usr/bin/env bash
# vslab: `vslab test` on every example in examples/ (each under a unique
# lab name, with a private vswitchd), then a second `down` must find
# nothing, and no namespace, interface or daemon of the lab may remain.
. "$(dirname "$0")/lib.sh"
VSLAB=$TS_BUILD_DIR/utilities/vslab
SRC=${TS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LABS=()
vslab_cleanup() {
    for l in "${LABS[@]}"; do "$VSLAB" --name="$l" down x.lua >/dev/null 2>&1; done
    cleanup
}
trap vslab_cleanup EXIT

leftovers() { # LAB: prints what remains
    ip netns list | grep "^vslab\.$1\." || true
    [ -d "/run/vslab/$1" ] && echo "/run/vslab/$1"
    true
}
for f in "$SRC"/examples/*.lua; do
    ex=$(basename "$f" .lua)
    case $ex in vm-*) continue ;; esac     # QEMU guests: test-vslab-vm.sh
    lab="${P}-$ex"; lab=${lab:0:32}
    LABS+=("$lab")
    export VSLAB_SWITCHES=3 VSLAB_HOSTS=6     # examples/scale.lua: small
    check "$ex: vslab test" timeout 55 "$VSLAB" --private --name="$lab" test "$f"
    check "$ex: second down finds nothing" sh -c \
        "'$VSLAB' --name='$lab' down '$f' | grep -q 'nothing to remove'"
    check "$ex: nothing of the lab remains" sh -c "[ -z \"\$(ip netns list | grep '^vslab\.$lab\.')\" ] && [ ! -d /run/vslab/$lab ]"
    check "$ex: no interface of the lab remains" sh -c \
        "! ip -o link show | grep -q 'alias vslab\.$lab\$'"
done
