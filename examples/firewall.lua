-- A two-host stateful firewall: h1 may open connections to h2, h2 may
-- only answer.  Conntrack zone 1 tracks every IP packet.
local sw = switch "br0"
local h1 = host "h1" { ip = "10.0.0.1/24" }
local h2 = host "h2" { ip = "10.0.0.2/24" }
link(h1, sw, { port = "p1" })
local l2 = link(h2, sw, { port = "p2", type = "tap" })

sw:flows [[
  table=0,priority=10,arp,actions=normal
  table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1)
  table=1,priority=10,ip,in_port=p1,ct_state=+trk+new,actions=ct(commit,zone=1),normal
  table=1,priority=10,ip,ct_state=+trk+est,actions=normal
  table=1,priority=0,actions=drop
]]

test("h1 reaches h2", function() expect(h1:ping(h2)) end)
test("h1 opens TCP to h2", function() expect(h1:tcp(h2, 80)) end)
test("h2 cannot open TCP to h1", function() expect_not(h2:tcp(h1, 80)) end)
test("conntrack saw it", function()
  expect(sw:conntrack{ zone = 1 }:count() >= 1)
end)
test("loss can be changed at run time", function()
  l2:set{ loss = "100%" }
  expect_not(h2:ping(h1, { timeout = 1 }))
  l2:set{ loss = "0%" }
  expect(h1:ping(h2))
end)
