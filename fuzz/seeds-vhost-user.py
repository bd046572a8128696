#!/usr/bin/env python3
"""Seeds for the vhost-user fuzz targets (fuzz/corpus/vhost-user-session, vhost-user-ring, vhost-user-driver-ring).

vhost-user-session records: [control][u16 BE length][raw message]; control bits 0-1 = number
of descriptors sent with it, bit 2 = memfd (else eventfd), bit 3 = a short memfd, bit 4 = kick.
vhost-user-ring: [size/flags][placement][region bytes]; flags: bit 4 EVENT_IDX, bit 5 packed,
bit 6 the packed base's wrap counter.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
USER = 0x7F0000000000


def msg(req, payload=b"", flags=1):
    return struct.pack("<III", req, flags, len(payload)) + payload


def rec(message, control=0):
    return bytes([control]) + struct.pack(">H", len(message)) + message


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def addr(i, desc, used, avail):
    return struct.pack("<IIQQQQ", i, 0, desc, used, avail, 0)


def table(regions):
    out = struct.pack("<II", len(regions), 0)
    for r in regions:
        out += struct.pack("<QQQQ", *r)
    return out


FEATURES = (1 << 32) | (1 << 15) | (1 << 29) | (1 << 30)


def setup(ring_size=64, region=(0, 0x10000, USER, 0), extra=b""):
    s = rec(msg(1)) + rec(msg(15)) + rec(msg(16, u64((1 << 0) | (1 << 3)))) + rec(msg(3))
    s += rec(msg(2, u64(FEATURES), flags=9))
    s += rec(msg(5, table([region]), flags=9), control=0x5)
    for i in range(2):
        base = USER + i * 0x4000
        s += rec(msg(8, state(i, ring_size), flags=9))
        s += rec(msg(10, state(i, 0), flags=9))
        s += rec(msg(9, addr(i, base, base + 0x2000, base + 0x1000), flags=9))
        s += rec(msg(12, u64(i), flags=9), control=0x1)
        s += rec(msg(13, u64(i), flags=9), control=0x1)
        s += rec(msg(18, state(i, 1), flags=9), control=0x10)
    return s + extra


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


write("vhost-user-session", "qemu-setup", setup())
write("vhost-user-session", "setup-then-stop", setup(extra=rec(msg(11, state(1, 0))) + rec(msg(11, state(0, 0))) + rec(msg(4))))
write("vhost-user-session", "short-memfd", setup(region=(0, 0x10000, USER, 0)).replace(bytes([0x5]), bytes([0xD]), 1))
write("vhost-user-session", "ring-outside", setup(ring_size=4096))
write("vhost-user-session", "rarp", setup(extra=rec(msg(16, u64(0xD))) + rec(msg(19, bytes([0x52, 0x54, 0, 1, 2, 3, 0, 0])))))
write("vhost-user-session", "oversized", rec(msg(1)) + rec(struct.pack("<III", 5, 1, 0x100000)))
write("vhost-user-session", "wrong-fds", rec(msg(12, u64(0)), control=0x2) + rec(msg(5, table([(0, 0x1000, USER, 0)])), control=0x7))


def ring(size_bits, event_idx, placement, chains):
    region = bytearray(0x4000)
    size = 1 << size_bits
    avail = 0x1000
    for n, chain in enumerate(chains):
        for k, (i, length, flags, nxt) in enumerate(chain):
            struct.pack_into("<QIHH", region, 16 * i, 0x10000 + 0x3000 + 64 * i, length, flags, nxt)
        struct.pack_into("<H", region, avail + 4 + 2 * (n % size), chain[0][0])
    struct.pack_into("<H", region, avail + 2, len(chains))
    return bytes([size_bits | (0x10 if event_idx else 0), placement]) + bytes(region)


write("vhost-user-ring", "two-chains", ring(3, False, 0, [[(0, 12, 1, 1), (1, 60, 0, 0)], [(2, 64, 2, 0)]]))
write("vhost-user-ring", "loop", ring(2, True, 0, [[(0, 16, 1, 1), (1, 16, 1, 0)]]))
write("vhost-user-ring", "straddling-used", ring(4, False, 1, [[(0, 16, 0, 0)]]))
write("vhost-user-ring", "misaligned", ring(4, False, 2, [[(0, 16, 0, 0)]]))
write("vhost-user-ring", "indirect-and-wrong-direction", ring(3, True, 0, [[(0, 16, 4, 0)], [(1, 16, 3, 2), (2, 16, 0, 0)]]))


AVAIL, USED = 1 << 7, 1 << 15


def packed_ring(size_bits, event_idx, chains, wrap=True, driver_event=(0, 0)):
    """A packed ring at the region's start: chains of (length, flags, id) in consecutive slots,
    each slot marked available for the driver's wrap counter (flipping past the end)."""
    region = bytearray(0x4000)
    size = 1 << size_bits
    slot, w = 0, wrap
    for chain in chains:
        for k, (length, flags, ident) in enumerate(chain):
            bits = flags | (AVAIL if w else USED)
            struct.pack_into("<QIHH", region, 16 * slot, 0x10000 + 0x3000 + 64 * slot, length, ident, bits)
            slot += 1
            if slot == size:
                slot, w = 0, not w
    struct.pack_into("<HH", region, 0x1000, *driver_event)
    return bytes([size_bits | (0x10 if event_idx else 0) | 0x20 | (0x40 if wrap else 0), 0]) + bytes(region)


