#!/usr/bin/env bash
# vslab: script errors (file:line, refused before anything is created),
# the instruction budget, idempotent `up`, `down` after a killed `up`,
# impairments changed at run time, status and graph.
. "$(dirname "$0")/lib.sh"
VSLAB=$TS_BUILD_DIR/utilities/vslab
LAB=${P}lab
F=$RUN/$LAB.lua
trap '"$VSLAB" down "$F" >/dev/null 2>&1; cleanup' EXIT
no_ns() { ! ip netns list | grep -q "^vslab\.$LAB\."; }
refused() { # WHAT PATTERN: the script in $F must fail with PATTERN
    "$VSLAB" --private up "$F" >"$RUN/out" 2>&1
    local rc=$?
    cat "$RUN/out"
    [ $rc -eq 2 ] && grep -q -- "$1" "$RUN/out" && no_ns && [ ! -e "/run/vslab/$LAB/vswitchd.pid" ]
}

printf 'local sw = switch "s"\nlocal h = host "h" { ip = "10.0.0.1/24" \nlink(h, sw)\n' >"$F"
check "syntax error reports file:line" refused "$LAB.lua:3:"
printf 'local sw = switch "s"\nhost "h"\nhost "h"\n' >"$F"
check "duplicate name refused before anything is made" refused "$LAB.lua:3: duplicate name 'h'"
printf 'local sw = switch "s"\nlocal h = host "h"\nlink(h, sw, { type = "slip" })\n' >"$F"
check "unknown port type refused" refused "$LAB.lua:3: unknown port type 'slip'"
printf 'local sw = switch "s"\nlocal h = host "h" { ip = { "10.0.0.1/24", "10.1.0.1/24" } }\nlink(h, sw)\n' >"$F"
check "a host on two subnets of one link refused" refused "two subnets"
printf 'local sw = switch "s"\nlocal h = host "h"\nlink(h, sw)\nsw:flows [[\n  priority=1,actions=normal\n  in_port=nosuch,actions=drop\n]]\n' >"$F"
check "bad flow refused with its line" refused "$LAB.lua:6: switch 's': bad flow"
printf 'local n = 0\nwhile true do n = n + 1 end\n' >"$F"
check "runaway loop ends with a budget error" refused "$LAB.lua:2: instruction budget"
printf 'local f = io.open("/etc/passwd")\n' >"$F"
check "no io in the sandbox" refused "$LAB.lua:1:"
printf 'os.execute("true")\n' >"$F"
check "no os.execute in the sandbox" refused "$LAB.lua:1:"

cat >"$F" <<'LUA'
local sw = switch "br0"
local h1 = host "h1" { ip = "10.61.0.1/24" }
local h2 = host "h2" { ip = "10.61.0.2/24" }
link(h1, sw, { port = "p1", type = "afxdp" })
local l2 = link(h2, sw, { port = "p2", type = "tap", rate = "50mbit" })
sw:flows [[
  table=0,priority=10,actions=normal
]]
test("ping", function() expect(h1:ping(h2)) end)
test("udp", function() expect(h1:udp(h2, 5353)) end)
test("impairment at run time", function()
  l2:set{ loss = "100%" }
  local ok, out = h2:exec("tc qdisc show dev eth0; nft list ruleset 2>/dev/null")
  print(out)
  expect_not(h2:ping(h1, { timeout = 1 }))
  l2:set{ loss = false, rate = "20mbit" }
  expect(h1:ping(h2))
end)
LUA
check "up" "$VSLAB" --private up "$F"
check "status lists the lab" sh -c "'$VSLAB' status | grep -q '^$LAB '"
check "status --format json" sh -c "'$VSLAB' status --format json | python3 -c 'import json,sys; l=json.load(sys.stdin); assert any(x[\"lab\"]==\"$LAB\" for x in l)'"
ip netns list | grep "vslab.$LAB" | sort >"$RUN/ns1"
ip -o link show | grep -c "alias vslab.$LAB" >"$RUN/links1"
"$VSLAB" exec --name="$LAB" h1 -- ip -o addr show >/dev/null 2>&1
check "exec runs in the node" sh -c "'$VSLAB' --name=$LAB exec h1 -- ip -o addr show dev eth0 | grep -q 10.61.0.1/24"
check "rate applied (tc qdisc show)" sh -c "tc -n vslab.$LAB.h2 qdisc show dev eth0 | grep -Eq 'netem|tbf'"
check "second up" "$VSLAB" --private up "$F"
check "second up changed nothing" sh -c "ip netns list | grep 'vslab.$LAB' | sort | cmp - $RUN/ns1 && [ \$(ip -o link show | grep -c 'alias vslab.$LAB') = \$(cat $RUN/links1) ]"
check "down" "$VSLAB" down "$F"
check "nothing left" sh -c "ip netns list | grep 'vslab.$LAB'; ls /run/vslab/$LAB; ! ip netns list | grep -q 'vslab.$LAB\.' && [ ! -d /run/vslab/$LAB ]"
check "test: impairment changed by a test function" "$VSLAB" --private test "$F"

# A killed, half-built up: down cleans from tags alone.
cat >"$F" <<'LUA'
for i = 1, 12 do link(host("h" .. i) { ip = "10.62.0." .. i .. "/24" }, switch("s" .. i)) end
LUA
"$VSLAB" --private up "$F" >/dev/null 2>&1 &
vpid=$!
for _ in $(seq 100); do ip netns list | grep -q "vslab.$LAB.h3" && break; sleep 0.05; done
kill -9 $vpid; wait $vpid 2>/dev/null
rm -f "/run/vslab/$LAB/state"
check "a killed up left something" sh -c "ip netns list | grep -q vslab.$LAB."
check "down after kill -9 cleans" "$VSLAB" down "$F"
check "nothing left after kill -9 and down" sh -c "ip netns list | grep 'vslab.$LAB'; ip -o link show | grep 'alias vslab.$LAB'; ls /run/vslab/$LAB; ! ip netns list | grep -q 'vslab.$LAB\.' && ! ip -o link show | grep -q 'alias vslab.$LAB\$' && [ ! -d /run/vslab/$LAB ]"
check "graph mermaid" sh -c "'$VSLAB' graph '$F' | grep -q 'h1.*s1'"
check "graph dot" sh -c "'$VSLAB' graph --format dot '$F' | grep -q '\"h1\" -- \"s1\"'"
