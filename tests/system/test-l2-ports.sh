#!/usr/bin/env bash
# Two namespaces joined by one bridge with the default NORMAL flow: ping
# and a TCP transfer through each port type (afxdp, afpacket, tap, and the
# bridge's internal port).
. "$(dirname "$0")/lib.sh"

start_vswitchd || exit 1
A=${P}a B=${P}b
add_ns "$A"; add_ns "$B"

one_type() { # TYPE
    local t=$1 br=${P}br
    check "$t: add-br" vsctl add-br "$br"
    case $t in
    tap)
        check "$t: add-port a" vsctl add-port "$br" "${P}ta" type=tap
        check "$t: add-port b" vsctl add-port "$br" "${P}tb" type=tap
        tap_to_ns "$A" "${P}ta" 10.251.0.1/24
        tap_to_ns "$B" "${P}tb" 10.251.0.2/24 ;;
    internal)
        veth_to_ns "$A" "${P}a0" 10.251.0.1/24
        check "$t: add-port a" vsctl add-port "$br" "${P}a0" type=afpacket
        # The bridge's own port, moved into B: the host stack of a namespace.
        tap_to_ns "$B" "$br" 10.251.0.2/24 ;;
    *)
        veth_to_ns "$A" "${P}a0" 10.251.0.1/24
        veth_to_ns "$B" "${P}b0" 10.251.0.2/24
        if [ "$t" = afxdp ]; then tx_csum_off "$A"; tx_csum_off "$B"; fi
        check "$t: add-port a" vsctl add-port "$br" "${P}a0" type="$t"
        check "$t: add-port b" vsctl add-port "$br" "${P}b0" type="$t" ;;
    esac
    check "$t: ping a->b" ping_ok "$A" 10.251.0.2
    check "$t: ping b->a" ping_ok "$B" 10.251.0.1
    check "$t: tcp 4 MB a->b" tcp_ok "$A" "$B" 10.251.0.2
    check "$t: iperf3 a->b" iperf_ok "$A" "$B" 10.251.0.2 1
    check "$t: dump-flows shows traffic" \
        sh -c "$VSCTL_BIN --server=unix:$RUN/ctl dump-flows $br | grep -q 'n_packets=[1-9]'"
    check "$t: del-br" vsctl del-br "$br"
    # Leave the namespaces clean for the next type.
    ip -n "$A" link del eth0 2>/dev/null; ip -n "$B" link del eth0 2>/dev/null
    ip link del "${P}a0" 2>/dev/null; ip link del "${P}b0" 2>/dev/null
    true
}

for t in afpacket afxdp tap internal; do one_type "$t"; done
