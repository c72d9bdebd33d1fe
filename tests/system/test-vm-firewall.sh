#!/usr/bin/env bash
# A QEMU guest behind the stateful firewall: the guest's TAP (owned by
# QEMU) is an afpacket port, a namespace is the other port.  The guest
# reaches the namespace with ping and a 1 MB TCP transfer (checked by MD5);
# new connections from the namespace to the guest are dropped, and pass
# once a rule allows them (so the drop was the firewall's).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../tools/vm/vm-test-lib.sh"

H2=${P}h2 br=${P}fw VM=${P}g1 TAP=${P}v1
IP1=10.253.71.1 IP2=10.253.71.2
FLOWS='table=0,priority=10,arp,actions=normal
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,ip,in_port=1,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,ip,in_port=1,ct_state=+trk+est,actions=output:2
table=1,priority=100,ip,in_port=2,ct_state=+trk+est,actions=output:1
table=1,priority=1,actions=drop'

vm_require
vm_start_bg "$VM" "$TAP" $IP1/24
start_vswitchd || exit 1
add_ns "$H2"
veth_to_ns "$H2" "${P}b0" $IP2/24
check "add-br" vsctl add-br "$br"
check "add-port namespace side" vsctl add-port "$br" "${P}b0" type=afpacket \
    ofport=2 rx-mode=mmsg
check "replace the default flow" vsctl del-flows "$br"
add_fw_flows() { printf '%s\n' "$FLOWS" | vsctl add-flows "$br" -; }
check "firewall flows" add_fw_flows
vm_wait "$VM" || exit 1
check "add-port the guest's TAP (afpacket)" vsctl add-port "$br" "$TAP" \
    type=afpacket ofport=1 rx-mode=mmsg

# ---- guest -> namespace ---------------------------------------------------
check "guest -> namespace ping passes" vmx "$VM" "ping -c 3 -W 2 $IP2"
check "dump-conntrack shows the guest's icmp connection in zone 1" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack | \
    grep -E '^icmp,orig=\(src=$IP1,dst=$IP2,.*zone=1'" "$VSCTL_BIN"

vm_tcp_to_ns() { # PORT: 1 MB from the guest, compared by MD5
    # -d: the receiver must not half-close first (busybox nc, the sender,
    # stops sending when its peer's side ends).
    nsx "$H2" timeout 25 nc -d -l -p "$1" >"$RUN/rx.bin" &
    local spid=$! sum
    sleep 0.3
    sum=$(vmx "$VM" "head -c 1000000 /dev/urandom >/tmp/tx.bin &&
        timeout 20 nc $IP2 $1 </tmp/tx.bin && md5sum /tmp/tx.bin") ||
        { kill $spid 2>/dev/null; echo "guest nc failed: $sum"; return 1; }
    wait $spid
    echo "guest: $sum"
    echo "namespace: $(md5sum <"$RUN/rx.bin") $(stat -c %s "$RUN/rx.bin")"
    [ "${sum%% *}" = "$(md5sum <"$RUN/rx.bin" | cut -d' ' -f1)" ]
}
check "guest -> namespace tcp (1 MB) passes" vm_tcp_to_ns 5301
check "dump-conntrack shows the guest's tcp connection" \
    sh -c "\"\$0\" --server=unix:$RUN/ctl dump-conntrack | \
    grep -E '^tcp,orig=\(src=$IP1,dst=$IP2,sport=[0-9]+,dport=5301\),.*zone=1'" \
    "$VSCTL_BIN"

# ---- namespace -> guest ---------------------------------------------------
check_not "namespace -> guest new ping is blocked" \
    nsx "$H2" ping -c 2 -i 0.2 -W 1 $IP1
check "guest listens on tcp 5302" \
    vmx "$VM" "sleep 30 | nc -l -p 5302 >/tmp/rx5302 2>&1 &"
sleep 0.5
check_not "namespace -> guest new tcp is blocked" \
    nsx "$H2" nc -z -w 2 $IP1 5302
check "allow new connections from the namespace" vsctl add-flow "$br" \
    'table=1,priority=200,ip,in_port=2,ct_state=+trk+new,actions=ct(commit,zone=1),output:1'
check "then namespace -> guest tcp passes (the listener was there)" \
    nsx "$H2" nc -z -w 5 $IP1 5302
