#!/usr/bin/env bash
# vsctl against a live daemon: configuration commands, clear errors with a
# non-zero exit, nothing half-made after a failure, and a corrupt store
# that stops the daemon with a message naming the file.
. "$(dirname "$0")/lib.sh"

start_vswitchd || exit 1
br=${P}br
expect_err() { # description regex command...
    local what=$1 re=$2; shift 2
    if "$@" >"$RUN/out" 2>&1; then fail "$what (exit 0)"; sed 's/^/    /' "$RUN/out"
    elif grep -Eq "$re" "$RUN/out"; then pass "$what"
    else fail "$what (message)"; sed 's/^/    /' "$RUN/out"; fi
}

check "add-br" vsctl add-br "$br"
check "list-br" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl list-br | grep -qx $br"
expect_err "duplicate bridge" "exists" vsctl add-br "$br"
expect_err "missing device" "no such device|No such device" \
    vsctl add-port "$br" "${P}nodev" type=afpacket
expect_err "unknown port type" "type" vsctl add-port "$br" "${P}x" type=bogus
check "nothing half-made" sh -c "! $VSCTL_BIN --server=unix:$RUN/ctl list-ports $br | grep -q ${P}"
check "new bridge has the default flow" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep -q 'priority=0 actions=NORMAL'"
expect_err "flow syntax error names the token" "nw_srcx" \
    vsctl add-flow "$br" "priority=5,ip,nw_srcx=1.2.3.4,actions=drop"
expect_err "bad address" "300" vsctl add-flow "$br" "ip,nw_src=10.0.0.300,actions=drop"
expect_err "unknown command" "unknown command" vsctl frobnicate
expect_err "missing argument" "." vsctl add-br
expect_err "no such bridge" "no bridge|no such bridge|not found" vsctl del-br "${P}none"
check "add-flow" vsctl add-flow "$br" "priority=100,ip,nw_src=10.1.0.0/16,actions=drop"
check "dump-flows shows it" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep -q 'priority=100,ip,nw_src=10.1.0.0/16 actions=drop'"
check "json output parses" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl --format=json dump-flows $br | python3 -m json.tool"
check "help lists commands" sh -c "$VSCTL_BIN --help | grep -q dump-ports"
expect_err "cannot connect" "cannot connect" "$VSCTL_BIN" --server=unix:$RUN/none show

stop_vswitchd
# Corrupt the store in its middle: the daemon must refuse to start and say
# which file is bad.
size=$(stat -c %s "$RUN/conf.db")
printf '\xff\xff\xff\xff' | dd of="$RUN/conf.db" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cp "$RUN/conf.db" "$RUN/conf.db.corrupt"
expect_err "corrupt store stops the daemon" "conf.db" \
    "$VSWITCHD" --db="$RUN/conf.db" --ctl="unix:$RUN/ctl" --pidfile="$RUN/pid" \
    --log-file="$RUN/log2" --detach
check "corrupt store left untouched" cmp "$RUN/conf.db" "$RUN/conf.db.corrupt"
