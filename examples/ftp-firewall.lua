-- An FTP server behind a stateful firewall: only the control connection
-- (port 2121) may be opened from outside; conntrack's FTP helper
-- (alg=ftp) admits the data connections it negotiates as related.
-- Server: Debian's python3-pyftpdlib; client: curl.
local fw = switch "fw"
local client = host "client" { ip = "10.40.0.1/24" }
local server = host "server" { ip = "10.40.0.2/24" }
link(client, fw, { port = "outside" })
link(server, fw, { port = "inside" })

fw:flows [[
  table=0,priority=10,arp,actions=normal
  table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=5)
  table=1,priority=100,tcp,in_port=outside,tp_dst=2121,ct_state=+trk+new-rel,actions=ct(commit,zone=5,alg=ftp),output:inside
  table=1,priority=100,tcp,ct_state=+trk+new+rel,actions=ct(commit,zone=5),normal
  table=1,priority=90,ip,ct_state=+trk+est,actions=normal
  table=1,priority=90,ip,ct_state=+trk+rel,actions=normal
  table=1,priority=1,actions=drop
]]

local function get(opts)
  local ok, out = client:exec("curl -sS --max-time 5 " .. opts ..
                              " ftp://10.40.0.2:2121/etc/hostname -o /dev/null")
  return ok, "curl failed: " .. out
end

test("ftp server starts", function()
  server:spawn("exec timeout 60 /usr/bin/python3 -m pyftpdlib -i 10.40.0.2 -p 2121 -d / -r 30000-30100",
               { wait_ms = 800 })
  expect(client:tcp(server, 2121, { listen = false }))
end)
test("passive (EPSV) download", function() expect(get("")) end)
test("passive (PASV) download", function() expect(get("--disable-epsv")) end)
test("active (PORT) download", function() expect(get("-P 10.40.0.1 --disable-eprt")) end)
test("other ports stay closed", function()
  expect_not(client:tcp(server, 2200, { timeout = 1 }))
end)
test("conntrack used the helper", function()
  expect(fw:conntrack{ zone = 5 }:count("helper=ftp") >= 1)
end)
