#!/usr/bin/env bash
# vsctl capture: packets that pass a port, written as pcap and read back
# with tcpdump -r.  Two namespaces on one bridge (afpacket ports): rx and
# tx captures with --count and --filter compared with what was sent
# (count and bytes), --duration, SIGINT, a bad filter, a missing port,
# the port deleted under a capture, and a tiny buffer under a ping flood
# that drops captures (counted) while forwarding loses nothing.
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || { echo "SKIP: tcpdump missing"; exit 77; }
# Probes every second: a capture is a silent client, which must answer
# them (a capture longer than two intervals checks it).
start_vswitchd --probe-interval=1 || exit 1
A=${P}a B=${P}b BR=${P}br
add_ns "$A"; add_ns "$B"
veth_to_ns "$A" "${P}a0" 10.252.0.1/24
veth_to_ns "$B" "${P}b0" 10.252.0.2/24
check "add-br" vsctl add-br "$BR"
check "add-port a" vsctl add-port "$BR" "${P}a0" type=afpacket
check "add-port b" vsctl add-port "$BR" "${P}b0" type=afpacket
check "warm-up ping" ping_ok "$A" 10.252.0.2

# A capture in the background whose pid is vsctl's own (for kill -INT).
capture_bg() { exec "$VSCTL_BIN" --server="unix:$RUN/ctl" capture "$@"; }
n_started=0
# Waits until the daemon has started the Nth capture of this test.
wait_started() {
    n_started=$((n_started + 1))
    for _ in $(seq 100); do
        [ "$(grep -c 'capture started' "$RUN/log")" -ge "$n_started" ] && return 0
        sleep 0.05
    done
    echo "capture $n_started did not start"; return 1
}
# Frame lengths of FILE, one per line, as tcpdump -r prints them.
lengths() {
    tcpdump -r "$1" -nn -e 2>/dev/null | sed -n 's/.*, length \([0-9]*\): .*/\1/p'
}
expect_eq() { # WHAT GOT WANT
    [ "$2" = "$3" ] || { echo "$1: got '$2', want '$3'"; return 1; }
}

# ---- rx with --count and a filter: 5 echo requests of 142 bytes.
rx_count() {
    vsctl capture "$BR" "${P}a0" "$RUN/rx.pcap" --direction=rx \
        --filter=icmp --count=5 2>"$RUN/rx.err" &
    local pid=$!
    wait_started || return 1
    nsx "$A" ping -c 5 -i 0.1 -s 100 -W 2 10.252.0.2 >/dev/null || return 1
    wait $pid || { cat "$RUN/rx.err"; return 1; }
    cat "$RUN/rx.err"
    grep -qx '5 packets captured, 0 dropped' "$RUN/rx.err" || return 1
    expect_eq "packets" "$(tcpdump -r "$RUN/rx.pcap" -nn 2>/dev/null \
        | grep -c 'ICMP echo request')" 5 || return 1
    expect_eq "lengths" "$(lengths "$RUN/rx.pcap" | sort -u)" 142
}
check "rx capture with --count: 5 echo requests, 142 bytes each" rx_count

# ---- --snaplen: frames cut to 64 bytes, their length on the wire kept.
snaplen() {
    vsctl capture "$BR" "${P}a0" "$RUN/snap.pcap" --direction=rx \
        --filter=icmp --count=3 --snaplen=64 2>"$RUN/snap.err" &
    local pid=$!
    wait_started || return 1
    nsx "$A" ping -c 3 -i 0.1 -s 500 -W 2 10.252.0.2 >/dev/null || return 1
    wait $pid || { cat "$RUN/snap.err"; return 1; }
    tcpdump -r "$RUN/snap.pcap" -nn -e 2>/dev/null | head -3
    expect_eq "frames" "$(tcpdump -r "$RUN/snap.pcap" -nn 2>/dev/null |
        grep -c 'ICMP echo request')" 3 || return 1
    # The file's record headers: captured 64 bytes of 542 on the wire.
    expect_eq "caplen/len" "$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
ofs, out = 24, set()
while ofs + 16 <= len(d):
    _, _, incl, orig = struct.unpack("<IIII", d[ofs:ofs + 16])
    out.add("%d/%d" % (incl, orig)); ofs += 16 + incl
print(" ".join(sorted(out)))' "$RUN/snap.pcap")" "64/542"
}
check "capture --snaplen=64 keeps 64 bytes and the original length" snaplen

