#!/usr/bin/env python3
"""Generates the pcap files in tests/data/ used by tests/unit/test-flow-pcap.c
and tests/pipeline/test-ct-pcap.c (ct-*.pcap, see write_ct()).

Uses only the Python standard library.  For every packet it also writes
the expected result of flow_extract() + flow_format() (an independent
re-implementation of the Open vSwitch-style flow text), one line per
packet in FILE.expected:

    FLAGS<TAB>FLOW-TEXT

FLAGS is flow_extract()'s return value (1 truncated, 2 malformed) and the
packets are extracted with in_port=1.

Usage: tools/gen-test-pcaps.py [OUTDIR]     (default: tests/data)
       tools/gen-test-pcaps.py --corpus DIR
           writes each frame as one file: a seed corpus for
           tests/fuzz/fuzz-flow-extract
"""

import ipaddress
import os
import struct
import sys

SRC_MAC = "50:54:00:00:00:01"
DST_MAC = "50:54:00:00:00:02"


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return ipaddress.IPv4Address(s).packed


def ip6(s):
    return ipaddress.IPv6Address(s).packed


def eth(payload, ethertype, vlans=()):
    """vlans: list of (tpid, tci) outermost first."""
    hdr = mac(DST_MAC) + mac(SRC_MAC)
    for tpid, tci in vlans:
        hdr += struct.pack("!HH", tpid, tci)
    return hdr + struct.pack("!H", ethertype) + payload


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(payload, proto, src="10.0.0.1", dst="10.0.0.2", tos=0, ttl=64,
         frag=0, options=b""):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos,
                      ihl * 4 + len(payload), 0x1234, frag, ttl, proto, 0,
                      ip4(src), ip4(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(payload, nxt, src="2001:db8::1", dst="2001:db8::2", tc=0,
         label=0, hlim=64):
    vtf = (6 << 28) | (tc << 20) | label
    return struct.pack("!IHBB16s16s", vtf, len(payload), nxt, hlim,
                       ip6(src), ip6(dst)) + payload


def tcp(sport, dport, flags, payload=b""):
    return struct.pack("!HHIIHHHH", sport, dport, 1, 0, (5 << 12) | flags,
                       65535, 0, 0) + payload


def udp(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def sctp(sport, dport):
    return struct.pack("!HHII", sport, dport, 0x11223344, 0) + bytes(16)


def icmp(typ, code, rest=b"\0\0\0\0", payload=b""):
    return struct.pack("!BBH", typ, code, 0) + rest + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac(sha),
                       ip4(spa), mac(tha), ip4(tpa))


def nd(typ, target, opts):
    return struct.pack("!BBHI16s", typ, 0, 0, 0, ip6(target)) + opts


def lla_opt(kind, m):
    return struct.pack("!BB6s", kind, 1, mac(m))


TCP_NAMES = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"]


def tcp_flags_text(flags):
    names = [n for i, n in enumerate(TCP_NAMES) if flags & (1 << i)]
    return "|".join(names) if names else "0"


def l2_text(vlans):
    if vlans:
        tci = vlans[0][1]
        s = "dl_vlan=%d,dl_vlan_pcp=%d," % (tci & 0xFFF, tci >> 13)
        if len(vlans) > 1:
            s += "vlan_tci1=0x%04x," % (vlans[1][1] | 0x1000)
    else:
        s = "vlan_tci=0x0000,"
    return s + "dl_src=%s,dl_dst=%s" % (SRC_MAC, DST_MAC)


def flow_text(proto, vlans, l3, l4=""):
    s = "%s,in_port=1,%s" % (proto, l2_text(vlans)) if proto else \
        "in_port=1,%s" % l2_text(vlans)
    if l3:
        s += "," + l3
    if l4:
        s += "," + l4
    return s


def v4_text(src="10.0.0.1", dst="10.0.0.2", tos=0, ttl=64, frag="no",
            proto=None):
    s = "nw_src=%s,nw_dst=%s," % (src, dst)
    if proto is not None:
        s += "nw_proto=%d," % proto
    return s + "nw_tos=%d,nw_ecn=%d,nw_ttl=%d,nw_frag=%s" % (
        tos & 0xFC, tos & 3, ttl, frag)


def v6_text(src="2001:db8::1", dst="2001:db8::2", tc=0, label=0, hlim=64,
            frag="no"):
    return ("ipv6_src=%s,ipv6_dst=%s,ipv6_label=0x%05x,nw_tos=%d,"
            "nw_ecn=%d,nw_ttl=%d,nw_frag=%s" % (src, dst, label, tc & 0xFC,
                                                tc & 3, hlim, frag))


def samples():
    """Yields (frame, caplen or None, flags, expected text)."""
    # TCP SYN over IPv4.
    yield (eth(ipv4(tcp(40000, 80, 0x002), 6, tos=0x10), 0x0800), None, 0,
           flow_text("tcp", (), v4_text(tos=0x10),
                     "tp_src=40000,tp_dst=80,tcp_flags=syn"))
    # TCP data with padding to 60 bytes (no flags: padding is not L4).
    f = eth(ipv4(tcp(80, 40000, 0x018), 6), 0x0800)
    yield (f + bytes(max(0, 60 - len(f))), None, 0,
           flow_text("tcp", (), v4_text(),
                     "tp_src=80,tp_dst=40000,tcp_flags=psh|ack"))
    # DNS query over UDP in a VLAN.
    vl = ((0x8100, (5 << 13) | 100),)
    yield (eth(ipv4(udp(5353, 53, b"\x12\x34" + bytes(30)), 17), 0x0800,
               vl), None, 0,
           flow_text("udp", vl, v4_text(), "tp_src=5353,tp_dst=53"))
    # QinQ UDP.
    vl = ((0x88a8, 10), (0x8100, (1 << 13) | 20))
    yield (eth(ipv4(udp(1, 2), 17), 0x0800, vl), None, 0,
           flow_text("udp", vl, v4_text(), "tp_src=1,tp_dst=2"))
    # ICMP echo request with IP options (router alert).
    yield (eth(ipv4(icmp(8, 0, b"\0\x01\0\x01", b"ping" * 8), 1,
                    options=b"\x94\x04\0\0"), 0x0800), None, 0,
           flow_text("icmp", (), v4_text(), "icmp_type=8,icmp_code=0"))
    # IPv4 fragments: first and later.
    yield (eth(ipv4(udp(7, 9, bytes(16)), 17, frag=0x2000), 0x0800), None, 0,
           flow_text("udp", (), v4_text(frag="first"), "tp_src=7,tp_dst=9"))
    yield (eth(ipv4(bytes(24), 17, frag=3), 0x0800), None, 0,
           flow_text("udp", (), v4_text(frag="later"), "tp_src=0,tp_dst=0"))
    # GRE (no L4 parse): shorthand "ip" and nw_proto.
    yield (eth(ipv4(bytes(8), 47), 0x0800), None, 0,
           flow_text("ip", (), v4_text(proto=47)))
    # SCTP.
    yield (eth(ipv4(sctp(2905, 2906), 132), 0x0800), None, 0,
           flow_text("sctp", (), v4_text(), "tp_src=2905,tp_dst=2906"))
    # ARP request, padded.
    yield (eth(arp(1, SRC_MAC, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
               + bytes(18), 0x0806), None, 0,
           flow_text("arp", (), "arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,"
                     "arp_sha=%s,arp_tha=00:00:00:00:00:00" % SRC_MAC))
    # IPv6 TCP with hop-by-hop and destination options.
    hbh = struct.pack("!BB", 60, 0) + b"\x05\x02\0\0\x01\0"
    dst = struct.pack("!BB", 6, 0) + b"\x01\x04\0\0\0\0"
    yield (eth(ipv6(hbh + dst + tcp(1234, 443, 0x012), 0, tc=0x2e,
                    label=0xabcde), 0x86dd), None, 0,
           flow_text("tcp6", (), v6_text(tc=0x2e, label=0xabcde),
                     "tp_src=1234,tp_dst=443,tcp_flags=syn|ack"))
    # IPv6 UDP first fragment and a later one.
    frag = struct.pack("!BBHI", 17, 0, 1, 99)
    yield (eth(ipv6(frag + udp(500, 4500, bytes(8)), 44), 0x86dd), None, 0,
           flow_text("udp6", (), v6_text(frag="first"),
                     "tp_src=500,tp_dst=4500"))
    frag = struct.pack("!BBHI", 17, 0, 100 << 3, 99)
    yield (eth(ipv6(frag + bytes(16), 44), 0x86dd), None, 0,
           flow_text("udp6", (), v6_text(frag="later"),
                     "tp_src=0,tp_dst=0"))
    # ICMPv6 echo, NS with SLL, NA with TLL.
    yield (eth(ipv6(icmp(128, 0, b"\0\x07\0\x01", b"abcd"), 58), 0x86dd),
           None, 0,
           flow_text("icmp6", (), v6_text(), "icmp_type=128,icmp_code=0"))
    yield (eth(ipv6(nd(135, "2001:db8::2", lla_opt(1, SRC_MAC)), 58,
                    dst="ff02::1:ff00:2", hlim=255), 0x86dd), None, 0,
           flow_text("icmp6", (), v6_text(dst="ff02::1:ff00:2", hlim=255),
                     "icmp_type=135,icmp_code=0,nd_target=2001:db8::2,"
                     "nd_sll=%s" % SRC_MAC))
    yield (eth(ipv6(nd(136, "2001:db8::2", lla_opt(2, DST_MAC)), 58,
                    src="2001:db8::2", dst="2001:db8::1", hlim=255), 0x86dd),
           None, 0,
           flow_text("icmp6", (), v6_text(src="2001:db8::2",
                                          dst="2001:db8::1", hlim=255),
                     "icmp_type=136,icmp_code=0,nd_target=2001:db8::2,"
                     "nd_tll=%s" % DST_MAC))
    # LLDP: unknown Ethertype.
    yield (eth(bytes(46), 0x88cc), None, 0,
           "in_port=1,%s,dl_type=0x88cc" % l2_text(()))
    # Captured with a small snaplen: the TCP header is cut off.
    yield (eth(ipv4(tcp(1, 2, 0x002, bytes(100)), 6), 0x0800), 40, 1,
           flow_text("tcp", (), v4_text(), "tp_src=0,tp_dst=0,tcp_flags=0"))


def write_pcap(path, records):
    with open(path, "wb") as f:
        # Classic pcap, microsecond timestamps, LINKTYPE_ETHERNET.
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (frame, caplen) in enumerate(records):
            data = frame[:caplen] if caplen is not None else frame
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(data),
                                len(frame)))
            f.write(data)