write("vhost-user-ring", "packed-two-chains", packed_ring(3, False, [[(12, 1, 0), (60, 0, 0)], [(64, 2, 1)]]))
write("vhost-user-ring", "packed-wrapping-chain", packed_ring(2, True, [[(16, 1, 0), (16, 1, 0), (16, 1, 0), (16, 0, 0)], [(16, 0, 1)]], driver_event=(0x8001, 2)))
write("vhost-user-ring", "packed-all-next", packed_ring(2, False, [[(16, 1, 0)] * 4]))
write("vhost-user-ring", "packed-bad-id-and-indirect", packed_ring(3, True, [[(16, 0, 9)], [(16, 4, 1)]]))
write("vhost-user-ring", "packed-wrong-lap", packed_ring(3, False, [[(16, 0, 0)]], wrap=False)[:1] + bytes([0]) + packed_ring(3, False, [[(16, 0, 0)]])[2:])


def offer(i):
    return bytes([0, i])


def used_entry(slot, ident, length):
    return bytes([1, slot]) + struct.pack("<II", ident, length)


def used_idx(v):
    return bytes([2]) + struct.pack("<H", v)


TAKE, ENABLE, DISABLE = bytes([4]), bytes([5]), bytes([6])

# The front-end's driver ring against a back-end writing its used ring (byte 0: size bits, EVENT_IDX 0x10).
write("vhost-user-driver-ring", "returns-in-order", bytes([3]) + offer(0) + offer(1) + offer(2) + used_entry(0, 1, 64) + used_entry(1, 0, 60) + used_idx(2) + TAKE + offer(1) + used_entry(2, 2, 10) + used_entry(3, 1, 0) + used_idx(4) + TAKE)
write("vhost-user-driver-ring", "returns-one-twice", bytes([3]) + offer(0) + used_entry(0, 0, 64) + used_entry(1, 0, 64) + used_idx(2) + TAKE)
write("vhost-user-driver-ring", "id-out-of-range", bytes([3]) + offer(0) + used_entry(0, 300, 64) + used_idx(1) + TAKE)
write("vhost-user-driver-ring", "index-run-ahead", bytes([2]) + offer(0) + offer(1) + used_entry(0, 0, 1) + used_entry(1, 1, 1) + used_idx(0x8000) + TAKE)
write("vhost-user-driver-ring", "event-idx-notifications", bytes([0x14]) + DISABLE + offer(3) + bytes([3]) + struct.pack("<H", 1) + offer(4) + ENABLE + used_entry(0, 4, 8) + used_idx(1) + ENABLE + TAKE + DISABLE)
