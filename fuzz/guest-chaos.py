#!/usr/bin/env python3
"""A hostile guest against a real user netdev, with real host sockets (the fuzz targets fake them).
netdevd runs in namespace H (only lo: nothing leaves it), its tap in namespace G; random and
mutated frames (ARP, TCP with odd flags and options, UDP, DNS, DHCP, TFTP, ICMP, fragments, IPv6)
are written on the tap from G through AF_PACKET while real clients in G talk to echo, sink, close
and reset servers on H's loopback. Every 10 s it prints the daemon's memory, threads, descriptors
and each netdev's fault count; at the end, the log lines that name a fault. Root; Debian's busybox.
usage: fuzz/guest-chaos.py NETDEVD_BINARY SECONDS SEED"""
import json, os, random, shutil, socket, struct, subprocess, sys, time, tempfile, signal

BIN, SECS, SEED = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(SEED)
H, G, TAP = f"ndgcH{SEED}", f"ndgcG{SEED}", f"ndgct{SEED}"
tmp = tempfile.mkdtemp(prefix="nd-gc-")
def sh(*a, check=True): return subprocess.run(list(a), check=check, capture_output=True, text=True)
for ns in (H, G):
    sh("ip", "netns", "add", ns); sh("ip", "-n", ns, "link", "set", "lo", "up")
os.makedirs(f"{tmp}/tftp"); open(f"{tmp}/tftp/f", "wb").write(os.urandom(100000))
qmp_path = f"{tmp}/q.sock"
log = open(f"{tmp}/daemon.log", "w")
d = subprocess.Popen(["ip", "netns", "exec", H, BIN, "--qmp", f"unix:{qmp_path},server=on,wait=off",
    "--netdev", f"user,id=u0,mtu=65520,tftp={tmp}/tftp,hostfwd=tcp:127.0.0.1:7200-10.0.2.15:22,hostfwd=udp:127.0.0.1:7201-10.0.2.15:53,guestfwd=tcp:10.0.2.100:80-cmd:cat",
    "--netdev", "hubport,id=h0,hubid=0,netdev=u0",
    "--netdev", f"tap,id=t0,ifname={TAP},script=no,downscript=no,vnet_hdr=on", "--netdev", "hubport,id=h1,hubid=0,netdev=t0"],
    stdout=log, stderr=subprocess.STDOUT)
for _ in range(100):
    if sh("ip", "-n", H, "link", "show", TAP, check=False).returncode == 0: break
    time.sleep(0.1)
sh("ip", "-n", H, "link", "set", TAP, "netns", G)
sh("ip", "-n", G, "link", "set", TAP, "mtu", "65520", "up")
sh("ip", "-n", G, "addr", "add", "10.0.2.15/24", "dev", TAP)
sh("ip", "-n", G, "route", "add", "default", "via", "10.0.2.2")
# servers on H's loopback: TCP echo/sink/closer on 7000-7002, UDP echo on 7100
servers = subprocess.Popen(["ip", "netns", "exec", H, "python3", "-c", r'''
import socket, threading
def tcp(port, mode):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", port)); s.listen(512)
    while True:
        c, _ = s.accept()
        def run(c=c):
            try:
                while True:
                    b = c.recv(65536)
                    if not b: break
                    if mode == "echo": c.sendall(b)
                    elif mode == "close": c.shutdown(socket.SHUT_RDWR); break
                    elif mode == "rst": c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"); break
            except OSError: pass
            c.close()
        threading.Thread(target=run, daemon=True).start()
for p, m in [(7000, "echo"), (7001, "sink"), (7002, "close"), (7003, "rst")]: threading.Thread(target=tcp, args=(p, m), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 7100))
while True:
    b, a = u.recvfrom(65535); u.sendto(b, a)
'''])
time.sleep(1)

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
GW_MAC = None
def mac_of_gw():
    sh("ip", "netns", "exec", G, "ping", "-c", "1", "-W", "1", "10.0.2.2", check=False)
    n = sh("ip", "-n", G, "neigh", "show", "10.0.2.2").stdout.split()
    return bytes.fromhex(n[n.index("lladdr") + 1].replace(":", "")) if "lladdr" in n else b"\x52\x55\x0a\x00\x02\x02"
