#!/usr/bin/env bash
# add-flows --bundle: all or nothing (a bad flow anywhere, found by vsctl
# or by the daemon, adds nothing and the error names its line), durable
# when the command returns (kill -9 right after keeps every flow, for a
# bundle into an empty table and one into a full one), and the flows
# apply (a dump shows them).  Dummy ports only: no kernel device, no
# traffic.
. "$(dirname "$0")/lib.sh"

start_vswitchd --internal-port-type=dummy || exit 1
br=${P}br
out=$RUN/out
count() { # flows in table 0 (dump-aggregate's flow_count)
    vsctl dump-aggregate "$br" table=0 | sed -n 's/.*flow_count=//p'
}
expect_err() { # description regex command...
    local what=$1 re=$2; shift 2
    if "$@" >"$out" 2>&1; then fail "$what (exit 0)"; sed 's/^/    /' "$out"
    elif grep -Eq -- "$re" "$out"; then pass "$what"
    else fail "$what (message)"; sed 's/^/    /' "$out"; fi
}
gen() { # FIRST N ACTIONS: ct-style flows, one per source address
    awk -v a="$1" -v n="$2" -v act="$3" 'BEGIN {
        for (i = a; i < a + n; i++)
            printf "table=0,priority=100,ip,in_port=1,nw_src=10.%d.%d.%d," \
                   "ct_state=-trk,actions=%s\n", int(i / 65536) % 256,
                   int(i / 256) % 256, i % 256, act }'
}

check "add-br" vsctl add-br "$br"
check "add dummy ports" sh -c "$VSCTL_BIN --server=unix:$RUN/ctl add-port $br ${P}p1 type=dummy ofport=1 && $VSCTL_BIN --server=unix:$RUN/ctl add-port $br ${P}p2 type=dummy ofport=2"
check "del-flows" vsctl del-flows "$br"

# ---- errors: nothing applied, the line named ----
gen 0 3000 "ct(table=1,zone=1)" >"$RUN/bad-daemon"
sed -i '2000s/actions=.*/actions=group:77/' "$RUN/bad-daemon"
expect_err "daemon-refused flow: error names its line" \
    "bad-daemon: line 2000: .*group 77" \
    vsctl add-flows "$br" "$RUN/bad-daemon" --bundle
check "daemon-refused flow: nothing applied" test "$(count)" = 0
gen 0 3000 "output:2" >"$RUN/bad-syntax"
sed -i '2500s/nw_src=/nw_srcx=/' "$RUN/bad-syntax"
expect_err "syntax error: error names its line" \
    "bad-syntax: line 2500: .*nw_srcx" \
    vsctl add-flows "$br" "$RUN/bad-syntax" --bundle
check "syntax error: nothing applied" test "$(count)" = 0
gen 0 3 "output:2" >"$RUN/overlap"
sed -i '3s/^table=0,/table=0,check_overlap,/; 3s/nw_src=[0-9.]*/nw_src=10.0.0.0\/24/' "$RUN/overlap"
expect_err "commit-time failure (overlap): error" "overlap" \
    vsctl add-flows "$br" "$RUN/overlap" --bundle
check "commit-time failure: nothing applied" test "$(count)" = 0

# ---- a big bundle, durable at once ----
gen 0 5000 "ct(table=1,zone=1)" >"$RUN/flows1"
check "add-flows --bundle of 5000" vsctl add-flows "$br" "$RUN/flows1" --bundle
kill9_vswitchd
start_vswitchd --internal-port-type=dummy || fail "restart after kill -9"
check "5000 flows after kill -9 right after the bundle" test "$(count)" = 5000
has_flow() { vsctl dump-flows "$br" --no-stats | grep -q "$1"; }
check "a bundled flow as dump-flows shows it" has_flow \
    "priority=100,ct_state=-trk,ip,in_port=1,nw_src=10.0.19.135 actions=ct(table=1,zone=1)"

# A second bundle appends to a log that already holds flows; mixed
# actions (the parse cache must not leak one line's actions to another).
gen 5000 1000 "output:2" >"$RUN/flows2"
gen 6000 1000 "drop" >>"$RUN/flows2"
check "second bundle (mixed actions)" vsctl add-flows "$br" "$RUN/flows2" --bundle
kill9_vswitchd
start_vswitchd --internal-port-type=dummy || fail "restart after 2nd kill -9"
check "7000 flows after the second kill -9" test "$(count)" = 7000
check "second bundle's output:2 flow" has_flow "nw_src=10.0.19.136 actions=output:2"
check "second bundle's drop flow" has_flow "nw_src=10.0.23.112 actions=drop"

# A bundle that replaces existing flows (same match): still 7000.
gen 0 2000 "output:1" >"$RUN/flows3"
check "bundle replacing 2000 flows" vsctl add-flows "$br" "$RUN/flows3" --bundle
check "replaced, not added" test "$(count)" = 7000
check "replaced flow has its new actions" has_flow "nw_src=10.0.0.5 actions=output:1"
stop_vswitchd
start_vswitchd --internal-port-type=dummy || fail "restart"
check "replacements survive a restart" has_flow "nw_src=10.0.0.5 actions=output:1"
check "still 7000 after the restart" test "$(count)" = 7000