# ---- tx with a UDP filter: a burst of known sizes, noise on another port.
send_udp() { # NS DST PORT SIZE...
    local ns=$1 dst=$2 port=$3; shift 3
    nsx "$ns" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in sys.argv[3:]:
    s.sendto(b"x" * int(n), (sys.argv[1], int(sys.argv[2])))
' "$dst" "$port" "$@"
}
tx_filter() {
    local sizes="10 100 200 300 400 500 600 700 800 1400" want got
    vsctl capture "$BR" "${P}b0" "$RUN/tx.pcap" --direction=tx \
        --filter='udp port 5555' --count=10 2>"$RUN/tx.err" &
    local pid=$!
    wait_started || return 1
    send_udp "$A" 10.252.0.2 5556 50 60 70 || return 1
    # shellcheck disable=SC2086
    send_udp "$A" 10.252.0.2 5555 $sizes || return 1
    wait $pid || { cat "$RUN/tx.err"; return 1; }
    cat "$RUN/tx.err"
    grep -qx '10 packets captured, 0 dropped' "$RUN/tx.err" || return 1
    # Frame = payload + 42 bytes of headers; the 10-byte one is padded
    # to 60 by nobody (veth does not pad), so 52.
    want=$(for n in $sizes; do echo $((n + 42)); done | sort -n | tr '\n' ' ')
    got=$(lengths "$RUN/tx.pcap" | sort -n | tr '\n' ' ')
    expect_eq "frame lengths" "$got" "$want" || return 1
    expect_eq "all to port 5555" "$(tcpdump -r "$RUN/tx.pcap" -nn 2>/dev/null \
        | grep -c '10.252.0.2.5555: UDP')" 10 || return 1
    # Bytes: the sum matches what was sent.
    expect_eq "bytes" "$(lengths "$RUN/tx.pcap" | paste -sd+ | bc)" \
        "$(for n in $sizes; do echo $((n + 42)); done | paste -sd+ | bc)"
}
check "tx capture with --filter 'udp port 5555': 10 datagrams, sizes match" \
    tx_filter

# ---- both directions to stdout, read by tcpdump from a pipe.
both_stdout() {
    vsctl capture "$BR" "${P}a0" - --filter=icmp --count=6 \
        2>"$RUN/both.err" >"$RUN/both.pcap" &
    local pid=$!
    wait_started || return 1
    nsx "$A" ping -c 3 -i 0.1 -W 2 10.252.0.2 >/dev/null || return 1
    wait $pid || return 1
    expect_eq "requests" "$(tcpdump -r - -nn <"$RUN/both.pcap" 2>/dev/null \
        | grep -c 'echo request')" 3 || return 1
    expect_eq "replies" "$(tcpdump -r - -nn <"$RUN/both.pcap" 2>/dev/null \
        | grep -c 'echo reply')" 3
}
check "both directions to stdout: 3 requests (rx) and 3 replies (tx)" \
    both_stdout

# ---- --duration stops on time, even with nothing to capture.
duration() {
    local t0 t1
    t0=$(date +%s%N)
    vsctl capture "$BR" "${P}a0" "$RUN/dur.pcap" --duration=3 \
        --filter='udp port 9' 2>"$RUN/dur.err" || return 1
    t1=$(date +%s%N)
    cat "$RUN/dur.err"
    grep -qx '0 packets captured, 0 dropped' "$RUN/dur.err" || return 1
    [ $(( (t1 - t0) / 1000000 )) -ge 2900 ] && [ $(( (t1 - t0) / 1000000 )) -lt 5000 ] || {
        echo "took $(( (t1 - t0) / 1000000 )) ms"; return 1; }
    tcpdump -r "$RUN/dur.pcap" -nn
}
check "--duration=3 stops after 3 s, through the daemon's echo probes" duration
n_started=$((n_started + 1))

# ---- SIGINT stops cleanly, file complete.
sigint() {
    capture_bg "$BR" "${P}b0" "$RUN/int.pcap" --filter=icmp \
        2>"$RUN/int.err" &
    local pid=$!
    wait_started || return 1
    nsx "$A" ping -c 4 -i 0.1 -W 2 10.252.0.2 >/dev/null || return 1
    sleep 0.2
    kill -INT $pid
    wait $pid || { cat "$RUN/int.err"; return 1; }
    cat "$RUN/int.err"
    grep -qx '8 packets captured, 0 dropped' "$RUN/int.err" || return 1
    expect_eq "packets in file" "$(tcpdump -r "$RUN/int.pcap" -nn 2>/dev/null \
        | wc -l)" 8
}
check "SIGINT stops the capture and flushes the file" sigint

