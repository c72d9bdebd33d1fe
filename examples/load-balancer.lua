-- A DNAT load balancer: clients connect to the virtual IP 10.30.0.100;
-- a select group picks a backend, whose address conntrack (zone 2)
-- writes into the packets; replies are translated back.  The client's
-- neighbour entry for the VIP names a MAC that no host owns.
local lb = switch "lb"
local client = host "client" {
  ip = "10.30.0.1/24", neigh = { ["10.30.0.100"] = "02:00:00:00:00:64" } }
local b = {}
for i = 1, 2 do
  b[i] = host("b" .. i) { ip = "10.30.0.1" .. i .. "/24",
                          neigh = { ["10.30.0.1"] = client } }
  link(b[i], lb, { port = "b" .. i, mac = "02:00:00:00:00:1" .. i })
end
link(client, lb, { port = "c" })

lb:group "group_id=1,type=select,bucket=actions=ct(commit,zone=2,nat(dst=10.30.0.11)),mod_dl_dst:02:00:00:00:00:11,output:b1,bucket=actions=ct(commit,zone=2,nat(dst=10.30.0.12)),mod_dl_dst:02:00:00:00:00:12,output:b2"
lb:flows [[
  table=0,priority=10,arp,actions=normal
  table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=2,nat)
  table=1,priority=100,tcp,in_port=c,nw_dst=10.30.0.100,ct_state=+trk+new,actions=group:1
  table=1,priority=100,ip,in_port=c,ct_state=+trk+est,nw_dst=10.30.0.11,actions=mod_dl_dst:02:00:00:00:00:11,output:b1
  table=1,priority=100,ip,in_port=c,ct_state=+trk+est,nw_dst=10.30.0.12,actions=mod_dl_dst:02:00:00:00:00:12,output:b2
  table=1,priority=100,ip,in_port=b1,ct_state=+trk+est,actions=output:c
  table=1,priority=100,ip,in_port=b2,ct_state=+trk+est,actions=output:c
  table=1,priority=1,actions=drop
]]

test("TCP to the VIP is served", function()
  b[1]:spawn("exec timeout 20 nc -l -k -p 8080")
  b[2]:spawn("exec timeout 20 nc -l -k -p 8080")
  local ok = 0
  for i = 1, 6 do
    if client:tcp("10.30.0.100", 8080, { listen = false }) then ok = ok + 1 end
  end
  expect_eq(ok, 6, "connections to the VIP")
end)
test("conntrack holds translated connections", function()
  local t = lb:conntrack{ zone = 2 }
  expect(t:count("dst=10.30.0.100") >= 1)
end)
test("both backends served requests", function()
  -- The select group hashes each connection's 5-tuple: 24 connections
  -- from fresh source ports all land on one backend with probability
  -- 2^-23.
  for i = 1, 18 do client:tcp("10.30.0.100", 8080, { listen = false }) end
  local t = lb:conntrack{ zone = 2 }
  local n1, n2 = t:count("src=10.30.0.11,"), t:count("src=10.30.0.12,")
  print(string.format("b1 served %d, b2 served %d", n1, n2))
  expect(n1 >= 1, "b1 served no connection")
  expect(n2 >= 1, "b2 served no connection")
end)
test("the VIP is not reachable by other protocols", function()
  expect_not(client:ping("10.30.0.100", { timeout = 1 }))
end)
