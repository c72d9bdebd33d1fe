#!/usr/bin/env python3
"""Generates the pcap files in tests/data/ used by tests/unit/test-flow-pcap.c.

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


if __name__ == "__main__":
    main()