# ---- errors.
bad_filter() {
    if vsctl capture "$BR" "${P}a0" "$RUN/bad.pcap" --filter='udp prot 5' \
        2>"$RUN/bad.err"; then return 1; fi
    cat "$RUN/bad.err"
    grep -q "bad filter 'udp prot 5'" "$RUN/bad.err"
}
check "a bad filter is a clear error" bad_filter
no_port() {
    if vsctl capture "$BR" nosuch "$RUN/np.pcap" 2>"$RUN/np.err"; then
        return 1; fi
    cat "$RUN/np.err"
    grep -q "no port named 'nosuch'" "$RUN/np.err"
}
check "capture on a missing port is an error" no_port
no_bridge() {
    if vsctl capture nobr "${P}a0" "$RUN/nb.pcap" 2>"$RUN/nb.err"; then
        return 1; fi
    grep -q "no bridge named 'nobr'" "$RUN/nb.err"
}
check "capture on a missing bridge is an error" no_bridge

# ---- drops: a 4 kB buffer under a ping flood.  Captures are dropped and
# counted; the flood itself loses nothing.
drops() {
    capture_bg "$BR" "${P}b0" "$RUN/drop.pcap" --buffer-size=4 \
        --filter=icmp 2>"$RUN/drop.err" &
    local pid=$!
    wait_started || return 1
    nsx "$A" ping -f -c 3000 -s 1000 -W 2 10.252.0.2 >"$RUN/ping.out" 2>&1
    local rc=$?
    sleep 0.2
    kill -INT $pid
    wait $pid || return 1
    cat "$RUN/drop.err"; tail -2 "$RUN/ping.out"
    [ $rc -eq 0 ] || return 1
    grep -q '3000 packets transmitted, 3000 received, 0% packet loss' \
        "$RUN/ping.out" || return 1
    local cap drop
    cap=$(sed -n 's/^\([0-9]*\) packets captured, \([0-9]*\) dropped$/\1/p' "$RUN/drop.err")
    drop=$(sed -n 's/^\([0-9]*\) packets captured, \([0-9]*\) dropped$/\2/p' "$RUN/drop.err")
    [ -n "$drop" ] && [ "$drop" -gt 0 ] || return 1
    # Every packet was either captured or counted as dropped.
    expect_eq "captured + dropped" $((cap + drop)) 6000 || return 1
    expect_eq "file" "$(tcpdump -r "$RUN/drop.pcap" -nn 2>/dev/null | wc -l)" "$cap"
}
check "tiny buffer: drops counted, forwarding loses nothing" drops

# ---- TCP with offloads (64 KB segments through AF_PACKET's virtio-net
# header) while both ports are captured: the transfer is intact and the
# files read back; large frames are kept as the one frame they are.
tcp_under_capture() {
    capture_bg "$BR" "${P}a0" "$RUN/tcp-a.pcap" --direction=rx \
        --filter='tcp port 5201' 2>"$RUN/tcp-a.err" &
    local pa=$!
    wait_started || return 1
    capture_bg "$BR" "${P}b0" "$RUN/tcp-b.pcap" --direction=tx \
        --filter='tcp port 5201' 2>"$RUN/tcp-b.err" &
    local pb=$!
    wait_started || return 1
    tcp_ok "$A" "$B" 10.252.0.2 5201 || return 1
    sleep 0.2
    kill -INT $pa $pb
    wait $pa && wait $pb || return 1
    cat "$RUN/tcp-a.err" "$RUN/tcp-b.err"
    local n
    n=$(tcpdump -r "$RUN/tcp-a.pcap" -nn 2>/dev/null | wc -l)
    [ "$n" -gt 10 ] || { echo "only $n packets"; return 1; }
    grep -q "^$n packets captured" "$RUN/tcp-a.err" || return 1
    tcpdump -r "$RUN/tcp-b.pcap" -nn >/dev/null
}
check "capture during a 4 MB TCP transfer: transfer intact, files readable" \
    tcp_under_capture

# ---- the port goes away under a capture.
port_gone() {
    vsctl capture "$BR" "${P}b0" "$RUN/gone.pcap" 2>"$RUN/gone.err" &
    local pid=$!
    wait_started || return 1
    vsctl del-port "$BR" "${P}b0" || return 1
    if wait $pid; then return 1; fi
    cat "$RUN/gone.err"
    grep -q "port '${P}b0' was deleted" "$RUN/gone.err"
}
check "deleting the port ends its capture" port_gone