GW_MAC = mac_of_gw()
MY_MAC = bytes.fromhex(sh("ip", "netns", "exec", G, "cat", f"/sys/class/net/{TAP}/address").stdout.strip().replace(":", ""))
IP4 = lambda a: socket.inet_aton(a)
DSTS4 = ["10.0.2.2", "10.0.2.3", "10.0.2.4", "10.0.2.255", "255.255.255.255", "10.0.2.15", "192.0.2.1", "127.0.0.1", "0.0.0.0", "224.0.0.1", "10.0.2.100"]
def rbytes(n): return bytes(rnd.getrandbits(8) for _ in range(n))
def ipv4(proto, payload, src="10.0.2.15", dst=None, frag=None, ttl=64, opts=b""):
    dst = dst or rnd.choice(DSTS4)
    ihl = 5 + len(opts) // 4
    flags_off = frag if frag is not None else (0x4000 if rnd.random() < 0.5 else 0)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload), rnd.getrandbits(16), flags_off, ttl, proto, 0, IP4(src), IP4(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload, IP4(src), IP4(dst)
def l4sum(src, dst, proto, seg): return csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg)
def tcp_seg(src, dst, sport, dport):
    flags = rnd.choice([0x02, 0x10, 0x18, 0x11, 0x04, 0x12, 0x01, 0x3f, 0x00, 0x02, 0x10, 0x18]) if rnd.random() < 0.9 else rnd.getrandbits(9)
    opts = b""
    if rnd.random() < 0.5:
        choices = [b"\x02\x04" + struct.pack("!H", rnd.choice([0, 1, 536, 1460, 65495, 65535])), b"\x03\x03" + bytes([rnd.choice([0, 7, 14, 15, 255])]),
                   b"\x04\x02", b"\x08\x0a" + rbytes(8), b"\x01", b"\x05\x0a" + rbytes(8), bytes([rnd.getrandbits(8), rnd.getrandbits(8)]) + rbytes(rnd.randint(0, 6)), b"\x00"]
        opts = b"".join(rnd.choice(choices) for _ in range(rnd.randint(1, 5)))
        opts = opts[:40]; opts += b"\x00" * (-len(opts) % 4)
    payload = rbytes(rnd.choice([0, 0, 1, 100, 1460, 8000, rnd.randint(0, 60000)])) if rnd.random() < 0.6 else b""
    seq = rnd.choice([0, 1, 0xffffffff, rnd.getrandbits(32)]); ack = rnd.choice([0, 1, rnd.getrandbits(32)])
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags & 0xff, rnd.choice([0, 1, 65535, rnd.getrandbits(16)]), 0, rnd.getrandbits(16) if rnd.random() < 0.1 else 0) + opts
    seg = h + payload
    c = l4sum(src, dst, 6, seg) if rnd.random() < 0.95 else rnd.getrandbits(16)
    return seg[:16] + struct.pack("!H", c) + seg[18:]
def udp_dgram(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4sum(src, dst, 17, seg) if rnd.random() < 0.9 else 0
    return seg[:6] + struct.pack("!H", c) + seg[8:]
def dns_query():
    q = rbytes(2) + struct.pack("!HHHHH", rnd.choice([0x0100, 0x8180, rnd.getrandbits(16)]), rnd.choice([1, 0, 2, 65535]), 0, 0, rnd.choice([0, 1]))
    name = b"".join(bytes([len(l)]) + l for l in [b"example", b"com"]) + b"\0" if rnd.random() < 0.7 else rbytes(rnd.randint(0, 300))
    return q + name + struct.pack("!HH", rnd.choice([1, 28, 255, 12, rnd.getrandbits(16)]), 1)
def frame():
    x = rnd.random()
    if x < 0.05:  # raw garbage
        return rbytes(rnd.randint(0, 200))
    if x < 0.10:  # ARP
        body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, rnd.choice([1, 2, 3])) + MY_MAC + IP4("10.0.2.15") + b"\0" * 6 + IP4(rnd.choice(DSTS4))
        if rnd.random() < 0.3: body = body[:rnd.randint(0, len(body))]
        return (b"\xff" * 6) + MY_MAC + b"\x08\x06" + body
    if x < 0.45:  # TCP
        dst = rnd.choice(["10.0.2.2"] * 6 + DSTS4)
        seg = tcp_seg(IP4("10.0.2.15"), IP4(dst), rnd.choice([40000, 40001, 40002, rnd.randint(1, 65535)]), rnd.choice([7000, 7001, 7002, 7003, 7000, 22, 80, 0, 65535, rnd.randint(1, 65535)]))
        pkt, _, _ = ipv4(6, seg, dst=dst)
    elif x < 0.65:  # UDP
        dst = rnd.choice(["10.0.2.2", "10.0.2.3", "10.0.2.2", "255.255.255.255"] + DSTS4)
        dport = rnd.choice([7100, 53, 67, 69, 68, 0, rnd.randint(1, 65535)])
        if dport == 53: payload = dns_query()
        elif dport == 69: payload = struct.pack("!H", rnd.choice([1, 2, 3, 4, 5, 6, 9])) + rnd.choice([b"f\0octet\0", b"f\0octet\0blksize\0" + str(rnd.choice([8, 512, 65464, 99999])).encode() + b"\0tsize\x000\0", rbytes(rnd.randint(0, 40))])
        elif dport == 67: payload = bytes([1, 1, 6, 0]) + rbytes(4) + b"\0" * 20 + MY_MAC + b"\0" * 202 + b"\x63\x82\x53\x63" + rbytes(rnd.randint(0, 100))
        else: payload = rbytes(rnd.choice([0, 1, 100, 1472, 9000, rnd.randint(0, 65000)]))
        seg = udp_dgram(IP4("10.0.2.15"), IP4(dst), rnd.choice([68, 5000, rnd.randint(1, 65535)]), dport, payload)
        pkt, _, _ = ipv4(17, seg, dst=dst)
    elif x < 0.80:  # ICMP
        dst = rnd.choice(["10.0.2.2", "10.0.2.3", "192.0.2.1"] + DSTS4)
        body = bytes([rnd.choice([8, 0, 3, 11, 13, 255]), rnd.choice([0, 1, 4])]) + b"\0\0" + rbytes(4) + rbytes(rnd.choice([0, 56, 1400, 8000, rnd.randint(0, 60000)]))
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        pkt, _, _ = ipv4(1, body, dst=dst)
    elif x < 0.90:  # IPv4 fragments / odd headers
        payload = rbytes(rnd.randint(0, 3000))
        pkt, _, _ = ipv4(rnd.choice([1, 6, 17, 0, 255]), payload, frag=rnd.choice([0x2000, 0x2000 | rnd.randint(0, 8191), rnd.randint(0, 8191), 0x1fff, 0x2001]), opts=rnd.choice([b"", b"\x01\x01\x01\x00", rbytes(8), b"\x07\x07\x04" + b"\0" * 5]))
        if rnd.random() < 0.3:
            b = bytearray(pkt); b[rnd.randrange(len(b))] = rnd.getrandbits(8); pkt = bytes(b)
    else:  # IPv6
        nh = rnd.choice([58, 6, 17, 0, 43, 44, 60, 59])
        payload = rbytes(rnd.randint(0, 1500))
        if nh == 58: payload = bytes([rnd.choice([128, 133, 135, 136, 1, 2, 3, 4, 143])]) + rbytes(3) + payload[:rnd.randint(0, 200)]
        dst6 = rnd.choice([socket.inet_pton(socket.AF_INET6, a) for a in ["fec0::2", "fec0::3", "ff02::1", "ff02::2", "ff02::1:2", "fe80::2", "2001:db8::1"]])
        src6 = socket.inet_pton(socket.AF_INET6, rnd.choice(["fec0::15", "fe80::1", "::"]))
        pkt = struct.pack("!IHBB", 0x60000000, len(payload), nh, rnd.choice([255, 64, 1])) + src6 + dst6 + payload
        dm = b"\x33\x33\x00\x00\x00\x01" if dst6[0] == 0xff else GW_MAC
        return dm + MY_MAC + b"\x86\xdd" + pkt
    return GW_MAC + MY_MAC + b"\x08\x00" + pkt

