#!/usr/bin/env bash
# Soak (issue [05]): one netdevd under MINUTES of mixed guest traffic while netdevs and host
# forwards are added and removed over QMP all the time. netdevd's RSS, descriptors and threads are
# sampled every minute; at the end they must be flat, its log clean, and it must still answer QMP
# and serve DHCP to a guest it has never seen. Prints a table and PASS or FAIL with the reasons.
#
# Usage (root): bench/soak.sh [MINUTES]        default 30; not part of CI
#   SOAK_BUILD=0              use the Release build already there
#   SOAK_SAMPLE_SECONDS=N     sample every N s instead of 60 (for trying the script out)
#   SOAK_KEEP=1               keep the temp dir (logs) after a PASS too (a FAIL always keeps it)
# Exit status: 0 PASS, 1 FAIL, 2 could not run.
#
# Everything runs in namespaces of its own, so nothing touches the machine's network or ports:
#   host ns  ndsk-h-TAG: netdevd runs here; its loopback carries the "host" services (an iperf3
#            server, a busybox httpd, dnsmasq) and 10.254.77.1, a host address the guest pings
#            through the NAT;
#   guest ns ndsk-g-TAG: netdevd's tap (moved here), configured by busybox udhcpc, runs the
#            traffic and a busybox httpd that the host forwards reach.
# netdevd's fixed topology: user netdev u0 (tftp on) and tap t0 on hub 0. The churn adds around
# them, every cycle, netdevs of every socket-based type, all joined to hub 0 or to dead-end hubs
# of their own (never two paths between two hubs: a loop would be a broadcast storm in QEMU too).
set -uo pipefail
set -m   # each background worker gets its own process group, so it can be ended with its children
cd "$(dirname "$0")/.."

minutes=${1:-30}
sample_secs=${SOAK_SAMPLE_SECONDS:-60}
# After a pause of the workers, wait this long before sampling: the NAT's DNS and ICMP flows
# (and UDP flows to port 53) expire after 10 s, as libslirp's SO_EXPIREFAST.
settle_secs=12
# RSS: the last third's maximum may exceed the first third's by the larger of these. The first
# third is RSS's warm-up: the process's anonymous memory grows for minutes while the live managed
# heap stays near 10 MB (measured: RSS 86 MB after 20 s, 147 MB after 6 minutes, flat from there),
# so the value after the 20-second warm-up is no baseline; a leak keeps growing in the last third.
# Shorter runs than rss_min_minutes print RSS but do not judge it (their first third is still
# inside the GC's growth).
rss_min_minutes=15
rss_pct=20
rss_abs_mb=30
# Threads are judged by netdevd's own (not named ".NET ..."). The runtime's vary by themselves:
# the thread pool injects workers while work items block (measured: 3 to 11 workers between quiet
# samples under this churn) and retires them after ~20 s idle; they are printed, not judged.
# The live managed heap (dotnet-gcdump, after a full GC) at the end against the warm-up, with
# only the fixed topology left: nothing the churn made may stay reachable.
heap_abs_mb=5

# --- requirements and build ------------------------------------------------------------------

