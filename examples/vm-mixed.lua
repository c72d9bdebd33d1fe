-- A QEMU guest and a network namespace behind a stateful firewall.  The
-- guest (vm g1, tools/vm/ts-vm) may open connections to the namespace
-- host h1; h1 may only answer.  Conntrack zone 7 tracks every IP packet.
-- The guest's TAP is an afpacket port (docs/vm.md); h1 is on a veth.
-- Needs QEMU (qemu-system-x86, linux-image-amd64, busybox-static).
local sw = switch "fw"
local g1 = vm "g1" { ip = "10.71.0.3/24", memory = 256 }
local h1 = host "h1" { ip = "10.71.0.1/24" }
link(g1, sw, { port = "pvm", type = "afpacket" })
link(h1, sw, { port = "ph" })

sw:flows [[
  table=0,priority=10,arp,actions=normal
  table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=7)
  table=1,priority=10,ip,in_port=pvm,ct_state=+trk+new,actions=ct(commit,zone=7),normal
  table=1,priority=10,ip,ct_state=+trk+est,actions=normal
  table=1,priority=0,actions=drop
]]

test("the vm pings the host", function() expect(g1:ping(h1)) end)
test("the vm opens TCP to the host", function() expect(g1:tcp(h1, 8080)) end)
test("the host cannot ping the vm", function()
  expect_not(h1:ping(g1, { timeout = 1 }))
end)
test("the host cannot open TCP to the vm", function()
  expect_not(h1:tcp(g1, 8081))
end)
test("conntrack saw the vm's connection", function()
  local ct = sw:conntrack{ zone = 7 }
  expect(ct:count("dport=8080") >= 1, table.concat(ct, "\n"))
end)
test("the host reaches the vm once a flow allows it", function()
  sw:flows "table=1,priority=20,tcp,in_port=ph,tp_dst=8081,ct_state=+trk+new,actions=ct(commit,zone=7),normal"
  expect(h1:tcp(g1, 8081))
end)
test("exec runs in the vm", function()
  local ok, out = g1:exec([[ip -o -4 addr show dev eth0 && echo "it's"]])
  expect(ok and out:find("10.71.0.3/24", 1, true)
         and out:find("it's", 1, true), out)
end)
test("iperf from the vm to the host", function()
  local bps, out = g1:iperf(h1, { time = 1 })
  expect(bps and bps > 0, out)
  print(string.format("%.0f Mbit/s", bps / 1e6))
end)
