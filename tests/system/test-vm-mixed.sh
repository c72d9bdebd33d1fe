#!/usr/bin/env bash
# A QEMU guest and a namespace on ports of different types: the guest's TAP
# is an afpacket port (virtio-net header: the guest's TSO segments and
# partial checksums arrive as they are), the namespace's veth an afxdp port
# (no offloads).  1 MB of TCP each way, checked by MD5: the switch must
# segment the guest's large segments and fill their checksums on the way to
# the afxdp port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../tools/vm/vm-test-lib.sh"

H2=${P}h2 br=${P}mx VM=${P}g1 TAP=${P}v1
IP1=10.253.72.1 IP2=10.253.72.2

vm_require
vm_start_bg "$VM" "$TAP" $IP1/24
start_vswitchd || exit 1
add_ns "$H2"
veth_to_ns "$H2" "${P}b0" $IP2/24
tx_csum_off "$H2"
check "add-br" vsctl add-br "$br"
check "add-port namespace side (afxdp)" vsctl add-port "$br" "${P}b0" \
    type=afxdp ofport=2
vm_wait "$VM" || exit 1
check "add-port the guest's TAP (afpacket)" vsctl add-port "$br" "$TAP" \
    type=afpacket ofport=1 rx-mode=mmsg
check "guest -> namespace ping" vmx "$VM" "ping -c 3 -W 2 $IP2"

vm_tcp_to_ns() { # PORT
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
ns_tcp_to_vm() { # PORT
    local sum
    head -c 1000000 /dev/urandom >"$RUN/tx.bin"
    vmx "$VM" "rm -f /tmp/rx.bin; sleep 25 | nc -l -p $1 >/tmp/rx.bin &" ||
        return 1
    sleep 0.5
    nsx "$H2" timeout 20 nc -N $IP1 "$1" <"$RUN/tx.bin" || return 1
    sum=$(vmx "$VM" "n=0; while pidof nc >/dev/null && [ \$n -lt 100 ]; do
        sleep 0.1; n=\$((n + 1)); done; md5sum </tmp/rx.bin; wc -c </tmp/rx.bin")
    echo "guest: $sum"
    echo "namespace: $(md5sum <"$RUN/tx.bin")"
    [ "${sum%% *}" = "$(md5sum <"$RUN/tx.bin" | cut -d' ' -f1)" ]
}
check "guest -> namespace tcp (1 MB, afpacket -> afxdp)" vm_tcp_to_ns 5401

# The guest sent segments larger than a frame (TSO through the virtio-net
# header), so the switch did segment them for the afxdp port.
gso_seen() {
    vsctl dump-ports "$br" 1 | tee /dev/stderr | awk '
        /rx pkts=/ { gsub(/[^0-9=]/, " "); split($0, a, "=");
                     p = a[2] + 0; b = a[3] + 0 }
        END { printf "avg rx frame %d bytes\n", p ? b / p : 0;
              exit !(p && b / p > 1514) }'
}
check "guest's TCP arrived in segments larger than a frame" gso_seen
check "namespace -> guest tcp (1 MB, afxdp -> afpacket)" ns_tcp_to_vm 5402

