-- VLAN trunks between two switches: h1 and h3 are in VLAN 10, h2 and h4
-- in VLAN 20, all on one IP subnet.  Access ports push and pop the tag;
-- the patch link between s1 and s2 carries both VLANs tagged.
local s1, s2 = switch "s1", switch "s2"
local h = {}
for i = 1, 4 do h[i] = host("h" .. i) { ip = "10.20.0." .. i .. "/24" } end
link(h[1], s1); link(h[2], s1)
link(h[3], s2); link(h[4], s2)
link(s1, s2, { port = { "trunk", "trunk" } })   -- a patch link

local function access(sw, a, b)
  sw:flows(string.format([[
    priority=10,in_port=%s,actions=mod_vlan_vid:10,output:trunk
    priority=10,in_port=%s,actions=mod_vlan_vid:20,output:trunk
    priority=10,in_port=trunk,dl_vlan=10,actions=strip_vlan,output:%s
    priority=10,in_port=trunk,dl_vlan=20,actions=strip_vlan,output:%s
    priority=0,actions=drop
  ]], a, b, a, b))
end
access(s1, "h1", "h2")
access(s2, "h3", "h4")

test("VLAN 10 spans the trunk", function() expect(h[1]:ping(h[3])) end)
test("VLAN 20 spans the trunk", function() expect(h[2]:ping(h[4])) end)
test("VLANs are separate", function()
  expect_not(h[1]:ping(h[4], { timeout = 1 }))
end)
test("the trunk carried tagged frames", function()
  local n = 0
  for _, line in ipairs(s1:dump_flows()) do
    if line:find("dl_vlan=10") and not line:find("n_packets=0,") then n = n + 1 end
  end
  expect(n >= 1, "no packet matched dl_vlan=10 on s1")
end)
