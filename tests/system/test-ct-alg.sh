#!/usr/bin/env bash
# Conntrack FTP and TFTP helpers with Debian's servers and clients: a
# firewall that admits only the control connection (commit with alg=ftp or
# alg=tftp) and related (+rel) new connections.  FTP active (PORT, EPRT)
# and passive (PASV, EPSV) downloads with curl, then the same with SNAT of
# the client (the helper rewrites PORT/EPRT and the data connection is
# translated); TFTP get.
. "$(dirname "$0")/lib.sh"

H1=${P}c1 H2=${P}c2 br=${P}cb
IP1=10.253.24.1 IP2=10.253.24.2 NATIP=10.253.24.10
PY=/usr/bin/python3            # Debian's python3, with python3-pyftpdlib
start_vswitchd || exit 1
mac_of() { ip -n "$1" link show eth0 | awk '/link\/ether/ {print $2}'; }
add_ns "$H1"; add_ns "$H2"
veth_to_ns "$H1" "${P}c10" $IP1/24
veth_to_ns "$H2" "${P}c20" $IP2/24
ip -n "$H2" neigh add $NATIP lladdr "$(mac_of "$H1")" dev eth0 nud permanent
check "add-br" vsctl add-br "$br"
vsctl add-port "$br" "${P}c10" type=afpacket ofport=1 &&
vsctl add-port "$br" "${P}c20" type=afpacket ofport=2

# NAT is "" or ",nat(src=...)"; the tracker runs with nat in every ct().
alg_flows() { # NAT
    local n=${1:+,nat} c=$1
    vsctl del-flows "$br" && printf '%s\n' \
    'table=0,priority=10,arp,actions=normal' \
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=5$n)" \
    "table=1,priority=100,tcp,in_port=1,tp_dst=2121,ct_state=+trk+new-rel,actions=ct(commit,zone=5,alg=ftp$c),output:2" \
    "table=1,priority=100,udp,in_port=1,tp_dst=69,ct_state=+trk+new-rel,actions=ct(commit,zone=5,alg=tftp$c),output:2" \
    "table=1,priority=100,ip,in_port=1,ct_state=+trk+new+rel,actions=ct(commit,zone=5$n),output:2" \
    "table=1,priority=100,ip,in_port=2,ct_state=+trk+new+rel,actions=ct(commit,zone=5$n),output:1" \
    'table=1,priority=90,ip,in_port=1,ct_state=+trk+est,actions=output:2' \
    'table=1,priority=90,ip,in_port=2,ct_state=+trk+est,actions=output:1' \
    'table=1,priority=90,ip,in_port=1,ct_state=+trk+rel-new,actions=output:2' \
    'table=1,priority=90,ip,in_port=2,ct_state=+trk+rel-new,actions=output:1' \
    'table=1,priority=1,actions=drop' | vsctl add-flows "$br" -
}
check "ftp: firewall flows" alg_flows ""

mkdir -p "$RUN/srv"; chmod 755 "$RUN" "$RUN/srv"
head -c 300000 /dev/urandom >"$RUN/srv/file.bin"; chmod 644 "$RUN/srv/file.bin"
nsx "$H2" $PY -m pyftpdlib -i $IP2 -p 2121 -d "$RUN/srv" -r 30000-30100 \
    >>"$RUN/ftpd.log" 2>&1 &
for _ in $(seq 50); do
    nsx "$H2" sh -c "exec 3<>/dev/tcp/$IP2/2121" 2>/dev/null && break
    sleep 0.1
done
ftp_get() { # WHAT CURL-OPTIONS
    rm -f "$RUN/got.bin"
    nsx "$H1" curl -sS -m 10 $2 -o "$RUN/got.bin" \
        "ftp://$IP2:2121/file.bin" && cmp "$RUN/srv/file.bin" "$RUN/got.bin"
}
modes() { # PREFIX
    check "$1: passive (EPSV)" ftp_get epsv ""
    check "$1: passive (PASV)" ftp_get pasv "--disable-epsv"
    check "$1: active (EPRT)" ftp_get eprt "-P $IP1"
    check "$1: active (PORT)" ftp_get port "-P $IP1 --disable-eprt"
}
modes "ftp"
check "ftp: dump shows the control connection with helper=ftp" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=5 | \
    grep -E '^tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=2121\).*helper=ftp'" \
    "$VSCTL_BIN"
check_not "ftp: without the helper, a data connection is refused" sh -c \
    "ip netns exec $H2 timeout 5 nc -l -p 30200 >/dev/null & sleep 0.3; \
     ip netns exec $H1 nc -z -w 2 $IP2 30200"

# ---- The same with SNAT of the client ---------------------------------------
check "ftp+snat: flows" alg_flows ",nat(src=$NATIP)"
check "ftp+snat: flush-conntrack" vsctl flush-conntrack
: >"$RUN/ftpd.log"
modes "ftp+snat"
check "ftp+snat: the server saw the translated client" \
    grep -q "$NATIP:" "$RUN/ftpd.log"
check_not "ftp+snat: the server never saw the private address" \
    grep -q "$IP1:" "$RUN/ftpd.log"
check "ftp+snat: dump shows translated data connections" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=5 | \
    grep -E '^tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=300[0-9][0-9]\),reply=\(src=$IP2,dst=$NATIP,'" \
    "$VSCTL_BIN"

# ---- TFTP --------------------------------------------------------------------
tftp_get() {
    rm -f "$RUN/tftp.bin"
    (cd "$RUN" && ip netns exec "$H1" timeout 10 tftp $IP2 -c get file.bin tftp.bin) &&
        cmp "$RUN/srv/file.bin" "$RUN/tftp.bin"
}
nsx "$H2" in.tftpd --foreground --listen --address $IP2:69 --secure \
    "$RUN/srv" >/dev/null 2>&1 &
sleep 0.5
check "tftp+snat: get through the firewall" tftp_get
check "tftp: flows" alg_flows ""
check "tftp: get through the firewall" tftp_get
check "tftp: dump shows the helper" sh -c \
    "\"\$0\" --server=unix:$RUN/ctl dump-conntrack zone=5 | \
    grep -E '^udp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=69\).*helper=tftp'" \
    "$VSCTL_BIN"
