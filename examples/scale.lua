-- Scale: a ring of N switches joined by patch links, with M hosts spread
-- over them, one subnet.  N and M come from the environment (defaults
-- 10 and 50): VSLAB_SWITCHES=4 VSLAB_HOSTS=8 vslab test examples/scale.lua
local n = tonumber(os.getenv("VSLAB_SWITCHES") or "10")
local m = tonumber(os.getenv("VSLAB_HOSTS") or "50")
local sws, hosts = {}, {}
for i = 1, n do sws[i] = switch("s" .. i) end
-- A ring would loop broadcasts under NORMAL: close it only with a chain.
for i = 1, n - 1 do link(sws[i], sws[i + 1]) end
for j = 1, m do
  hosts[j] = host("h" .. j) { ip = string.format("10.77.%d.%d/16", j // 250, j % 250 + 1) }
  link(hosts[j], sws[(j - 1) % n + 1])
end
test("first host reaches the last", function()
  expect(hosts[1]:ping(hosts[m], { timeout = 3 }))
end)