# ---- Conntrack pipeline captures (tests/pipeline/test-ct-pcap.c) -------
#
# Each scenario is a conversation as a tap between the two bridge ports
# would capture it: frames from CT_MAC1 enter port 1 (the inside), frames
# from CT_MAC2 enter port 2.  ct-NAME.pcap holds the conversation;
# ct-NAME-out1.pcap and ct-NAME-out2.pcap hold what the stateful firewall
# must send out of port 1 and port 2, in order, byte for byte (computed
# here with full checksums, independently of the switch's incremental
# updates).

CT_MAC1 = "02:00:00:00:00:01"
CT_MAC2 = "02:00:00:00:00:02"
SNAT_ADDR = "192.168.0.100"


def ct_eth(payload, from1):
    src, dst = (CT_MAC1, CT_MAC2) if from1 else (CT_MAC2, CT_MAC1)
    return mac(dst) + mac(src) + struct.pack("!H", 0x0800) + payload


def ct_ip(l4, proto, src, dst, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000,
                      64, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + l4


def l4_csum(src, dst, proto, l4, ofs):
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(l4))
    c = csum(pseudo + l4)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return l4[:ofs] + struct.pack("!H", c) + l4[ofs + 2:]


def ct_tcp(src, dst, sport, dport, seq, ack, flags, payload=b"",
           opts=b"", win=64240):
    l4 = struct.pack("!HHIIHHHH", sport, dport, seq & 0xFFFFFFFF,
                     ack & 0xFFFFFFFF, ((5 + len(opts) // 4) << 12) | flags,
                     win, 0, 0) + opts + payload
    return l4_csum(src, dst, 6, l4, 16)


def ct_udp(src, dst, sport, dport, payload, with_csum=True):
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return l4_csum(src, dst, 17, l4, 6) if with_csum else l4


def ct_icmp(typ, ident, seq, payload):
    l4 = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + payload
    return l4[:2] + struct.pack("!H", csum(l4)) + l4[4:]


SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
# MSS 1460, SACK permitted, window scale 7 (as a Linux SYN, less
# timestamps).
SYN_OPTS = b"\x02\x04\x05\xb4\x04\x02\x01\x03\x03\x07\x01\x01"


class Conv:
    """Builds one conversation.  Packets are (from1, proto, src, dst, l4
    builder args) so the SNAT scenario can re-render them translated."""

    def __init__(self):
        self.pkts = []
        self.ident = 0x100

    def add(self, from1, proto, src, dst, make):
        self.ident += 1
        self.pkts.append((from1, proto, src, dst, make, self.ident))

    def tcp_stream(self, c, s, cport, sport, exchange, isn_c=1000,
                   isn_s=5000, client_first=True):
        """Handshake, then 'exchange' [(from_client, bytes)], then a FIN
        from the client, the server's FIN|ACK and the last ACK.
        'client_first': the client (of this TCP stream) is on port 1."""
        cs, ss = isn_c, isn_s
        c1 = client_first

        def seg(from_c, seq, ack, flags, payload=b"", opts=b""):
            src, dst, sp, dp = (c, s, cport, sport) if from_c else \
                (s, c, sport, cport)
            self.add(c1 if from_c else not c1, 6, src, dst,
                     lambda a, b, sp=sp, dp=dp, seq=seq, ack=ack,
                     flags=flags, payload=payload, opts=opts:
                     ct_tcp(a, b, sp, dp, seq, ack, flags, payload, opts))

        seg(True, cs, 0, SYN, opts=SYN_OPTS)
        seg(False, ss, cs + 1, SYN | ACK, opts=SYN_OPTS)
        cs += 1
        ss += 1
        seg(True, cs, ss, ACK)
        for from_c, data in exchange:
            if from_c:
                seg(True, cs, ss, PSH | ACK, data)
                cs += len(data)
                seg(False, ss, cs, ACK)
            else:
                seg(False, ss, cs, PSH | ACK, data)
                ss += len(data)
                seg(True, cs, ss, ACK)
        seg(True, cs, ss, FIN | ACK)
        cs += 1
        seg(False, ss, cs, FIN | ACK)
        ss += 1
        seg(True, cs, ss, ACK)

    def frames(self, xlate=None):
        """[(from1, frame)]; 'xlate'(from1, src, dst) -> (src, dst) renders
        the packet with other addresses (checksums computed afresh)."""
        out = []
        for from1, proto, src, dst, make, ident in self.pkts:
            if xlate:
                src, dst = xlate(from1, src, dst)
            out.append((from1, ct_eth(ct_ip(make(src, dst), proto, src, dst,
                                            ident), from1)))
        return out


def ct_scenarios():
    """Yields (name, conversation frames, expected out1, expected out2)."""
    def passthrough(name, conv):
        fr = conv.frames()
        return (name, fr, [f for d, f in fr if not d],
                [f for d, f in fr if d])

    # TCP: handshake, a request, a two-segment response, FIN both ways.
    cv = Conv()
    cv.tcp_stream("10.0.0.1", "10.0.0.2", 40000, 80,
                  [(True, b"GET / HTTP/1.0\r\n\r\n"),
                   (False, b"HTTP/1.0 200 OK\r\n\r\n"),
                   (False, b"hello, world\n" * 20)])
    yield passthrough("ct-tcp", cv)

    # UDP: three queries and answers.
    cv = Conv()
    for i in range(3):
        q = struct.pack("!H", 0x1000 + i) + b"\x01\x00\x00\x01" + bytes(6)
        cv.add(True, 17, "10.0.0.1", "10.0.0.3",
               lambda a, b, q=q: ct_udp(a, b, 5353, 53, q))
        cv.add(False, 17, "10.0.0.3", "10.0.0.1",
               lambda a, b, q=q: ct_udp(a, b, 53, 5353, q + bytes(16)))
    yield passthrough("ct-udp", cv)

    # ICMP echo, three requests and replies.
    cv = Conv()
    for i in range(1, 4):
        cv.add(True, 1, "10.0.0.1", "10.0.0.2",
               lambda a, b, i=i: ct_icmp(8, 0x4d2, i, b"ping" * 14))
        cv.add(False, 1, "10.0.0.2", "10.0.0.1",
               lambda a, b, i=i: ct_icmp(0, 0x4d2, i, b"ping" * 14))
    yield passthrough("ct-icmp", cv)

    # Unsolicited traffic from port 2: a SYN (and its retransmission), a
    # UDP datagram, an echo request.  Nothing passes, nothing is stored.
    cv = Conv()
    for _ in range(2):
        cv.add(False, 6, "10.0.0.2", "10.0.0.1",
               lambda a, b: ct_tcp(a, b, 33000, 22, 7000, 0, SYN,
                                   opts=SYN_OPTS))
    cv.add(False, 17, "10.0.0.2", "10.0.0.1",
           lambda a, b: ct_udp(a, b, 40000, 161, b"public"))
    cv.add(False, 1, "10.0.0.2", "10.0.0.1",
           lambda a, b: ct_icmp(8, 7, 1, b"x" * 32))
    fr = cv.frames()
    yield ("ct-unsolicited", fr, [], [])

    # FTP, active mode: the client's PORT announces 10.0.0.1:40008; the
    # server opens the data connection from port 20 (from port 2: only
    # +rel lets it in), sends a file and closes; then 226 on control.
    cv = Conv()
    ctl = Conv()
    ctl.tcp_stream("10.0.0.1", "10.0.0.2", 40001, 21,
                   [(False, b"220 ready\r\n"),
                    (True, b"USER anonymous\r\n"),
                    (False, b"331 password\r\n"),
                    (True, b"PASS x\r\n"),
                    (False, b"230 logged in\r\n"),
                    (True, b"PORT 10,0,0,1,156,72\r\n"),
                    (False, b"200 PORT ok\r\n"),
                    (True, b"RETR f\r\n"),
                    (False, b"150 opening data connection\r\n")])
    # Splice the data connection in before the control FIN: the control
    # stream's last four packets are "client ack of 150" and the close.
    data = Conv()
    data.tcp_stream("10.0.0.2", "10.0.0.1", 20, 40008,
                    [(True, b"file contents\n" * 30)], isn_c=9000,
                    isn_s=3000, client_first=False)
    cv.pkts = ctl.pkts[:-3] + data.pkts + ctl.pkts[-3:]
    yield passthrough("ct-ftp", cv)

    # SNAT: 10.0.0.1 leaves as 192.168.0.100 (ports kept).  The capture
    # holds what each side sends; the server answers the NAT address.
    cv = Conv()
    cv.tcp_stream("10.0.0.1", "172.16.0.2", 40002, 80,
                  [(True, b"GET /nat HTTP/1.0\r\n\r\n"),
                   (False, b"HTTP/1.0 204 No Content\r\n\r\n")])
    cv.add(True, 17, "10.0.0.1", "172.16.0.2",
           lambda a, b: ct_udp(a, b, 6000, 7000, b"udp with checksum"))
    cv.add(False, 17, "172.16.0.2", "10.0.0.1",
           lambda a, b: ct_udp(a, b, 7000, 6000, b"answer"))
    cv.add(True, 17, "10.0.0.1", "172.16.0.2",
           lambda a, b: ct_udp(a, b, 6001, 7000, b"no checksum", False))
    cv.add(True, 1, "10.0.0.1", "172.16.0.2",
           lambda a, b: ct_icmp(8, 99, 1, b"nat ping" * 4))
    cv.add(False, 1, "172.16.0.2", "10.0.0.1",
           lambda a, b: ct_icmp(0, 99, 1, b"nat ping" * 4))

    def wire(from1, src, dst):
        # What the server sends: addressed to the NAT address.
        return (src, dst) if from1 else (src, SNAT_ADDR)

    def out(from1, src, dst):
        # What leaves the switch: translated both ways.
        return (SNAT_ADDR, dst) if from1 else (src, "10.0.0.1")

    fr = cv.frames(wire)
    tr = cv.frames(out)
    yield ("ct-snat", fr, [f for d, f in tr if not d],
           [f for d, f in tr if d])


def ct_ftp_snat():
    """FTP through SNAT with alg=ftp: the PORT text 10,0,0,1 becomes
    192,168,0,100 (5 bytes longer), so the server's view of the client's
    sequence numbers is 5 ahead after it.  Built as two consistent
    streams, the client's view and the server's view; the capture holds
    what each side sends, the expected outputs what the other side must
    receive."""
    def exchange(port_text):
        return [(False, b"220 ready\r\n"),
                (True, b"USER anonymous\r\n"),
                (False, b"331 password\r\n"),
                (True, port_text),
                (False, b"200 PORT ok\r\n"),
                (True, b"RETR f\r\n"),
                (False, b"150 opening data connection\r\n")]

    cview, sview = Conv(), Conv()
    cview.tcp_stream("10.0.0.1", "172.16.0.2", 40003, 21,
                     exchange(b"PORT 10,0,0,1,156,72\r\n"))
    sview.tcp_stream("10.0.0.1", "172.16.0.2", 40003, 21,
                     exchange(b"PORT 192,168,0,100,156,72\r\n"))
    data = Conv()
    data.tcp_stream("172.16.0.2", "10.0.0.1", 20, 40008,
                    [(True, b"nat file\n" * 30)], isn_c=9000, isn_s=3000,
                    client_first=False)

    def wire(from1, src, dst):
        return (src, dst) if from1 else (src, SNAT_ADDR) \
            if dst == "10.0.0.1" else (src, dst)

    def out(from1, src, dst):
        return (SNAT_ADDR, dst) if from1 else (src, "10.0.0.1")

    # Input: client frames of the client's view, server frames of the
    # server's view; outputs the other way round.
    cin = [f for f in cview.frames(wire)]
    sin = [f for f in sview.frames(wire)]
    cout = [f for f in cview.frames(out)]
    sout = [f for f in sview.frames(out)]
    ctl_in = [c if c[0] else sv for c, sv in zip(cin, sin)]
    ctl_out = [sv if sv[0] else c for c, sv in zip(cout, sout)]
    din, dout = data.frames(wire), data.frames(out)
    conv = ctl_in[:-3] + din + ctl_in[-3:]
    outs = ctl_out[:-3] + dout + ctl_out[-3:]
    return ("ct-ftp-snat", conv, [f for d, f in outs if not d],
            [f for d, f in outs if d])


def write_ct(outdir):
    for name, conv, out1, out2 in list(ct_scenarios()) + [ct_ftp_snat()]:
        base = os.path.join(outdir, name)
        write_pcap(base + ".pcap", [(f, None) for _, f in conv])
        write_pcap(base + "-out1.pcap", [(f, None) for f in out1])
        write_pcap(base + "-out2.pcap", [(f, None) for f in out2])
        print("wrote %s.pcap (%d packets; out %d/%d)" % (base, len(conv),
                                                          len(out1),
                                                          len(out2)))


def write_corpus(outdir):
    os.makedirs(outdir, exist_ok=True)
    for i, (frame, caplen, _, _) in enumerate(samples()):
        data = frame[:caplen] if caplen is not None else frame
        with open(os.path.join(outdir, "seed-%02d" % i), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (i + 1, outdir))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--corpus":
        write_corpus(sys.argv[2])
        return
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    os.makedirs(outdir, exist_ok=True)
    recs, lines = [], []
    for frame, caplen, flags, text in samples():
        recs.append((frame, caplen))
        lines.append("%d\t%s\n" % (flags, text))
    base = os.path.join(outdir, "flow-mix.pcap")
    write_pcap(base, recs)
    with open(base.replace(".pcap", ".expected"), "w") as f:
        f.writelines(lines)
    print("wrote %s (%d packets)" % (base, len(recs)))
    write_ct(outdir)


if __name__ == "__main__":
    main()
