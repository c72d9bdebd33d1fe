#!/usr/bin/env bash
# Two QEMU guests on one bridge (both TAPs afpacket ports, NORMAL
# switching), booted in parallel: they ping each other and exchange 1 MB of
# TCP each way, checked by MD5.  The guests get distinct MACs (derived from
# their names).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../tools/vm/vm-test-lib.sh"

br=${P}two G1=${P}g1 G2=${P}g2 T1=${P}v1 T2=${P}v2
IP1=10.253.73.1 IP2=10.253.73.2

vm_require
vm_start_bg "$G1" "$T1" $IP1/24
vm_start_bg "$G2" "$T2" $IP2/24
start_vswitchd || exit 1
check "add-br" vsctl add-br "$br"
vm_wait "$G1" "$G2" || exit 1
check "add-port guest 1's TAP" vsctl add-port "$br" "$T1" type=afpacket \
    ofport=1 rx-mode=mmsg
check "add-port guest 2's TAP" vsctl add-port "$br" "$T2" type=afpacket \
    ofport=2 rx-mode=mmsg
check "guest 1 -> guest 2 ping" vmx "$G1" "ping -c 3 -W 2 $IP2"
check "guest 2 -> guest 1 ping" vmx "$G2" "ping -c 3 -W 2 $IP1"

vm_tcp() { # FROM TO TO_IP PORT: 1 MB, MD5 compared
    local from=$1 to=$2 ip=$3 port=$4 s1 s2
    vmx "$to" "rm -f /tmp/rx.bin; sleep 25 | nc -l -p $port >/tmp/rx.bin &" ||
        return 1
    sleep 0.5
    s1=$(vmx "$from" "head -c 1000000 /dev/urandom >/tmp/tx.bin &&
        timeout 20 nc $ip $port </tmp/tx.bin && md5sum </tmp/tx.bin") ||
        { echo "sender: $s1"; return 1; }
    s2=$(vmx "$to" "n=0; while pidof nc >/dev/null && [ \$n -lt 100 ]; do
        sleep 0.1; n=\$((n + 1)); done; md5sum </tmp/rx.bin; wc -c </tmp/rx.bin")
    echo "sender: $s1"
    echo "receiver: $s2"
    [ "${s1%% *}" = "${s2%% *}" ]
}
check "guest 1 -> guest 2 tcp (1 MB)" vm_tcp "$G1" "$G2" $IP2 5501
check "guest 2 -> guest 1 tcp (1 MB)" vm_tcp "$G2" "$G1" $IP1 5502
mac1=$(vmx "$G1" "cat /sys/class/net/eth0/address")
mac2=$(vmx "$G2" "cat /sys/class/net/eth0/address")
check "the guests have distinct MACs ($mac1, $mac2)" \
    test -n "$mac1" -a -n "$mac2" -a "$mac1" != "$mac2"