# the guest's sender: a helper run inside G (AF_PACKET on the tap)
sender_code = r'''
import socket, sys, pickle, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
data = sys.stdin.buffer
while True:
    h = data.read(4)
    if len(h) < 4: break
    n = struct.unpack("!I", h)[0]; f = data.read(n)
    try: s.send(f)
    except OSError: pass
'''
sender = subprocess.Popen(["ip", "netns", "exec", G, "python3", "-c", sender_code, TAP], stdin=subprocess.PIPE)
# real clients in G meanwhile
clients = subprocess.Popen(["ip", "netns", "exec", G, "sh", "-c",
    "while true; do head -c 300000 /dev/urandom | timeout 3 busybox nc 10.0.2.2 7000 >/dev/null; ping -c 2 -i 0.2 -s 3000 10.0.2.2 >/dev/null; done"])

def qmp(cmds):
    s = socket.socket(socket.AF_UNIX); s.connect(qmp_path); f = s.makefile("rwb"); f.readline()
    out = []
    for c in [{"execute": "qmp_capabilities"}] + cmds:
        f.write(json.dumps(c).encode() + b"\n"); f.flush()
        while True:
            m = json.loads(f.readline())
            if "event" not in m: break
        out.append(m)
    s.close(); return out[1:]
pid = d.pid
def status():
    st = {l.split(":")[0]: l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith(("VmRSS", "Threads"))}
    return f"rss {st['VmRSS']} kB threads {st['Threads']} fds {len(os.listdir(f'/proc/{pid}/fd'))}"
t0 = time.time(); sent = 0; last = 0
print("start", status(), flush=True)
try:
    while time.time() - t0 < SECS:
        for _ in range(200):
            fr = frame()[:65550]
            sender.stdin.write(struct.pack("!I", len(fr)) + fr); sent += 1
        sender.stdin.flush()
        if time.time() - last > 10:
            last = time.time()
            r = qmp([{"execute": "query-netdevs"}])[0]["return"]
            faults = {n["id"]: n["stats"].get("faults") for n in r}
            print(f"{time.time()-t0:.0f}s sent {sent} {status()} faults {faults} alive {d.poll() is None}", flush=True)
            if d.poll() is not None: break
except BrokenPipeError:
    print("sender gone")
print("end", status() if d.poll() is None else f"DAEMON EXITED {d.poll()}")
for p in (clients, sender, servers): p.kill()
d.send_signal(signal.SIGTERM); d.wait(10)
for ns in (H, G): sh("ip", "netns", "del", ns, check=False)
txt = open(f"{tmp}/daemon.log").read()
shutil.rmtree(tmp, ignore_errors=True)
bad = [l for l in txt.split("\n") if any(k in l for k in ("fail:", "crit:", "Unhandled", "   at ", "Exception"))]
print("log lines with faults:", len(bad)); print("\n".join(b[:600] for b in bad[:10]))
