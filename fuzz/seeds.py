#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/TARGET/ (fuzz/README.md).

Frames come from fuzz/capture.pcap (real traffic: fuzz/capture.sh records busybox udhcpc, dig,
ping, busybox tftp, tftp-hpa, curl and arping against netdevd's user netdev) and are cut into
the record format each harness reads; hand-made seeds add the cases the tools never send
(libslirp's CVE classes: short ARP/BOOTP/TFTP/UDP packets, TCP urgent data, odd fragments).
Re-running rewrites the corpora deterministically.
"""
import os
import shutil
import struct
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")
GW_MAC = bytes.fromhex("52550a000202")
GUEST_MAC = bytes.fromhex("525400123456")


def record(control, data):
    return bytes([control]) + struct.pack(">H", len(data)) + data


def frames(path):
    d = open(path, "rb").read()
    off = 24
    while off < len(d):
        _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl


class Frame:
    def __init__(self, raw):
        self.raw = raw
        self.from_gw = raw[6:12] == GW_MAC
        self.ethertype = struct.unpack(">H", raw[12:14])[0]
        self.ip = self.l4 = None
        self.proto = self.sport = self.dport = None
        self.fragment = False
        if self.ethertype == 0x0800:
            ip = raw[14:]
            ihl = (ip[0] & 15) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            self.ip = ip[:total]
            self.proto = ip[9]
            self.fragment = (struct.unpack(">H", ip[6:8])[0] & 0x3FFF) != 0
            self.l4 = ip[ihl:total]
            if self.proto in (6, 17) and not self.fragment:
                self.sport, self.dport = struct.unpack(">HH", self.l4[:4])

    @property
    def payload(self):
        if self.proto == 17:
            return self.l4[8:]
        if self.proto == 6:
            return self.l4[(self.l4[12] >> 4) * 4:]
        return b""


# The targets written so far: each one's folder is emptied before its first seed, and only those,
# since other corpora are not made here (vhost-user, personality-argv, slirp4netns-api, and
# pasta-procnet's real /proc/net tables).
_written = set()


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    if target not in _written:
        shutil.rmtree(d, ignore_errors=True)
        _written.add(target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def udp_l4(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(src, dst, proto, l4, ident=0x1234, flags_offset=0, ihl=5, options=b""):
    total = ihl * 4 + len(l4)
    h = struct.pack(">BBHHHBB", 0x40 | ihl, 0, total, ident, flags_offset, 64, proto) + b"\0\0" + bytes(src) + bytes(dst)
    return h + options + l4


def eth(dst, ethertype, payload):
    return dst + GUEST_MAC + struct.pack(">H", ethertype) + payload


GUEST, GW, DNS, OUT = [10, 0, 2, 15], [10, 0, 2, 2], [10, 0, 2, 3], [192, 0, 2, 7]


def tcp_l4(sport, dport, seq, ack, flags, window=65535, options=b"", payload=b"", urgent=0):
    off = (20 + len(options)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, urgent) + options + payload


def ipv6(src, dst, nh, payload, hop=64):
    """An IPv6 datagram; the harness repairs the upper-layer checksum (zero here)."""
    return struct.pack(">IHBB", 0x60000000, len(payload), nh, hop) + bytes.fromhex(src) + bytes.fromhex(dst) + payload


G6, G6LL, GW6, GW6LL, DNS6 = ("fec0000000000000505400fffe123456", "fe80000000000000505400fffe123456",
                              "fec00000000000000000000000000002", "fe800000000000000000000000000002",
                              "fec00000000000000000000000000003")
ALLNODES, ALLROUTERS, DHCP6 = "ff020000000000000000000000000001", "ff020000000000000000000000000002", "ff020000000000000000000000010002"
OUT6 = "20010db8000000000000000000000001"


def user_ipv6_seeds():
    """user-ipv6: what a Linux guest sends (RS, NS, DAD, NA, MLD, echo, DHCPv6) and the edge cases of the header chain."""
    def sol(addr):
        return "ff0200000000000000000001ff" + addr[-6:]

    sll = bytes([1, 1]) + GUEST_MAC
    echo = bytes([128, 0, 0, 0, 0, 0x42, 0, 1]) + bytes(range(56))
    ns = lambda target, opt=sll: bytes([135, 0, 0, 0, 0, 0, 0, 0]) + bytes.fromhex(target) + opt
    write("user-ipv6", "rs", record(0, ipv6(G6LL, ALLROUTERS, 58, bytes([133, 0, 0, 0, 0, 0, 0, 0]) + sll, 255)))
    write("user-ipv6", "rs-unspecified", record(0, ipv6("00" * 16, ALLROUTERS, 58, bytes([133, 0, 0, 0, 0, 0, 0, 0]), 255)))
    write("user-ipv6", "ns-gateway", record(0, ipv6(G6LL, sol(GW6), 58, ns(GW6), 255)) + record(0, ipv6(G6, sol(GW6LL), 58, ns(GW6LL), 255)))
    write("user-ipv6", "ns-dns", record(0, ipv6(G6LL, sol(DNS6), 58, ns(DNS6), 255)))
    write("user-ipv6", "dad", record(0, ipv6("00" * 16, sol(G6), 58, ns(G6, b""), 255)) + record(0, ipv6("00" * 16, sol(GW6), 58, ns(GW6, b""), 255)))
    write("user-ipv6", "na-unsolicited", record(0, ipv6(G6, ALLNODES, 58, bytes([136, 0, 0, 0, 0x20, 0, 0, 0]) + bytes.fromhex(G6) + bytes([2, 1]) + GUEST_MAC, 255)))
    write("user-ipv6", "ns-zero-option", record(0, ipv6(G6LL, sol(GW6), 58, ns(GW6, bytes([1, 0]) + GUEST_MAC), 255)))
    write("user-ipv6", "mld-report", record(0, ipv6(G6LL, "ff020000000000000000000000000016", 0, bytes.fromhex("3a00050200000100") + bytes([143, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0]) + bytes.fromhex(sol(G6)), 1)))
    write("user-ipv6", "echo-gateway", record(0, ipv6(G6, GW6, 58, echo)) + record(0, ipv6(G6, GW6LL, 58, echo)) + record(0, ipv6(G6, DNS6, 58, echo)))
    write("user-ipv6", "echo-outside", record(0, ipv6(G6, OUT6, 58, echo)) + record(0x20, bytes([129, 0, 0, 0, 0x99, 0x99, 0, 1]) + bytes(56)) + record(0x0D, b""))
    write("user-ipv6", "echo-unroutable", record(0x40, ipv6(G6, OUT6, 58, echo)))
    info = bytes.fromhex("0b123456" + "0001000a00030001525400123456" + "000600040017 0018".replace(" ", "") + "000800020000")
    write("user-ipv6", "dhcpv6-information-request", record(0, ipv6(G6LL, DHCP6, 17, struct.pack(">HHHH", 546, 547, 8 + len(info), 0) + info, 1)))
    write("user-ipv6", "dhcpv6-solicit", record(0, ipv6(G6LL, DHCP6, 17, struct.pack(">HHHH", 546, 547, 8 + 18, 0) + bytes.fromhex("01123456" + "0001000a00030001525400123456"), 1)))
    big = bytes([128, 0, 0, 0, 0, 7, 0, 1]) + bytes(i & 0xFF for i in range(2000))
    frags = [struct.pack(">BBHI", 58, 0, off | (1 if off + 1000 < len(big) else 0), 0xABCD) + big[off:off + 1000] for off in range(0, len(big), 1000)]
    write("user-ipv6", "fragments", b"".join(record(0, ipv6(G6, GW6, 44, f)) for f in frags))
    write("user-ipv6", "fragments-reversed", b"".join(record(0, ipv6(G6, GW6, 44, f)) for f in reversed(frags)))
    write("user-ipv6", "fragment-atomic", record(0, ipv6(G6, GW6, 44, struct.pack(">BBHI", 58, 0, 0, 5) + echo)))
    write("user-ipv6", "ext-hbh-dst", record(0, ipv6(G6, GW6, 0, bytes.fromhex("3c00050200000100") + bytes.fromhex("3a00010400000000") + echo)))
    write("user-ipv6", "ext-unknown-option", record(0, ipv6(G6, GW6, 60, bytes.fromhex("3a00830200000100") + echo)) + record(0, ipv6(G6, GW6, 60, bytes.fromhex("3a00c30200000100") + echo)))
    write("user-ipv6", "ext-routing", record(0, ipv6(G6, GW6, 43, bytes.fromhex("3a02000100000000") + bytes(16) + echo)))
    write("user-ipv6", "ext-hbh-late", record(0, ipv6(G6, GW6, 60, bytes.fromhex("0000010400000000") + bytes.fromhex("3a00010400000000") + echo)))
    write("user-ipv6", "ext-long-chain", record(0, ipv6(G6, GW6, 60, bytes.fromhex("3c00010400000000") * 30 + bytes.fromhex("3a00010400000000") + echo)))
    write("user-ipv6", "unknown-next-header", record(0, ipv6(G6, GW6, 253, bytes(16))))
    ra = bytes([134, 0, 0, 0, 64, 0, 0x07, 0x08]) + bytes(8) + bytes([1, 1]) + bytes.fromhex("525600000002") + bytes.fromhex("05010000000005dc") + \
        bytes([3, 4, 64, 0xC0]) + struct.pack(">II", 86400, 14400) + bytes(4) + bytes.fromhex("fec0" + "00" * 14) + \
        bytes([25, 3, 0, 0]) + struct.pack(">I", 1200) + bytes.fromhex(DNS6) + bytes([31, 2, 0, 0]) + struct.pack(">I", 1200) + b"\x01a\x04test\x00" + bytes(1)
    write("wire", "ipv6-ra", eth(bytes.fromhex("333300000001"), 0x86DD, ipv6(GW6LL, ALLNODES, 58, ra, 255)))
    write("wire", "ipv6-ns", eth(bytes.fromhex("3333ff000002"), 0x86DD, ipv6(G6LL, sol(GW6), 58, ns(GW6), 255)))
    write("wire", "ipv6-ext-chain", eth(GW_MAC, 0x86DD, ipv6(G6, GW6, 0, bytes.fromhex("3c00050200000100") + bytes.fromhex("2c00010400000000") + struct.pack(">BBHI", 58, 0, 1, 9) + echo)))
    # Action 3: ICMPv6 errors the flow's host socket hears (origin, type, code, flags, port, quoted payload).
    write("user-ipv6", "udp-errors", record(0, ipv6(G6, GW6, 17, udp_l4(5001, 6000, b"hello"))) +
          record(0x60, bytes([3, 1, 4, 3]) + struct.pack(">H", 6000) + b"hello") +
          record(0x60, bytes([3, 1, 3, 0, 0, 9]) + bytes(2000)) +
          record(0x60, bytes([3, 2, 0, 2, 0, 9]) + bytes(1300)) +
          record(0x60, bytes([2, 3, 3, 1, 0, 9]) + b"x"))
    write("user-ipv6", "echo-errors", record(0, ipv6(G6, OUT6, 58, echo)) +
          record(0x60, bytes([3, 1, 0, 6, 0, 0]) + bytes([128, 0, 0, 0, 0, 0x42, 0, 1]) + bytes(range(56))) +
          record(0x60, bytes([3, 1, 3, 4, 0, 0]) + bytes(2000)) +
          record(0x60, bytes([3, 2, 0, 6, 0, 0]) + bytes(8)))
    write("user-ipv6", "periodic-ra", record(0, ipv6(G6LL, ALLROUTERS, 58, bytes([133, 0, 0, 0, 0, 0, 0, 0]) + sll, 255)) + record(0x0E, b"") + record(0x0E, b""))


def user_dhcpv6_seeds():
    """user-dhcpv6: what ISC dhclient -6 sends for an address (Solicit, Request, Renew, Rebind, Confirm), and the hostile cases."""
    cid = "0001000e00010001" + "2c6e1a07" + GUEST_MAC.hex()
    sid = "0002000a00030001525600000002"
    oro = "000600040017" + "0018"
    ia = lambda addr: "00030028" + "0000abcd0000000000000000" + "00050018" + addr + "0000000000000000"
    leased = "fec00000000000000000000000000015"
    m = lambda hexstr: bytes.fromhex(hexstr)
    write("user-dhcpv6", "dhclient-exchange",
          record(0, m("01aa0001" + cid + "0003000c0000abcd0000000000000000" + oro + "000800020000"))
          + record(0, m("03aa0002" + cid + sid + ia(leased) + oro))
          + record(0x0E, m("05aa0003" + cid + sid + ia(leased) + oro))
          + record(0x2E, m("06aa0004" + cid + ia(leased) + oro)))
    write("user-dhcpv6", "confirm", record(0, m("04aa0005" + cid + ia(leased))) + record(0, m("04aa0006" + cid + ia("fd00" + "00" * 13 + "99"))))
    write("user-dhcpv6", "not-on-link", record(0, m("03aa0007" + cid + sid + ia("fd00" + "00" * 13 + "99"))) + record(0, m("04aa0008" + cid + "00040020" + "00000001" + "00050018" + leased + "00" * 8)))
    write("user-dhcpv6", "information-request", record(0x20, m("0baa0009" + cid + oro)))
    write("user-dhcpv6", "server-id-checks", record(0, m("01aa000a" + cid + sid)) + record(0, m("03aa000b" + cid + ia(leased)))
          + record(0, m("05aa000c" + cid + "0002000a00030001525600000003" + ia(leased))) + record(0, m("06aa000d" + cid + sid + ia(leased))))
    write("user-dhcpv6", "malformed", record(0, m("01aa000e" + cid + cid)) + record(0, m("01aa000f" + "0003000c0000abcd")) + record(0, m("01aa0010" + cid + "000300080000abcd00000000"))
          + record(0, m("04aa0011" + cid + "0003001c0000abcd0000000000000000" + "0005000c" + leased[:24])) + record(0, m("01aa0012" + cid + "0006000300170018"[:14]))
          + record(0, m("01aa")) + record(0, m("01aa0013" + "00010083" + "0003" + "00" * 129)))


def main():
    pcap = os.path.join(ROOT, "capture.pcap")
    captured = [Frame(f) for f in frames(pcap)]
    guest = [f for f in captured if not f.from_gw]

    # --- user-frames: the guest's frames per protocol, whole.
    groups = {
        "arp": [f for f in guest if f.ethertype == 0x0806],
        "dhcp": [f for f in guest if f.dport == 67],
        "icmp": [f for f in guest if f.proto == 1][:5],
        "dns": [f for f in guest if f.dport == 53],
        "tftp": [f for f in guest if f.dport == 69],
        "tcp": [f for f in guest if f.proto == 6][:10],
        "ipv6": [f for f in guest if f.ethertype == 0x86DD],
    }
    for name, fs in groups.items():
        write("user-frames", name, b"".join(record(0, f.raw) for f in fs))
    write("user-frames", "mixed-timers", b"".join(record(i % 16, f.raw) for i, f in enumerate(guest[:16] if len(guest) > 16 else guest)))
    write("user-frames", "raw-checksums", b"".join(record(0x10, f.raw) for f in guest[:6]))
    # Action 6: ICMP errors the flow's host socket hears (origin, type, code, flags, port, quoted payload).
    write("user-frames", "udp-errors", record(0, eth(GW_MAC, 0x0800, ipv4(GUEST, GW, 17, udp_l4(5001, 6000, b"hello")))) +
          record(0xC0, bytes([2, 3, 3, 3]) + struct.pack(">H", 6000) + b"hello") +
          record(0xC0, bytes([2, 3, 0, 2, 0, 9]) + bytes(1400)) +
          record(0xC0, bytes([2, 3, 4, 0, 0, 9]) + bytes(600)) +
          record(0xC0, bytes([1, 0, 0, 0, 0, 9])) +
          record(0xC0, bytes([2, 11, 0, 2, 0, 9]) + b"x"))
    echo4 = bytes([8, 0, 0, 0, 0x43, 0x21, 0, 1]) + bytes(range(56))
    write("user-frames", "echo-errors", record(0, eth(GW_MAC, 0x0800, ipv4(GUEST, OUT, 1, bytes([8, 0, 0, 0, 0, 0x42, 0, 1]) + bytes(range(56))))) +
          record(0xC0, bytes([2, 3, 1, 6, 0, 0]) + echo4) +
          record(0xC0, bytes([2, 3, 0, 4, 0, 0]) + echo4[:7]) +
          record(0xC0, bytes([2, 3, 13, 4, 0, 0]) + echo4 + bytes(1000)))

    # --- user-arp: ARP bodies (captured), then the short and odd ones (CVE-2020-29129/29130).
    for i, f in enumerate(groups["arp"]):
        write("user-arp", f"captured-{i}", record(0, f.raw[14:42]))
    arp_req = lambda tip, op=1, sha=GUEST_MAC, spa=GUEST: struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + sha + bytes(spa) + b"\0" * 6 + bytes(tip)
    write("user-arp", "dns-and-unknown", record(0, arp_req(DNS)) + record(0x20, arp_req([10, 0, 2, 77])) + record(0, arp_req(OUT)))
    write("user-arp", "reply-and-gratuitous", record(0, arp_req(GW, op=2)) + record(0, arp_req(GUEST, spa=GUEST)))
    write("user-arp", "short", record(0, arp_req(GW)[:10]) + record(0, b"") + record(0, arp_req(GW)[:27]))
    write("user-arp", "bad-lengths", record(0, struct.pack(">HHBBH", 1, 0x0800, 16, 16, 1) + b"\1" * 64))

    # --- user-dhcp: BOOTP payloads (captured discover/request), then hand-made messages.
    for i, f in enumerate(groups["dhcp"]):
        write("user-dhcp", f"captured-{i}", record(0, f.payload))
    write("user-dhcp", "captured-exchange", b"".join(record(0, f.payload) for f in groups["dhcp"]))
    base = bytearray(groups["dhcp"][0].payload) if groups["dhcp"] else bytearray(300)

    def dhcp(msgtype, opts=b"", ciaddr=b"\0\0\0\0"):
        m = bytearray(base[:240])
        m[12:16] = ciaddr
        return bytes(m) + bytes([53, 1, msgtype]) + opts + b"\xff"
    write("user-dhcp", "inform-release-decline", record(0x20, dhcp(8, ciaddr=bytes(GUEST))) + record(0x20, dhcp(7, ciaddr=bytes(GUEST))) + record(0, dhcp(4, bytes([50, 4]) + bytes(GUEST))))
    write("user-dhcp", "request-other-address", record(0, dhcp(3, bytes([50, 4, 10, 0, 2, 99, 54, 4]) + bytes(GW))))
    write("user-dhcp", "bootp-no-cookie", record(0, bytes(base[:236]) + b"\0" * 64))
    write("user-dhcp", "short", record(0, bytes(base[:100])) + record(0, bytes(base[:240])) + record(0, bytes(base[:241])))
    write("user-dhcp", "options-odd", record(0, dhcp(1, bytes([0, 0, 55, 0, 61, 255]) + b"x" * 20)) + record(0, dhcp(1, bytes([52, 1, 3, 55, 3, 1, 3, 6]))))
    write("user-dhcp", "lease-expiry", record(0, dhcp(1)) + record(0x0E, dhcp(3, bytes([50, 4, 10, 0, 2, 15]))) + record(0x0F, dhcp(1)))

    # --- user-dns: each query, then its answer from the resolver (action 1: id patched).
    qs = [f for f in guest if f.dport == 53]
    answers = [f for f in captured if f.from_gw and f.sport == 53]
    for i, q in enumerate(qs):
        data = record(0, q.payload)
        if i < len(answers):
            data += record(0x20, answers[i].payload)
        write("user-dns", f"captured-{i}", data)
    name = b"\x05files\x07netdevd\x04test\x00"
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
    write("user-dns", "spliced-answer", record(0, query) + record(0x40, struct.pack(">HHHHHH", 0, 0x8180, 1, 1, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x02\x02"))
    write("user-dns", "pointer-loop", record(0, struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"))
    write("user-dns", "short-and-empty", record(0, b"\x12") + record(0, b"") + record(0, query[:12]) + record(1, query[:20]))
    write("user-dns", "timeout-then-late-answer", record(0, query) + record(0x29, query))
    # Action 3: ICMP errors for the forwarded query (bit 0: quoting its own first bytes, so the
    # attempt fails and the next goes at once; else the record with the id in front), then an
    # answer; action 4: the host refuses sends (no route), then accepts them again.
    write("user-dns", "unreachable-then-answer", record(0, query) + record(0x61, b"x" * 40) + record(0x60, query[2:20]) + record(0x61, b"x" * 8) + record(0x20, query))
    write("user-dns", "host-refuses", record(0x80, b"") + record(0, query) + record(0x80, b"") + record(0, query) + record(0x61, b"x" * 64))

    # --- user-tftp: each session's client datagrams (the session index picks the client port).
    sessions = {}
    for f in guest:
        if f.dport == 69:
            sessions.setdefault(f.sport, []).append(f.payload)
    for i, (port, payloads) in enumerate(sessions.items()):
        write("user-tftp", f"captured-{i}", b"".join(record((i & 3) << 5, p) for p in payloads))

    def rrq(name, mode=b"octet", *opts):
        return b"\x00\x01" + name + b"\0" + mode + b"\0" + b"".join(o + b"\0" for o in opts)
    ack = lambda n: struct.pack(">HH", 4, n)
    write("user-tftp", "options", record(0, rrq(b"boot.bin", b"octet", b"blksize", b"65464", b"tsize", b"0", b"timeout", b"0", b"windowsize", b"4")) + record(0, b"\x00\x06") + record(0, ack(0)) + record(0, ack(1)))
    write("user-tftp", "traversal", record(0, rrq(b"../../etc/passwd")) + record(0x20, rrq(b"/etc/passwd")) + record(0x40, rrq(b"sub/../boot.bin")) + record(0x60, rrq(b"sub/f")))
    write("user-tftp", "short-unterminated", record(0, b"\x00\x01boot.bin") + record(0, b"\x00\x01") + record(0, b"\x00") + record(0, rrq(b"boot.bin")[:-1]))
    write("user-tftp", "wrq-error-data", record(0, b"\x00\x02f\x00octet\x00") + record(0, b"\x00\x05\x00\x01oops\x00") + record(0, b"\x00\x03\x00\x01data"))
    write("user-tftp", "retransmit-timeout", record(0, rrq(b"pxelinux.0")) + record(0x06, b"") + record(0x09, ack(1)) + record(0x0C, ack(2)))
    write("user-tftp", "big-file-wrap", record(0, rrq(b"big")) + b"".join(record(0, ack(n)) for n in (1, 2, 65535, 0, 1)))
    write("user-tftp", "netascii-and-long-name", record(0, rrq(b"boot.bin", b"netascii")) + record(0x20, rrq(b"a" * 600)))

    # --- user-tcp: each captured flow; the guest's acks relative to netdevd's ISN, the host's
    # side as actions (2: the host sends what netdevd sent the guest, 3: the host writes out
    # what it holds, 4: end of stream from the host).
    flows = {}
    for f in captured:
        if f.proto != 6:
            continue
        key = f.dport if f.from_gw else f.sport
        flows.setdefault(key, []).append(f)
    for i, (port, fs) in enumerate(flows.items()):
        iss = None
        data = b""
        for f in fs:
            flags = f.l4[13]
            if f.from_gw:
                if flags & 0x02:
                    iss = struct.unpack(">I", f.l4[4:8])[0]
                if f.payload:
                    data += record(0x40, f.payload)
                if flags & 0x01:
                    data += record(0x80, b"")
                continue
            l4 = bytearray(f.l4)
            if iss is not None:
                struct.pack_into(">I", l4, 8, (struct.unpack(">I", l4[8:12])[0] - iss) & 0xFFFFFFFF)
            refused = f.dport == 1
            data += record(0xC0 if refused and flags & 0x02 else 0, bytes(l4))
            if f.payload:
                data += record(0x60, b"")
        write("user-tcp", f"captured-{i}", data)
    mss = lambda v: struct.pack(">BBH", 2, 4, v)
    syn = tcp_l4(40000, 8080, 1000, 0, 0x02, options=mss(1460) + b"\x01\x03\x03\x0e\x04\x02\x08\x0a" + b"\0" * 8 + b"\x00\x00")
    ack1 = tcp_l4(40000, 8080, 1001, 1, 0x10)
    write("user-tcp", "urgent-data", record(0, syn) + record(0, ack1) + record(0, tcp_l4(40000, 8080, 1001, 1, 0x38, payload=b"U" * 100, urgent=5000)) + record(0, tcp_l4(40000, 8080, 1101, 1, 0x30, payload=b"", urgent=0xFFFF)))
    write("user-tcp", "mss-1", record(0, tcp_l4(40001, 8080, 5, 0, 0x02, options=mss(1))) + record(0, tcp_l4(40001, 8080, 6, 1, 0x10)) + record(0x40, b"h" * 3000) + record(0x03, b""))
    write("user-tcp", "syn-data-fin", record(0, tcp_l4(40002, 8080, 7, 0, 0x03, payload=b"early")) + record(0x20, tcp_l4(40003, 80, 1, 0, 0x02)))
    # Action 6 with foreign ports 3 mod 4: the refused connect carries a router's ICMP error (type
    # from port bits 2-6, code from bits 7-10, sender named when bit 11 is set): a time exceeded
    # (47; 2095 named), net and protocol unreachable (15, 271), fragmentation needed (527, not
    # relayed), a type never relayed (19).
    write("user-tcp", "refused-icmp", b"".join(record(0xC0, tcp_l4(41000 + i, port, 1000 * i, 0, 0x02)) for i, port in enumerate([47, 2095, 15, 271, 527, 19])))
    write("user-tcp", "sack-window-probe", record(0, syn) + record(0, tcp_l4(40000, 8080, 1001, 1, 0x10, window=0, options=b"\x01\x01\x05\x0a" + struct.pack(">II", 100, 200))) + record(0x40, b"x" * 2000) + record(0x08, b"") + record(0x0B, b""))
    write("user-tcp", "rst-and-close", record(0, syn) + record(0, ack1) + record(0, tcp_l4(40000, 8080, 1001, 1, 0x11)) + record(0x80, b"") + record(0, tcp_l4(40000, 8080, 1002, 2, 0x10)) + record(0, tcp_l4(40000, 8080, 1002, 2, 0x04)))
    write("user-tcp", "host-reset", record(0, syn) + record(0, ack1) + record(0x40, b"abc") + record(0xA0, b"") + record(0, tcp_l4(40000, 8080, 1001, 4, 0x10)))
    # A bulk flow whose ring the host fills (action 7) while the guest's window (scale 14) would
    # take more: the ring grows, then grows again with its data wrapped after the guest's ACK.
    write("user-tcp", "ring-growth", record(0, syn) + record(0, ack1) + record(0xE0, b"") + record(0, tcp_l4(40000, 8080, 1001, 100001, 0x10))
          + record(0xE0, b"") + record(0xE0, b"") + record(0, tcp_l4(40000, 8080, 1001, 1048577, 0x04)))
    write("user-tcp", "bad-offsets", record(0, syn[:12] + b"\xf0" + syn[13:]) + record(0, syn[:19]) + record(0, tcp_l4(40004, 8080, 1, 0, 0x02, options=b"\x02\x00\x03\x01")))

    # --- user-frag: the guest's IPv4 datagrams whole (fragments of the big pings among them),
    # then overlapping, reordered and odd fragment sets.
    frag_ips = [f.ip for f in guest if f.fragment]
    write("user-frag", "captured-ping-3000", b"".join(record(0, ip) for ip in frag_ips[:3]))
    write("user-frag", "captured-reversed", b"".join(record(0, ip) for ip in reversed(frag_ips[:3])))
    write("user-frag", "captured-ping-20000-part", b"".join(record(0, ip) for ip in frag_ips[3:5]))
    icmp = b"\x08\x00\x00\x00\x00\x01\x00\x01" + b"p" * 200
    fr = lambda off, data, more, ident=7, ihl=5: ipv4(GUEST, GW, 1, data, ident=ident, flags_offset=(0x2000 if more else 0) | (off // 8), ihl=ihl, options=b"\x01" * ((ihl - 5) * 4))
    write("user-frag", "overlap-duplicate", record(0, fr(0, icmp[:104], True)) + record(0, fr(96, icmp[96:], False)) + record(0, fr(0, icmp[:104], True)))
    write("user-frag", "last-first-gap", record(0, fr(104, icmp[104:], False)) + record(0, fr(8, icmp[8:104], True)) + record(0x0B, fr(0, icmp[:8], True)))
    write("user-frag", "ihl-options", record(0, fr(0, icmp[:104], True, ihl=8)) + record(0, fr(104, icmp[104:], False)))
    write("user-frag", "udp-tcp-fragments", record(0, ipv4(GUEST, OUT, 17, udp_l4(5000, 6000, b"u" * 300)[:160], flags_offset=0x2000, ident=9)) + record(0, ipv4(GUEST, OUT, 17, udp_l4(5000, 6000, b"u" * 300)[160:], flags_offset=20, ident=9)))
    write("user-frag", "many-incomplete", b"".join(record(0, fr(0, icmp[:16], True, ident=100 + i)) for i in range(20)) + record(0, fr(0, icmp[:104], True)) + record(0, fr(104, icmp[104:], False)))

    # --- wire: single frames of both directions, one per file.
    picked = {}
    for f in captured:
        key = (f.from_gw, f.ethertype, f.proto, f.dport if not f.from_gw else f.sport, f.fragment)
        picked.setdefault(key, f.raw)
    for i, raw in enumerate(list(picked.values())[:30]):
        write("wire", f"captured-{i}", raw)
    write("wire", "dns-pointer-loop", eth(GW_MAC, 0x0800, ipv4(GUEST, DNS, 17, udp_l4(1, 53, struct.pack(">HHHHHH", 1, 0x0100, 2, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"))))
    write("wire", "tcp-options-all", eth(GW_MAC, 0x0800, ipv4(GUEST, GW, 6, syn)))
    write("wire", "text-mac", b"52:54:00:12:34:56")
    write("wire", "text-ip", b"10.0.2.15")

    # --- framing: [first byte: read size][second: small buffer] then length-prefixed frames.
    stream = b"".join(struct.pack(">I", len(f.raw)) + f.raw for f in captured[:12])
    write("framing", "captured-1byte-reads", b"\x00\x00" + stream)
    write("framing", "captured-big-reads", b"\xff\x01" + stream)
    write("framing", "zero-length-and-oversize", b"\x03\x00" + struct.pack(">I", 0) + stream[:200] + struct.pack(">I", 0x7FFFFFFF) + b"tail")
    write("framing", "max-frame", b"\x10\x01" + struct.pack(">I", 69632) + b"\0" * 3000)

    # --- dgram / vde / l2tpv3: frames as datagrams.
    frames_rec = lambda fs: b"".join(record(0, f.raw) for f in fs)
    write("dgram", "captured-a", frames_rec(captured[:10]))
    write("dgram", "captured-b", frames_rec(captured[40:45]))
    write("dgram", "oversize", record(0, captured[0].raw) + record(0, b"\0" * 65535) + record(0, captured[1].raw))
    write("dgram", "empty-and-tiny", record(0, b"") + record(0, b"\x01") + record(0, captured[0].raw))
    sun = struct.pack("<H", 1) + b"/tmp/vde.ctl/.01234-00000" + b"\0" * 83
    write("vde", "captured", record(0, sun) + frames_rec(captured[:8]))
    write("vde", "odd-replies", record(0, b"\x01") + frames_rec(captured[8:10]))
    write("vde", "inet-reply", record(0, struct.pack("<H", 2) + struct.pack(">H", 1234) + bytes([127, 0, 0, 1]) + b"\0" * 8))

    def l2tp(sel, udp, cookie, counter, offset, ip4=False, sample=captured[:6]):
        out = bytes([sel])
        for f in sample:
            h = (struct.pack(">I", 0x00030000) + b"\0" * 4 if udp else b"") + struct.pack(">I", 0xDEADBEEF)
            h += {0: b"", 4: struct.pack(">I", 0x89ABCDEF), 8: struct.pack(">Q", 0x89ABCDEF)}[cookie]
            h += struct.pack(">I", 0x40000001) if counter else b""
            h += b"\0" * offset
            d = h + f.raw
            if ip4:
                d = ipv4([127, 0, 0, 1], [127, 0, 0, 1], 115, d)
            out += record(0, d)
        return out
    write("l2tpv3", "udp", l2tp(0, True, 0, False, 0))
    write("l2tpv3", "ip4-raw", l2tp(1, False, 0, False, 0, ip4=True))
    write("l2tpv3", "ip6-cookie32", l2tp(5, False, 4, False, 0))
    write("l2tpv3", "udp-cookie64-counter", l2tp(15, True, 8, True, 0))
    write("l2tpv3", "udp-offset4", l2tp(36, True, 0, False, 4))
    write("l2tpv3", "mismatch-and-short", bytes([0]) + record(0, b"\0" * 8) + record(0, b"\0" * 12 + captured[0].raw) + record(0, b"\x01"))

    # --- virtio-offload: [virtio-net header][frame]: the captured upload's segments plain (the
    # coalescer merges them), with NEEDS_CSUM, and merged into one GSO super-frame.
    vh = lambda flags=0, gso=0, hdr=0, size=0, start=0, off=0: struct.pack("<BBHHHH", flags, gso, hdr, size, start, off)
    upload = [f for f in guest if f.proto == 6 and f.dport == 8080 and len(f.payload) > 100]
    write("virtio-offload", "plain-run", b"".join(record(0, vh() + f.raw) for f in upload))
    write("virtio-offload", "needs-csum", b"".join(record(0, vh(1, 0, 0, 0, 34, 16) + f.raw) for f in upload[:3]))
    if upload:
        first = upload[0]
        hl = 14 + 20 + (first.l4[12] >> 4) * 4
        payload = b"".join(f.payload for f in upload)
        frame = bytearray(first.raw[:hl] + payload)
        struct.pack_into(">H", frame, 16, len(frame) - 14)
        write("virtio-offload", "gso-tcpv4", record(0, vh(1, 1, hl, 1448, 34, 16) + bytes(frame)))
        write("virtio-offload", "gso-tcpv4-small-mss", record(0, vh(1, 0x81, hl, 100, 34, 16) + bytes(frame[:hl + 700])))
        write("virtio-offload", "gso-bad-fields", record(0, vh(1, 1, 9999, 1, 9000, 16) + bytes(frame[:200])) + record(0, vh(1, 4, hl, 500, 34, 16) + bytes(frame[:1200])))
    dnsf = [f for f in guest if f.dport == 53]
    if dnsf:
        write("virtio-offload", "gso-udp-l4", record(0, vh(1, 5, 42, 20, 34, 6) + dnsf[0].raw) + record(0, vh(1, 3, 42, 20, 34, 6) + dnsf[0].raw))

    # --- QMP: a session's bytes (first byte: piece size for qmp-json, negotiated bit for qmp-dispatch).
    sessions = {
        "negotiate": b'{"execute": "qmp_capabilities"}\n{"execute": "query-version", "id": 1}\n',
        "netdevs": b'{"execute":"qmp_capabilities"}\n{"execute":"netdev_add","arguments":{"type":"hubport","id":"p0","hubid":0},"id":"a"}\n'
                   b'{"execute":"netdev_add","arguments":{"type":"hubport","id":"p1","hubid":1,"netdev":"p0"}}\n{"execute":"query-netdevs"}\n'
                   b'{"execute":"set_link","arguments":{"name":"p0","up":false}}\n{"execute":"query-rx-filter","arguments":{"name":"p0"}}\n'
                   b'{"execute":"netdev_del","arguments":{"id":"p0"}}\n{"execute":"announce-self","arguments":{"interfaces":["p1"]}}\n',
        "errors": b'{"execute":"qmp_capabilities"}\n[]\n{"execute":1}\n{"arguments":{}}\n{"execute":"nosuch","id":[1,{"a":null}]}\n'
                  b'{"execute":"netdev_add","arguments":{"type":"user","id":"u"}}\n{"execute":"netdev_add","arguments":{"id":"x"}}\n'
                  b'{"execute":"netdev_del","arguments":{"id":"ghost"}}\n{"execute":"getfd","arguments":{"fdname":"f"}}\n{"execute":"closefd","arguments":{"fdname":"f"}}\n',
        "hostfwd": b'{"execute":"qmp_capabilities"}\n{"execute":"hostfwd-add","arguments":{"netdev":"u0","rule":"tcp::2222-:22"}}\n'
                   b'{"execute":"query-hostfwd","arguments":{"netdev":"u0"}}\n{"execute":"hostfwd-remove","arguments":{"netdev":"u0","rule":"tcp::2222"}}\n',
        "schema": b'{"execute":"qmp_capabilities"}\n{"execute":"query-commands"}\n{"execute":"query-qmp-schema"}\n',
        "lexer": b'{"execute": "qmp_capabilities", "id": \'single\'}\n{"a": "\\u00e9\\ud83d\\ude00\\n", "b": -1.5e300, "c": 18446744073709551615, "d": [true, false, null]}\n'
                 b'{"x": %d}\n\xff\xfe{"unterminated": "\n}}]]\n{"deep": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}\n',
    }
    for i, (name, text) in enumerate(sessions.items()):
        write("qmp-json", name, bytes([[0, 1, 7, 63, 16, 3][i]]) + text)
        write("qmp-dispatch", name, b"\x00" + text)
    write("qmp-dispatch", "pre-negotiated", b"\x01" + b'{"execute":"netdev_add","arguments":{"type":"hubport","id":"h","hubid":2}}\n{"execute":"quit"}\n')
    write("qmp-json", "numbers", b"\x05" + b"[0, -0, 1e1, 1E-1, 9223372036854775807, -9223372036854775808, 9223372036854775808, 0.1, 1.7976931348623157e308, 5e-324]\n")
    write("qmp-json", "strings", b"\x02" + b'["\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u0000", "\xc3\xa9", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\x80"]\n')

    # --- -netdev specs: every spec the tests use (fuzz/netdev-specs.txt), legacy and modern.
    specs = [s for s in open(os.path.join(ROOT, "netdev-specs.txt"), encoding="utf-8").read().splitlines() if s]
    for i, spec in enumerate(specs[::3]):
        spec = spec.encode("utf-8").decode("unicode_escape").encode("utf-8", "surrogatepass") if "\\u" in spec else spec.encode()
        write("netdev-opts", f"test-{i:03}", spec)
    extra = [
        b"user,id=u,net=10.0.3.0/24,host=10.0.3.9,dhcpstart=10.0.3.50,dns=10.0.3.8,restrict=on,hostname=h,domainname=d,dnssearch=a.b,dnssearch=c,tftp=/srv,bootfile=pxe,tftp-server-name=s,hostfwd=tcp:127.0.0.1:2222-10.0.3.50:22,guestfwd=tcp:10.0.3.100:80-cmd:cat",
        b"tap,id=t,ifname=tap%d,script=no,downscript=no,vnet_hdr=on,queues=4,sndbuf=1048576",
        b"socket,id=s,mcast=230.0.0.1:1234,localaddr=127.0.0.1",
        b"vde,id=v,sock=/tmp/vde.ctl,port=3,group=g,mode=0700",
        b"bridge,id=b,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper",
        b'{"type":"stream","id":"s","server":true,"addr":{"type":"inet","host":"127.0.0.1","port":"1234"},"reconnect":5}',
        b'{"type":"dgram","id":"d","local":{"type":"inet","host":"127.0.0.1","port":"0"},"remote":{"type":"unix","path":"/tmp/x"}}',
        b'{"type":"user","id":"u","hostfwd":[{"str":"tcp::1-:2"}],"ipv6-prefixlen":64,"ipv4":true}',
    ]
    for i, spec in enumerate(extra):
        write("netdev-opts", f"extra-{i}", spec)
    keyval = [
        b"stream,id=s,server=on,addr.type=unix,addr.path=/tmp/s",
        b"user,id=u,hostfwd.0.str=tcp::1-:2,hostfwd.1.str=udp::3-:4,dnssearch.0.str=a",
        b"l2tpv3,id=l,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=1,dstport=2,rxcookie=1,txcookie=2,cookie64=on,counter=on,offset=8",
        b"tap,id=t,fds=3:4,vhostfds=5:6,queues=2",
        b"dgram,id=d,local.type=fd,local.str=3",
        b"hubport,id=h,hubid=0x7fffffff",
        b"a.b.c=1,a.b=2",
        b"id=x,type=user,restrict=yes",
    ]
    for i, spec in enumerate(keyval + extra[5:]):
        write("netdev-keyval", f"spec-{i}", spec)
    for i, spec in enumerate(specs[::6]):
        write("netdev-keyval", f"test-{i:03}", spec.encode("utf-8", "ignore") if "\\u" not in spec else b"user,id=x")
    user_ipv6_seeds()
    user_dhcpv6_seeds()
    print("wrote", sum(len(fs) for _, _, fs in os.walk(CORPUS)), "seed files")


if __name__ == "__main__":
    sys.exit(main())
