-- A NAT gateway in front of a private subnet: hosts of 192.168.1.0/24
-- reach the server at 10.99.0.2 from 10.99.0.10 (SNAT in the switch,
-- conntrack zone 1); the server cannot open connections inward.  No
-- router: static routes and neighbours, so no ARP crosses the NAT.
local gw = switch "gw"
local server = host "server" { ip = "10.99.0.2/24" }
local pc = {}
for i = 1, 2 do
  pc[i] = host("pc" .. i) {
    ip = "192.168.1." .. (10 + i) .. "/24",
    routes = { ["10.99.0.0/24"] = { dev = "eth0" } },
    neigh = { ["10.99.0.2"] = server },
  }
  link(pc[i], gw, { port = "in" .. i, mac = "02:00:00:00:01:0" .. i })
end
link(server, gw, { port = "out" })
server { neigh = { ["10.99.0.10"] = pc[1] },
         routes = { ["192.168.1.0/24"] = { dev = "eth0" } } }

gw:flows [[
  table=0,priority=10,arp,actions=drop
  table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1,nat)
  table=1,priority=100,ip,in_port=in1,ct_state=+trk+new,actions=ct(commit,zone=1,nat(src=10.99.0.10)),output:out
  table=1,priority=100,ip,in_port=in2,ct_state=+trk+new,actions=ct(commit,zone=1,nat(src=10.99.0.10)),output:out
  table=1,priority=100,ip,ct_state=+trk+est,in_port=in1,actions=output:out
  table=1,priority=100,ip,ct_state=+trk+est,in_port=in2,actions=output:out
  table=1,priority=100,ip,ct_state=+trk+est,in_port=out,nw_dst=192.168.1.11,actions=mod_dl_dst:02:00:00:00:01:01,output:in1
  table=1,priority=100,ip,ct_state=+trk+est,in_port=out,nw_dst=192.168.1.12,actions=mod_dl_dst:02:00:00:00:01:02,output:in2
  table=1,priority=100,ip,ct_state=+trk+rel,in_port=out,nw_dst=192.168.1.11,actions=mod_dl_dst:02:00:00:00:01:01,output:in1
  table=1,priority=100,ip,ct_state=+trk+rel,in_port=out,nw_dst=192.168.1.12,actions=mod_dl_dst:02:00:00:00:01:02,output:in2
  table=1,priority=1,actions=drop
]]

test("pc1 reaches the server", function() expect(pc[1]:ping(server)) end)
test("pc2 reaches the server", function() expect(pc[2]:ping(server)) end)
test("pc1 opens TCP to the server", function() expect(pc[1]:tcp(server, 8080)) end)
test("the server sees the public address", function()
  local t = gw:conntrack{ zone = 1 }
  expect(t:count("dst=10.99.0.10") >= 1, "no translated reply tuple")
end)
test("the server cannot open inward", function()
  expect_not(server:tcp(pc[1], 22, { timeout = 1 }))
end)
