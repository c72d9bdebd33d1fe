#!/usr/bin/env bash
# vslab: script errors (file:line, refused before anything is created),
# the instruction budget, idempotent `up`, `down` after a killed `up`,
# impairments by the switch (delay measured by ping RTT, loss and rate
# changed at run time), status and graph.
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
local h3 = host "h3" { ip = "10.61.0.3/24" }
link(h1, sw, { port = "p1", type = "afxdp" })
local l2 = link(h2, sw, { port = "p2", type = "tap", rate = "50mbit" })
-- The issue's own example: the switch applies it, no netem needed.
link(h3, sw, { port = "p3", type = "tap", delay = "5ms", loss = "1%" })
sw:flows [[
  table=0,priority=10,actions=normal
]]
-- min and max RTT (ms) of 5 pings from h1 to ADDR.
local function rtt(addr)
  local ok, out = h1:exec("ping -c 5 -i 0.2 -W 2 " .. addr)
  local min, avg, max = out:match("= ([%d.]+)/([%d.]+)/([%d.]+)")
  print(addr .. ": rtt min/avg/max " .. tostring(min) .. "/"
        .. tostring(avg) .. "/" .. tostring(max) .. " ms")
  return tonumber(min), tonumber(max), tonumber(avg)
end
local function tx_dropped(name)
  for _, p in ipairs(sw:ports()) do
    if p.name == name then return p.tx_dropped end
  end
end
test("ping", function() expect(h1:ping(h2)) end)
test("udp", function() expect(h1:udp(h2, 5353)) end)
test("udp and iperf to an address", function()
  expect(h1:udp("10.61.0.2", 5354))
  l2:set{ rate = "20mbit" }
  local bps, out = h1:iperf("10.61.0.2", { time = 2 })
  print("iperf through rate=20mbit: " .. tostring(bps and bps / 1e6)
        .. " mbit/s")
  expect(bps and bps < 21e6 and bps > 10e6, out)
  l2:set{ rate = "50mbit" }
end)
test("delay from the switch", function()
  expect(h1:ping(h2))
  local min, max, avg = rtt("10.61.0.2")
  expect(avg and avg < 5, "rtt without delay " .. tostring(avg))
  l2:set{ delay = "20ms" }
  min, max = rtt("10.61.0.2")
  expect(min and min >= 20, "min rtt with delay=20ms " .. tostring(min))
  expect(max and max < 60, "max rtt with delay=20ms " .. tostring(max))
  l2:set{ delay = false }
  min, max, avg = rtt("10.61.0.2")
  expect(avg and avg < 5, "rtt after removing the delay " .. tostring(avg))
end)
test("the issue's example: delay 5ms, loss 1% on a tap link", function()
  expect(h1:ping(h3))
  local min = rtt("10.61.0.3")
  expect(min and min >= 5, "min rtt " .. tostring(min))
end)
test("impairment at run time", function()
  local before = tx_dropped("p2")
  l2:set{ loss = "100%" }
  expect_not(h2:ping(h1, { timeout = 1 }))
  expect(tx_dropped("p2") > before, "loss not counted in tx_dropped")
  l2:set{ loss = false, rate = "20mbit" }
  expect(h1:ping(h2))
  l2:set{ loss = "50%" }
  local ok, out = h1:exec("ping -c 20 -i 0.05 -W 1 -q 10.61.0.2")
  local got = tonumber(out:match("(%d+) received"))
  print("loss=50%: " .. tostring(got) .. " of 20 replies")
  expect(got and got >= 1 and got <= 19, "replies " .. tostring(got))
  l2:set{ loss = false }
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
check "rate is a switch port option" sh -c "'$VSCTL_BIN' --server=unix:/run/vslab/$LAB/vswitchd.ctl show | grep -q 'rate=.50mbit'"
check "no qdisc made for impairments" sh -c "! tc -n vslab.$LAB.h2 qdisc show dev eth0 | grep -Eq 'netem|tbf'"
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