die() { echo "soak: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, taps)"
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || die "MINUTES must be a whole number >= 1"
for t in ip iperf3 busybox dnsmasq dig curl python3 ping timeout; do
  command -v "$t" >/dev/null || die "$t missing (apt-get install iproute2 iperf3 busybox-static dnsmasq-base bind9-dnsutils curl python3 iputils-ping)"
done
for applet in udhcpc httpd tftp; do
  busybox --list | grep -x "$applet" >/dev/null || die "busybox has no $applet applet"
done
if [ "${SOAK_BUILD:-1}" != 0 ]; then
  dotnet build src/Netdevd -c Release -warnaserror -nologo -v quiet >/dev/null || die "build failed (SOAK_BUILD=0 uses the existing build)"
fi
nd=$(pwd)/src/Netdevd/bin/Release/net10.0/netdevd
[ -x "$nd" ] || die "$nd not built"

# --- names, ports, state ---------------------------------------------------------------------

tag=$(( $$ % 100000 ))
hns=ndsk-h-$tag          # host namespace (netdevd, host services)
gns=ndsk-g-$tag          # guest namespace
nns=ndsk-n-$tag          # the new guest at the end
tap=ndsk$tag             # the guest's tap
ctap=ndskc$tag           # the churned tap (stays in the host namespace, down)
ntap=ndskn$tag           # the new guest's tap
host_addr=10.254.77.1    # a host address the guest pings (ICMP through the NAT)
# Ports on the host namespace's loopback (private, so fixed numbers cannot collide with anyone).
# The iperf3 server listens on 53 on 127.0.0.1 (what 10.0.2.2 reaches): netdevd expires UDP flows
# to port 53 after 10 s rather than 240 s, so its UDP test leaves no socket behind a sample.
# dnsmasq takes 53 on 127.0.0.2 for the DNS proxy.
iperf_port=53
http_port=8081           # busybox httpd on the host's 127.0.0.1 (guest -> 10.0.2.2:8081)
fwd_port=18080           # hostfwd tcp 127.0.0.1:18080 -> guest :8080
fwd_udp_port=18081       # hostfwd udp 127.0.0.1:18081 -> guest :7 (nothing listens: ICMP back)
u2_fwd_port=18082        # hostfwd of the churned second user netdev (no guest behind it)
dgram_a=16001 dgram_b=16002 l2tp_a=16011 l2tp_b=16012

tmp=$(mktemp -d /tmp/ndsoak-XXXXXX)
mkdir -p "$tmp/churn" "$tmp/www" "$tmp/tftp" "$tmp/guest-www" "$tmp/run"
qmp_sock=$tmp/qmp.sock
nd_pid=
server_pids=()
worker_pids=()

# Ends every worker (process group: the worker and whatever it is running) and every server this
# script started, by PID, then removes the namespaces and interfaces; the temp dir (logs) only
# after a PASS, unless SOAK_KEEP=1.
cleanup() {
  local rc=$?
  touch "$tmp/stop" 2>/dev/null
  for p in "${worker_pids[@]}"; do kill -- "-$p" 2>/dev/null; done
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$nd_pid" ]; then
    kill "$nd_pid" 2>/dev/null
    for _ in $(seq 100); do alive || break; sleep 0.1; done
    alive && kill -KILL "$nd_pid" 2>/dev/null
  fi
  for p in "${worker_pids[@]}" "${server_pids[@]}" $nd_pid; do wait "$p" 2>/dev/null; done
  for ns in "$gns" "$nns" "$hns"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${SOAK_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "soak: logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# --- helpers: QMP, pokes ---------------------------------------------------------------------

# python3 helpers: a small QMP client (no socat needed), the frame senders of the churn, and the
# comparison of two dotnet-gcdump reports.
cat >"$tmp/soak.py" <<'PY'
import json, socket, struct, sys, time

# A broadcast frame of a local experimental ethertype: every guest drops it, hubs flood it.
FRAME = b"\xff" * 6 + b"\x52\x54\x00\x5a\x5a\x01" + b"\x88\xb5" + bytes(46)

def qmp(path, commands):
    """Runs each command (a JSON object, or a bare command name); prints each answer on a line.
    Exit status 1 if any answer is an error, 2 if QMP does not answer."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        r = s.makefile("rb")
        json.loads(r.readline())            # greeting
        def call(cmd):
            s.sendall(json.dumps(cmd).encode() + b"\n")
            while True:
                line = r.readline()
                if not line:
                    raise EOFError("QMP closed the connection")
                msg = json.loads(line)
                if "event" not in msg:
                    return msg
        call({"execute": "qmp_capabilities"})
        status = 0
        for c in commands:
            answer = call(json.loads(c) if c.startswith("{") else {"execute": c})
            print(json.dumps(answer, separators=(",", ":")))
            if "error" in answer:
                status = 1
        s.close()
        return status
    except Exception as e:  # noqa: BLE001 - any failure to talk is one outcome here
        print(json.dumps({"qmp-failed": repr(e)}))
        return 2

def stream_poke(path, hold):
    """A client of a stream server: three frames, then it reads what the hub floods for HOLD s,
    then leaves in the middle of a frame (a length prefix and 10 of its 60 bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.2)
    s.connect(path)
    s.sendall((struct.pack(">I", len(FRAME)) + FRAME) * 3)
    end = time.time() + float(hold)
    while time.time() < end:
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            pass
    s.sendall(struct.pack(">I", len(FRAME)) + FRAME[:10])
    s.close()

def dgram_poke(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        s.sendto(FRAME, ("127.0.0.1", int(port)))
    s.close()

def send_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"soak", ("127.0.0.1", int(port)))
    s.close()

def heap(path):
    """A dotnet-gcdump report: the live heap's bytes, and bytes and objects per type."""
    total, types = 0, {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 3 and parts[1:3] == ["GC", "Heap"] and parts[3] == "bytes":
            total = int(parts[0].replace(",", ""))
        elif len(parts) >= 3 and parts[0].replace(",", "").isdigit() and parts[1].replace(",", "").isdigit():
            name = line.split(None, 2)[2].split("  [")[0].split(" (Bytes")[0].strip()
            # The report gives an object's size (of its size class) and the count.
            size, count = int(parts[0].replace(",", "")), int(parts[1].replace(",", ""))
            b, n = types.get(name, (0, 0))
            types[name] = (b + size * count, n + count)
    return total, types

def heap_diff(before, after):
    """Prints the live heap before and after and the types that grew most."""
    t0, a = heap(before)
    t1, b = heap(after)
    print(f"live managed heap (after a full GC): {t0 / 1048576:.1f} MB at warm-up, {t1 / 1048576:.1f} MB at the end")
    growth = sorted(((b[k][0] - a.get(k, (0, 0))[0], b[k][1] - a.get(k, (0, 0))[1], k) for k in b), reverse=True)
    for db, dn, k in growth[:6]:
        if db > 0:
            print(f"    +{db:>10,} bytes (about)  +{dn:>7,} objects  {k}")
    print(f"heap-growth-kb {(t1 - t0) // 1024}")

if __name__ == "__main__":
    op, args = sys.argv[1], sys.argv[2:]
    if op == "qmp":
        sys.exit(qmp(args[0], args[1:]))
    {"stream-poke": stream_poke, "dgram-poke": dgram_poke, "send-udp": send_udp, "heap-diff": heap_diff}[op](*args)
PY

# The interpreter itself, not a shim (pyenv's costs a bash and 0.1 s of CPU per call).
py=$(python3 -c 'import sys; print(sys.executable)')
# qmp CMD...: runs QMP commands in one session (a new client each time: the sessions churn too).
qmp() { timeout 40 "$py" "$tmp/soak.py" qmp "$qmp_sock" "$@"; }
# Commands in the namespaces, as arrays rather than functions: "${host[@]}" CMD & gives CMD's own
# PID (ip execs it), which is what cleanup kills.
host=(ip netns exec "$hns")
guest=(ip netns exec "$gns")

# Each worker logs one line per step: "OK step" or "FAIL step: detail".
ok() { echo "OK $1" >>"$tmp/$worker.log"; }
fail() { echo "$(date +%T) FAIL $1: ${2:-}" >>"$tmp/$worker.log"; }
# step NAME CMD...: runs CMD and logs its outcome (the first output line on failure).
step() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(head -c 300 <<<"$out" | tr '\n' ' ')"; fi
}

# Pause protocol: the main loop creates $tmp/pause to sample a quiet netdevd; each worker, at the
# end of a cycle (when it has removed what it added), reports idle and waits. $tmp/stop ends it.
checkpoint() {
  [ -e "$tmp/stop" ] && exit 0
  if [ -e "$tmp/pause" ]; then
    touch "$tmp/idle.$worker"
    while [ -e "$tmp/pause" ] && [ ! -e "$tmp/stop" ]; do sleep 0.2; done
    rm -f "$tmp/idle.$worker"
    [ -e "$tmp/stop" ] && exit 0
  fi
}

# --- set-up ----------------------------------------------------------------------------------

# The udhcpc script: applies the lease and writes it where the script can read it.
write_udhcpc_script() {
  cat >"$tmp/udhcpc.sh" <<'SH'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr replace "$ip/$mask" dev "$interface"
    ip route replace default via "$router"
    echo "$ip" >"$LEASE_FILE" ;;
esac
exit 0
SH
  chmod +x "$tmp/udhcpc.sh"
}

# dhcp NS IFACE LEASEFILE: a DHCP exchange with busybox udhcpc in NS (quits once bound).
dhcp() {
  rm -f "$3"
  ip netns exec "$1" env LEASE_FILE="$3" timeout 20 busybox udhcpc -i "$2" -n -q -t 4 -T 1 -s "$tmp/udhcpc.sh" >/dev/null 2>&1 && [ -s "$3" ]
}

wait_for() { # wait_for SECONDS CMD...: polls CMD every 0.1 s
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}

start_host_side() {
  ip netns add "$hns"; ip netns add "$gns"
  ip -n "$hns" link set lo up; ip -n "$gns" link set lo up
  ip -n "$hns" addr add "$host_addr/32" dev lo
  head -c 1048576 /dev/urandom >"$tmp/www/file.bin"
  head -c 262144 /dev/urandom >"$tmp/tftp/soak.bin"
  echo soak-guest >"$tmp/guest-www/index.html"
  echo "nameserver 127.0.0.2" >"$tmp/resolv.conf"
  # dnsmasq answers soak.test itself and forwards nothing.
  "${host[@]}" dnsmasq -k -C /dev/null --user=root --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.2 \
    --port=53 --address=/soak.test/10.1.2.3 --pid-file= --log-facility="$tmp/dnsmasq.log" &
  server_pids+=($!)
  "${host[@]}" busybox httpd -f -p "127.0.0.1:$http_port" -h "$tmp/www" &
  server_pids+=($!)
}

start_netdevd() {
  # Started from an empty directory: netdevd must not depend on (or watch) where it is run from.
  (cd "$tmp/run" && exec ip netns exec "$hns" env NETDEVD_RESOLV_CONF="$tmp/resolv.conf" "$nd" \
    --qmp "unix:$qmp_sock,server=on,wait=off" \
    --netdev "user,id=u0,tftp=$tmp/tftp" --netdev hubport,id=hu0,hubid=0,netdev=u0 \
    --netdev "tap,id=t0,ifname=$tap,script=no,downscript=no" --netdev hubport,id=ht0,hubid=0,netdev=t0 \
    >"$tmp/netdevd.out" 2>"$tmp/netdevd.log") &
  nd_pid=$!
  wait_for 30 ip -n "$hns" link show "$tap" || die "netdevd did not create its tap (see $tmp/netdevd.log)"
  wait_for 30 test -S "$qmp_sock" || die "no QMP socket"
  ip -n "$hns" link set "$tap" netns "$gns"
  ip -n "$gns" link set "$tap" up
  write_udhcpc_script
  dhcp "$gns" "$tap" "$tmp/lease" || die "the guest got no DHCP lease"
  guest_ip=$(cat "$tmp/lease")
  "${guest[@]}" env LEASE_FILE="$tmp/lease.renew" busybox udhcpc -f -i "$tap" -t 4 -T 1 -s "$tmp/udhcpc.sh" >/dev/null 2>&1 &
  udhcpc_pid=$!
  server_pids+=($udhcpc_pid)
  wait_for 20 test -s "$tmp/lease.renew" || die "the resident udhcpc got no lease"
  "${guest[@]}" busybox httpd -f -p 8080 -h "$tmp/guest-www" &
  server_pids+=($!)
}

# --- worker: guest traffic -------------------------------------------------------------------

# iperf_burst NAME ARGS...: a one-shot iperf3 server on the host's 127.0.0.1, a 2-second client
# in the guest through 10.0.2.2. Bandwidth is capped: the machine is shared, the soak is about
# paths and lifetimes, not throughput.
iperf_burst() {
  local name=$1 srv; shift
  "${host[@]}" iperf3 -s -1 -B 127.0.0.1 -p "$iperf_port" >/dev/null 2>&1 &
  srv=$!
  sleep 0.3
  step "$name" "${guest[@]}" timeout 20 iperf3 -c 10.0.2.2 -p "$iperf_port" -t 2 "$@"
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
}

dns_check() { [ "$("${guest[@]}" timeout 10 dig +short +time=2 +tries=2 @10.0.2.3 soak.test)" = 10.1.2.3 ]; }
# A second udhcpc process: DISCOVER/OFFER/REQUEST/ACK again; the guest keeps its address.
dhcp_again() { dhcp "$gns" "$tap" "$tmp/lease.again" && [ "$(cat "$tmp/lease.again")" = "$guest_ip" ]; }
# The resident udhcpc renews on SIGUSR1 (a REQUEST to the server), its script rewrites the lease.
dhcp_renew() {
  rm -f "$tmp/lease.renew"
  kill -USR1 "$udhcpc_pid" || return 1
  wait_for 10 test -s "$tmp/lease.renew" && [ "$(cat "$tmp/lease.renew")" = "$guest_ip" ]
}
curl_check() { [ "$("${guest[@]}" timeout 20 curl -s -o /dev/null -w '%{size_download}' "http://10.0.2.2:$http_port/file.bin")" = 1048576 ]; }
tftp_check() {
  rm -f "$tmp/tftp.got"
  (cd "$tmp" && "${guest[@]}" timeout 20 busybox tftp -g -r soak.bin -l "$tmp/tftp.got" 10.0.2.2) &&
    cmp -s "$tmp/tftp.got" "$tmp/tftp/soak.bin"
}

worker_traffic() {
  worker=traffic
  set +m   # what it starts stays in its process group, which cleanup ends
  while true; do
    # A checkpoint after every step: each step leaves nothing open behind it but NAT flows.
    iperf_burst iperf-tcp-up -b 400M; checkpoint
    iperf_burst iperf-tcp-down -R -b 400M; checkpoint
    iperf_burst iperf-udp -u -b 20M -l 1400; checkpoint
    step dns dns_check; checkpoint
    step ping-gateway "${guest[@]}" ping -n -q -c 5 -i 0.2 -W 2 10.0.2.2; checkpoint
    step ping-host "${guest[@]}" ping -n -q -c 5 -i 0.2 -W 2 "$host_addr"; checkpoint
    step dhcp-renew dhcp_renew; checkpoint
    step dhcp-again dhcp_again; checkpoint
    step http-get curl_check; checkpoint
    step tftp-get tftp_check
    echo round >>"$tmp/traffic.rounds"
    checkpoint
  done
}

# --- worker: netdev churn --------------------------------------------------------------------

# The netdevs of one churn cycle, as QMP netdev_add arguments. Hub 0 is the guest's: every netdev
# on it leads to a dead end, so no frame can come back to hub 0 another way.
#   stream server s (hub 0) <- stream client c (hub 1, with a plain hubport and a tap)
#   stream server p (hub 0) <- the python poke (three frames, then it leaves mid-frame)
#   dgram da (hub 0) <-> dgram db (hub 2)
#   l2tpv3 la (hub 0) <-> l2tpv3 lb (hub 4)
#   user u (10.0.3.0/24, a hostfwd; hub 3, no guest: a forwarded connection never completes)
churn_specs() {
  local n=$1 j=()
  j+=("{\"type\":\"stream\",\"id\":\"s$n\",\"server\":true,\"addr\":{\"type\":\"unix\",\"path\":\"$tmp/churn/s.sock\"}}")
  j+=("{\"type\":\"hubport\",\"id\":\"hs$n\",\"hubid\":0,\"netdev\":\"s$n\"}")
  j+=("{\"type\":\"stream\",\"id\":\"c$n\",\"server\":false,\"reconnect\":1,\"addr\":{\"type\":\"unix\",\"path\":\"$tmp/churn/s.sock\"}}")
  j+=("{\"type\":\"hubport\",\"id\":\"hc$n\",\"hubid\":1,\"netdev\":\"c$n\"}")
  j+=("{\"type\":\"hubport\",\"id\":\"h1x$n\",\"hubid\":1}")
  j+=("{\"type\":\"tap\",\"id\":\"t$n\",\"ifname\":\"$ctap\",\"script\":\"no\",\"downscript\":\"no\"}")
  j+=("{\"type\":\"hubport\",\"id\":\"ht$n\",\"hubid\":1,\"netdev\":\"t$n\"}")
  j+=("{\"type\":\"stream\",\"id\":\"p$n\",\"server\":true,\"addr\":{\"type\":\"unix\",\"path\":\"$tmp/churn/p.sock\"}}")
  j+=("{\"type\":\"hubport\",\"id\":\"hp$n\",\"hubid\":0,\"netdev\":\"p$n\"}")
  j+=("{\"type\":\"dgram\",\"id\":\"da$n\",\"local\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"$dgram_a\"},\"remote\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"$dgram_b\"}}")
  j+=("{\"type\":\"hubport\",\"id\":\"hda$n\",\"hubid\":0,\"netdev\":\"da$n\"}")
  j+=("{\"type\":\"dgram\",\"id\":\"db$n\",\"local\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"$dgram_b\"},\"remote\":{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"$dgram_a\"}}")
  j+=("{\"type\":\"hubport\",\"id\":\"hdb$n\",\"hubid\":2,\"netdev\":\"db$n\"}")
  j+=("{\"type\":\"l2tpv3\",\"id\":\"la$n\",\"src\":\"127.0.0.1\",\"dst\":\"127.0.0.1\",\"udp\":true,\"srcport\":\"$l2tp_a\",\"dstport\":\"$l2tp_b\",\"txsession\":7,\"rxsession\":8}")
  j+=("{\"type\":\"hubport\",\"id\":\"hla$n\",\"hubid\":0,\"netdev\":\"la$n\"}")
  j+=("{\"type\":\"l2tpv3\",\"id\":\"lb$n\",\"src\":\"127.0.0.1\",\"dst\":\"127.0.0.1\",\"udp\":true,\"srcport\":\"$l2tp_b\",\"dstport\":\"$l2tp_a\",\"txsession\":8,\"rxsession\":7}")
  j+=("{\"type\":\"hubport\",\"id\":\"hlb$n\",\"hubid\":4,\"netdev\":\"lb$n\"}")
  j+=("{\"type\":\"user\",\"id\":\"u$n\",\"net\":\"10.0.3.0/24\",\"hostfwd\":[{\"str\":\"tcp:127.0.0.1:$u2_fwd_port-:22\"}]}")
  j+=("{\"type\":\"hubport\",\"id\":\"hu$n\",\"hubid\":3,\"netdev\":\"u$n\"}")
  local s
  for s in "${j[@]}"; do echo "{\"execute\":\"netdev_add\",\"arguments\":$s}"; done
}

# The ids to delete: even cycles take the hubports first, odd cycles the backends first (their
# hubports then point at a netdev that has gone, as after netdev_del in QEMU).
churn_ids() {
  local n=$1 backends hubports
  backends="s$n c$n t$n p$n da$n db$n la$n lb$n u$n"
  hubports="hs$n hc$n h1x$n ht$n hp$n hda$n hdb$n hla$n hlb$n hu$n"
  if (( n % 2 == 0 )); then echo $hubports $backends; else echo $backends $hubports; fi
}

churn_add() {
  local cmds=() c out
  while read -r c; do cmds+=("$c"); done < <(churn_specs "$1")
  out=$(qmp "${cmds[@]}") || { echo "$out" | grep -m1 -E 'error|qmp-failed'; return 1; }
}

churn_del() {
  local cmds=() id out
  for id in $(churn_ids "$1"); do cmds+=("{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"$id\"}}"); done
  out=$(qmp "${cmds[@]}") || { echo "$out" | grep -m1 -E 'error|qmp-failed'; return 1; }
}

# A connection to the second user netdev's forward: accepted on the host, but the SYN it turns into
# finds no guest on hub 3; the netdev is deleted while it hangs.
u2_connect() { "${host[@]}" timeout 3 curl -s -m 1 "http://127.0.0.1:$u2_fwd_port/" >/dev/null 2>&1; return 0; }

worker_churn() {
  worker=churn
  set +m   # what it starts stays in its process group, which cleanup ends
  local n=0
  while true; do
    n=$((n + 1))
    if churn_add_out=$(churn_add "$n"); then ok churn-add; else fail churn-add "cycle $n: $churn_add_out"; fi
    # Let the stream client connect and the netdevs see some of the guest's traffic.
    sleep 1
    "${host[@]}" timeout 10 "$py" "$tmp/soak.py" stream-poke "$tmp/churn/p.sock" 1.5 >/dev/null 2>&1 &
    local poke=$!
    "${host[@]}" "$py" "$tmp/soak.py" dgram-poke "$dgram_a" >/dev/null 2>&1
    u2_connect &
    local u2=$!
    sleep 1
    # Deleted while the poke is still connected (it holds for 1.5 s) and the forward hangs.
    if churn_del_out=$(churn_del "$n"); then ok churn-del; else fail churn-del "cycle $n: $churn_del_out"; fi
    wait "$poke" "$u2" 2>/dev/null
    # The stream servers' socket files go with their netdevs.
    if ls "$tmp/churn"/*.sock >/dev/null 2>&1; then fail churn-sockfiles "cycle $n: $(ls "$tmp/churn")"; fi
    echo "$n" >"$tmp/churn.cycles"
    checkpoint
  done
}

# --- worker: host forward churn --------------------------------------------------------------

# fwd_get PORT: a page from the guest's httpd through a host forward.
fwd_get() { [ "$("${host[@]}" timeout 10 curl -s -m 5 "http://127.0.0.1:$1/")" = soak-guest ]; }
fwd_refused() { ! "${host[@]}" timeout 5 curl -s -m 2 "http://127.0.0.1:$1/" >/dev/null 2>&1; }
hostfwd() { # hostfwd add|remove RULE
  qmp "{\"execute\":\"hostfwd-$1\",\"arguments\":{\"netdev\":\"u0\",\"rule\":\"$2\"}}"
}

worker_hostfwd() {
  worker=hostfwd
  set +m   # what it starts stays in its process group, which cleanup ends
  local out port i
  while true; do
    step fwd-add hostfwd add "tcp:127.0.0.1:$fwd_port-$guest_ip:8080"
    for i in 1 2 3 4 5; do step fwd-get fwd_get "$fwd_port"; done
    # Host port 0: the answer names the port bound.
    if out=$(hostfwd add "tcp:127.0.0.1:0-:8080"); then
      port=$(sed -n 's/.*"host-port":\([0-9]*\).*/\1/p' <<<"$out")
      step fwd-any-get fwd_get "$port"
      step fwd-any-remove hostfwd remove "tcp:127.0.0.1:$port"
    else
      fail fwd-any-add "$out"
    fi
    step fwd-udp-add hostfwd add "udp:127.0.0.1:$fwd_udp_port-$guest_ip:7"
    "${host[@]}" "$py" "$tmp/soak.py" send-udp "$fwd_udp_port"
    step fwd-udp-remove hostfwd remove "udp:127.0.0.1:$fwd_udp_port"
    step fwd-remove hostfwd remove "tcp:127.0.0.1:$fwd_port"
    step fwd-refused-after-remove fwd_refused "$fwd_port"
    echo "cycle" >>"$tmp/hostfwd.cycles"
    sleep 1
    checkpoint
  done
}

# --- sampling --------------------------------------------------------------------------------

# dotnet-gcdump (optional: `dotnet tool install -g dotnet-gcdump`) forces a full GC and lists the
# live managed objects: taken before the baseline and after the final sample, it tells a managed
# leak from the GC's own growth, and names the type that leaks. SOAK_GCDUMP=0 skips it.
gcdump=$(command -v dotnet-gcdump || echo "$HOME/.dotnet/tools/dotnet-gcdump")
[ -x "$gcdump" ] && [ "${SOAK_GCDUMP:-1}" != 0 ] || gcdump=
heap_dump() { # heap_dump LABEL: the live heap's report into $tmp/heap.LABEL
  [ -n "$gcdump" ] || return 1
  timeout 120 "$gcdump" collect -p "$nd_pid" -o "$tmp/$1.gcdump" >/dev/null 2>&1 &&
    timeout 120 "$gcdump" report "$tmp/$1.gcdump" >"$tmp/heap.$1" 2>/dev/null
}

workers=(traffic churn hostfwd)

# Pauses every worker at its next checkpoint and lets the NAT's short-lived flows expire.
quiesce() {
  touch "$tmp/pause"
  local end=$((SECONDS + 120)) w
  for w in "${workers[@]}"; do
    while [ ! -e "$tmp/idle.$w" ]; do
      if [ $SECONDS -ge $end ]; then reasons+=("worker $w did not reach a checkpoint within 120 s (a hung step?)"); break; fi
      sleep 0.2
    done
  done
  sleep "$settle_secs"
}
resume() { rm -f "$tmp/pause"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$nd_pid/stat" 2>/dev/null || echo 0; }

# What netdevd's descriptors are, one a line, sorted: "socket", "pipe", "eventfd", "tun", or the
# file's path. The runtime keeps a descriptor on every assembly it has loaded (*.dll) and on every
# symbol file it has read (*.pdb); one loaded late, the first time a path runs, stays for good:
# those are counted apart, not as leaks.
fd_targets() {
  local f
  for f in /proc/"$nd_pid"/fd/*; do readlink "$f"; done 2>/dev/null |
    sed -E 's/^(socket|pipe):.*/\1/; s/^anon_inode:\[?([a-z_]+)\]?.*/\1/; s#^/dev/net/tun$#tun#' | sort
}
fd_count() { fd_targets | grep -vcE '\.(dll|pdb)$'; }
fd_kinds() { # "kind:count ..." from a fd_targets list
  sed -E 's#^/.*\.(dll|pdb)$#assembly#; s#^/.*#file#' "$1" | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'
}

# netdevd's threads by name, one a line. The runtime's own threads (named ".NET ...": the thread
# pool's workers, tiered compilation, timers) come and go by themselves; every other thread (the
# main thread, the console logger, netdevd's I/O threads, named after their netdev: "tap:t0:0")
# exists because netdevd made it, and must not outlive what it serves.
thread_names() { cat /proc/"$nd_pid"/task/*/comm 2>/dev/null | sort; }
own_threads() { thread_names | grep -vc '^\.NET '; }

# sample LABEL: appends "label rss_kb fds threads runtime_threads cpu% kinds" to the samples file
# (fds without assemblies; threads all, and those of the runtime), keeps the descriptor and
# thread lists, and prints a row.
last_ticks=0 last_time=0
sample() {
  local rss fds thr pool ticks now cpu
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$nd_pid/status" 2>/dev/null || echo 0)
  # RssAnon: the GC's heap, the JIT's code, stacks; the rest is mapped files (assemblies, runtime).
  anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$nd_pid/status" 2>/dev/null || echo 0)
  thread_names >"$tmp/threads.$1"
  thr=$(wc -l <"$tmp/threads.$1")
  pool=$(grep -c '^\.NET ' "$tmp/threads.$1")
  fd_targets >"$tmp/fds.$1"
  fds=$(grep -vcE '\.(dll|pdb)$' "$tmp/fds.$1")
  ticks=$(cpu_ticks); now=$(date +%s.%N)
  cpu=$(awk -v t="$ticks" -v lt="$last_ticks" -v n="$now" -v ln="$last_time" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (ln > 0) printf "%.0f", 100 * (t - lt) / hz / (n - ln); else print "-" }')
  last_ticks=$ticks; last_time=$now
  local rounds cycles fwd fails
  rounds=$(wc -l <"$tmp/traffic.rounds" 2>/dev/null || echo 0)
  cycles=$(cat "$tmp/churn.cycles" 2>/dev/null || echo 0)
  fwd=$(wc -l <"$tmp/hostfwd.cycles" 2>/dev/null || echo 0)
  fails=$(cat "$tmp"/{traffic,churn,hostfwd}.log 2>/dev/null | grep -c FAIL)
  echo "$1 $rss $fds $thr $pool $cpu $(fd_kinds "$tmp/fds.$1")" >>"$tmp/samples"
  printf '%-8s %8.1f %8.1f %5s %7s %5s %5s %8s %8s %8s %6s\n' "$1" "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" \
    "$(awk -v r="$anon" 'BEGIN { print r / 1024 }')" "$fds" "$thr" "$pool" "$cpu" "$rounds" "$cycles" "$fwd" "$fails"
}

# Running: a netdevd that has exited stays a zombie (our child) until waited for, which kill -0
# would still find.
alive() { [ -n "$nd_pid" ] && [ -e "/proc/$nd_pid" ] && [ "$(awk '{ print $3 }' "/proc/$nd_pid/stat" 2>/dev/null)" != Z ]; }

# --- the run ---------------------------------------------------------------------------------

reasons=()
start_host_side
start_netdevd
echo "soak: netdevd pid $nd_pid, guest $guest_ip; $minutes min, a sample every $sample_secs s; logs in $tmp"

worker_traffic >/dev/null 2>&1 & worker_pids+=($!)
worker_churn >/dev/null 2>&1 & worker_pids+=($!)
worker_hostfwd >/dev/null 2>&1 & worker_pids+=($!)

# Warm-up: every path once (compiled, pools sized), then a quiet baseline.
sleep 20
quiesce
heap_dump warm-up
printf '%-8s %8s %8s %5s %7s %5s %5s %8s %8s %8s %6s\n' sample 'RSS MB' 'anon MB' fds threads '.NET' 'cpu%' rounds churn hostfwd fails
sample warm-up
resume
base_rss=$(awk 'NR == 1 { print $2 }' "$tmp/samples")
base_fds=$(awk 'NR == 1 { print $3 }' "$tmp/samples")
base_thr=$(awk 'NR == 1 { print $4 }' "$tmp/samples")
base_own=$(( base_thr - $(awk 'NR == 1 { print $5 }' "$tmp/samples") ))

run_start=$SECONDS
end=$((SECONDS + minutes * 60))
i=0
while [ $SECONDS -lt $end ] && alive; do
  sleep $(( sample_secs - settle_secs > 1 ? sample_secs - settle_secs : 1 ))
  i=$((i + 1))
  quiesce
  alive || break
  sample "$(( (SECONDS - run_start) / 60 ))m$(printf '%02d' $(( (SECONDS - run_start) % 60 )))s"
  resume
done

# --- the end: stop, settle, check ------------------------------------------------------------

touch "$tmp/stop"
resume
for p in "${worker_pids[@]}"; do
  for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$p" 2>/dev/null && { reasons+=("a worker did not stop within 120 s"); kill -- "-$p" 2>/dev/null; }
  wait "$p" 2>/dev/null
done
worker_pids=()

if ! alive; then
  wait "$nd_pid"; status=$?
  reasons+=("netdevd exited during the run (status $status); last log lines: $(tail -3 "$tmp/netdevd.log" | tr '\n' ' ')")
  nd_pid=
else
  # Descriptors and netdevd's own threads come back to the warm-up baseline once the churn has
  # stopped (give the NAT's flows a minute to expire).
  settle_end=$((SECONDS + 60))
  while [ $SECONDS -lt $settle_end ]; do
    [ "$(fd_count)" = "$base_fds" ] && [ "$(own_threads)" = "$base_own" ] && break
    sleep 2
  done
  sample final
  heap_dump final

  # QMP answers, and the netdevs are the ones it started with.
  netdevs=$(qmp query-netdevs | "$py" -c 'import json,sys
print(" ".join(sorted(n["id"] for n in json.loads(sys.stdin.readline())["return"])))' 2>/dev/null)
  [ "$netdevs" = "ht0 hu0 t0 u0" ] || reasons+=("query-netdevs at the end: '${netdevs:-no answer}', expected 'ht0 hu0 t0 u0'")
  fwds=$(qmp '{"execute":"query-hostfwd","arguments":{"netdev":"u0"}}' | head -1)
  [[ $fwds == '{"return":[]}' ]] || reasons+=("query-hostfwd u0 at the end: $fwds (expected no rules)")

  # A guest netdevd has never seen gets a lease and reaches the gateway.
  if qmp "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"tap\",\"id\":\"tnew\",\"ifname\":\"$ntap\",\"script\":\"no\",\"downscript\":\"no\"}}" \
         '{"execute":"netdev_add","arguments":{"type":"hubport","id":"htnew","hubid":0,"netdev":"tnew"}}' >/dev/null &&
     ip netns add "$nns" && ip -n "$nns" link set lo up && ip -n "$hns" link set "$ntap" netns "$nns" &&
     ip -n "$nns" link set "$ntap" up && dhcp "$nns" "$ntap" "$tmp/lease.new"; then
    new_ip=$(cat "$tmp/lease.new")
    [ "$new_ip" != "$guest_ip" ] || reasons+=("the new guest got the first guest's address $new_ip")
    ip netns exec "$nns" ping -n -q -c 3 -i 0.2 -W 2 10.0.2.2 >/dev/null || reasons+=("the new guest ($new_ip) cannot ping 10.0.2.2")
    echo "soak: a new guest got $new_ip by DHCP"
  else
    reasons+=("a new guest got no DHCP lease at the end")
  fi

  # SIGTERM still stops it, promptly, with status 0 and its QMP socket removed.
  kill -TERM "$nd_pid"
  for _ in $(seq 100); do alive || break; sleep 0.1; done
  if alive; then reasons+=("netdevd did not stop within 10 s of SIGTERM"); kill -KILL "$nd_pid"; fi
  wait "$nd_pid"; status=$?
  [ "$status" = 0 ] || reasons+=("netdevd exited with status $status on SIGTERM")
  [ ! -e "$qmp_sock" ] || reasons+=("netdevd left its QMP socket behind at exit")
  nd_pid=
fi

# --- verdict ---------------------------------------------------------------------------------

echo
echo "baseline after warm-up: RSS $(awk -v r="$base_rss" 'BEGIN { printf "%.1f", r / 1024 }') MB, $base_fds fds (without assemblies), $base_thr threads ($base_own not the runtime's)"
echo "descriptors by kind: warm-up: $(awk 'NR == 1 { $1 = $2 = $3 = $4 = $5 = $6 = ""; print }' "$tmp/samples" | xargs)"
echo "                     final:   $(awk 'END { $1 = $2 = $3 = $4 = $5 = $6 = ""; print }' "$tmp/samples" | xargs)"

# Thirds of the in-run samples (the lines between the warm-up and the final sample).
n_run=$(( $(wc -l <"$tmp/samples") - 2 ))
if [ "$n_run" -ge 3 ]; then
  third=$(( n_run / 3 ))
  # thirds FIRST_LINE LAST_LINE: the maxima of RSS, fds, netdevd's threads, the runtime's threads.
  thirds() { awk -v a="$1" -v b="$2" 'NR >= a && NR <= b { if ($2 > r) r = $2; if ($3 > f) f = $3; if ($4 - $5 > t) t = $4 - $5; if ($5 > n) n = $5 }
    END { print r, f, t, n }' "$tmp/samples"; }
  read -r first_rss first_fds first_thr first_rt < <(thirds 2 $((1 + third)))
  read -r last_rss last_fds last_thr last_rt < <(thirds $((n_run + 2 - third)) $((n_run + 1)))
  echo "first third max: RSS $((first_rss / 1024)) MB, $first_fds fds, $first_thr threads of netdevd's (+$first_rt of the runtime's)"
  echo "last third max:  RSS $((last_rss / 1024)) MB, $last_fds fds, $last_thr threads of netdevd's (+$last_rt of the runtime's)"
  rss_limit=$(( first_rss + (first_rss * rss_pct / 100 > rss_abs_mb * 1024 ? first_rss * rss_pct / 100 : rss_abs_mb * 1024) ))
  if [ "$minutes" -lt "$rss_min_minutes" ]; then
    echo "(RSS not judged: runs shorter than $rss_min_minutes min end inside the GC's growth)"
  elif [ "$last_rss" -gt "$rss_limit" ]; then reasons+=("RSS grew: last third's max $((last_rss / 1024)) MB > first third's max $((first_rss / 1024)) MB + max($rss_pct %, $rss_abs_mb MB) = $((rss_limit / 1024)) MB"); fi
  [ "$last_fds" -le "$first_fds" ] || reasons+=("descriptors grew: last third's max $last_fds > first third's max $first_fds (quiet samples)")
  [ "$last_thr" -le "$first_thr" ] || reasons+=("netdevd's threads grew: last third's max $last_thr > first third's max $first_thr (quiet samples)")
else
  echo "(fewer than 3 samples in the run: no thirds compared; run 3 minutes or more)"
fi
if [ -s "$tmp/fds.final" ]; then
  read -r fin_fds fin_thr fin_pool < <(awk 'END { print $3, $4, $5 }' "$tmp/samples")
  [ "$fin_fds" = "$base_fds" ] || reasons+=("descriptors not back to the warm-up baseline after the churn stopped: $fin_fds, baseline $base_fds; more: $(comm -13 "$tmp/fds.warm-up" "$tmp/fds.final" | grep -vE '\.(dll|pdb)$' | uniq -c | xargs); fewer: $(comm -23 "$tmp/fds.warm-up" "$tmp/fds.final" | uniq -c | xargs)")
  [ $((fin_thr - fin_pool)) = "$base_own" ] ||
    reasons+=("netdevd's own threads not back to the warm-up baseline after the churn stopped: $((fin_thr - fin_pool)), baseline $base_own; more: $(comm -13 "$tmp/threads.warm-up" "$tmp/threads.final" | grep -v '^\.NET ' | uniq -c | xargs); fewer: $(comm -23 "$tmp/threads.warm-up" "$tmp/threads.final" | grep -v '^\.NET ' | uniq -c | xargs)")
  late=$(comm -13 "$tmp/fds.warm-up" "$tmp/fds.final" | grep -E '\.(dll|pdb)$' | sort -u | xargs -r -n1 basename | xargs)
  [ -z "$late" ] || echo "assemblies loaded after the warm-up (descriptors kept for good, not counted): $late"
  # The runtime reads a module's .pdb only to put file and line numbers into a stack trace: some
  # exception's trace was rendered (ToString, StackTrace) in that module, although the log is clean.
  [[ $late != *.pdb* ]] || echo "NOTE: a .pdb was read during the run: a stack trace with line numbers was rendered in that module (an exception turned into text somewhere)"
fi

# The live managed heap may grow by this much (caches filled once, e.g. by the first use of a path).
if [ -s "$tmp/heap.warm-up" ] && [ -s "$tmp/heap.final" ]; then
  "$py" "$tmp/soak.py" heap-diff "$tmp/heap.warm-up" "$tmp/heap.final" >"$tmp/heap.diff"
  grep -v '^heap-growth-kb' "$tmp/heap.diff"
  heap_kb=$(awk '/^heap-growth-kb/ { print $2 }' "$tmp/heap.diff")
  [ "${heap_kb:-0}" -le $((heap_abs_mb * 1024)) ] || reasons+=("live managed heap grew by $((heap_kb / 1024)) MB (> $heap_abs_mb MB) from the warm-up to the end, with nothing left but the fixed topology")
else
  echo "(no dotnet-gcdump: the live managed heap is not compared)"
fi

# Every step of every worker worked.
for w in "${workers[@]}"; do
  fails=$(grep -c FAIL "$tmp/$w.log" 2>/dev/null)
  oks=$(grep -c '^OK' "$tmp/$w.log" 2>/dev/null)
  echo "$w: ${oks:-0} steps ok, ${fails:-0} failed"
  if [ "${fails:-0}" -gt 0 ]; then
    reasons+=("$w: $fails failed steps: $(grep FAIL "$tmp/$w.log" | sed -E 's/^[0-9:]+ FAIL ([^:]+):.*/\1/' | sort | uniq -c | xargs)")
    grep FAIL "$tmp/$w.log" | head -5 | sed 's/^/    /'
  fi
done

# netdevd's log: anything at warning level or above, or any exception, is a finding.
bad=$(grep -n -i -E '(^|[ :])(warn|fail|crit):|exception|unhandled|error' "$tmp/netdevd.log" "$tmp/netdevd.out" | head -20)
[ -z "$bad" ] || { reasons+=("netdevd's log has $(grep -c -i -E '(^|[ :])(warn|fail|crit):|exception|unhandled|error' "$tmp/netdevd.log") warning/error lines"); echo "$bad" | sed 's/^/    /'; }

echo
if [ ${#reasons[@]} -eq 0 ]; then
  rss_word="RSS, "; [ "$minutes" -ge "$rss_min_minutes" ] || rss_word="(RSS not judged) "
  echo "PASS: $minutes min; ${rss_word}descriptors and threads flat; no failed step; clean log; QMP and DHCP answer a new guest"
  exit 0
fi
echo "FAIL:"
for r in "${reasons[@]}"; do echo "  - $r"; done
exit 1
