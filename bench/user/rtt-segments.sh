#!/usr/bin/env bash
# Where a gateway ping's time goes, netdevd beside slirp4netns: for each echo, the stack's thread
# from the tap's wake-up to its reply, cut at the kernel's own tracepoints (no probes in either
# program): woken -> on a CPU -> the wait returns (netdevd's epoll_wait, slirp4netns's poll) ->
# read enters -> read returns -> write enters (the reply) -> write returns (the kernel delivers the
# reply to ping inside that write).
# Prints per round each stack's ping RTT median and the median of each segment, in µs.
#
# Why: run.sh's RTT target (no worse than slirp4netns) is missed by 5-15 µs of ~80, too little
# for a profile to place; these segments showed where (session 19: between poll's return and the
# read, 11-13 µs against slirp4netns's 6-7; the frame's own processing, read to write, equal).
# Same setup as run.sh's netdevd stack (tap with vnet_hdr=on hubbed to -netdev user) and its
# slirp4netns (--configure); pings 20 ms apart after 200 unmeasured ones 5 ms apart.
# Needs root, iproute2, iputils-ping, python3, perf (linux-perf), slirp4netns.
# Usage: bench/user/rtt-segments.sh [ROUNDS]   (default 3; NETDEVD_BIN=PATH, else the JIT build)
set -uo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
[ "$(id -u)" = 0 ] || { echo "rtt-segments: needs root (namespaces, taps, system-wide tracepoints)"; exit 1; }
for t in ip ping python3 perf slirp4netns; do command -v "$t" >/dev/null || { echo "rtt-segments: $t missing"; exit 1; }; done
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
[ -x "$nd" ] || { echo "rtt-segments: no netdevd at $nd (build it, or set NETDEVD_BIN)"; exit 1; }
tag=$$; tmp=$(mktemp -d); pids=(); namespaces=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
  ip link del "ndrst$tag" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# netdevd: its frame thread is the tap's ("tap:t0:0").
ns_nd=ndrs-$tag; namespaces+=("$ns_nd"); ip netns add "$ns_nd"; ip -n "$ns_nd" link set lo up
"$nd" --netdev user,id=u0 --netdev hubport,id=h0,hubid=0,netdev=u0 \
      --netdev tap,id=t0,ifname="ndrst$tag",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 \
      >"$tmp/nd.log" 2>&1 &
nd_pid=$!; pids+=("$nd_pid")
for _ in $(seq 100); do ip link show "ndrst$tag" >/dev/null 2>&1 && break; sleep 0.1; done
ip link set "ndrst$tag" netns "$ns_nd" || { echo "rtt-segments: netdevd made no tap"; cat "$tmp/nd.log"; exit 1; }
ip -n "$ns_nd" link set "ndrst$tag" up; ip -n "$ns_nd" addr add 10.0.2.15/24 dev "ndrst$tag"; ip -n "$ns_nd" route add default via 10.0.2.2
nd_tid=
for _ in $(seq 50); do
  nd_tid=$(grep -l '^tap:t0' /proc/"$nd_pid"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
  [ -n "$nd_tid" ] && break; sleep 0.1
done
[ -n "$nd_tid" ] || { echo "rtt-segments: no tap:t0 thread in netdevd"; exit 1; }

# slirp4netns: one thread.
ns_s4=ndrs4-$tag; namespaces+=("$ns_s4"); ip netns add "$ns_s4"; ip -n "$ns_s4" link set lo up
slirp4netns --configure --netns-type=path "/run/netns/$ns_s4" tap0 >"$tmp/s4n.log" 2>&1 &
s4_pid=$!; pids+=("$s4_pid"); sleep 1.5

segments() { # TID LABEL < perf script
  python3 -c '
import re, statistics, sys
tid, label = int(sys.argv[1]), sys.argv[2]
names = ["woken->cpu", "cpu->wait-ret", "wait-ret->read", "read", "read-ret->write", "write"]
out = {n: [] for n in names}
st = {}
for line in sys.stdin:
    m = re.match(r"\s*(.*?)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)", line)
    if not m:
        continue
    t, event, rest = float(m.group(3)) * 1e6, m.group(4), m.group(5) + " "
    me = int(m.group(2)) == tid
    if event == "sched:sched_wakeup" and f"pid={tid} " in rest:
        st = {"w": t}
    elif event == "sched:sched_switch" and f"next_pid={tid} " in rest and "w" in st and "c" not in st:
        st["c"] = t
    elif me and event in ("syscalls:sys_exit_poll", "syscalls:sys_exit_epoll_wait") and "c" in st and "p" not in st:
        st["p"] = t
    elif me and event == "syscalls:sys_enter_read" and "p" in st and "r" not in st:
        st["r"] = t
    elif me and event == "syscalls:sys_exit_read" and "r" in st and "x" not in st:
        st["x"] = t
    elif me and event == "syscalls:sys_enter_write" and "x" in st and "y" not in st:
        st["y"] = t
    elif me and event == "syscalls:sys_exit_write" and "y" in st:
        for n, (a, b) in zip(names, [("w", "c"), ("c", "p"), ("p", "r"), ("r", "x"), ("x", "y"), ("y", None)]):
            out[n].append((t if b is None else st[b]) - st[a])
        st = {}
n = len(out["read"])
print(f"{label:<12} echoes {n:>3}  " + "  ".join(f"{k} {statistics.median(v):5.1f}" for k, v in out.items() if v))
' "$1" "$2"
}

echo "rtt-segments: $rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; medians in µs"
for r in $(seq "$rounds"); do
  for stack in netdevd slirp4netns; do
    if [ "$stack" = netdevd ]; then ns=$ns_nd tid=$nd_tid; else ns=$ns_s4 tid=$s4_pid; fi
    ip netns exec "$ns" ping -q -c 200 -i 0.005 10.0.2.2 >/dev/null 2>&1
    perf record -q -a -e sched:sched_wakeup,sched:sched_switch,syscalls:sys_exit_poll,syscalls:sys_exit_epoll_wait,syscalls:sys_enter_read,syscalls:sys_exit_read,syscalls:sys_enter_write,syscalls:sys_exit_write \
      -o "$tmp/trace" -- sleep 3.6 >/dev/null 2>&1 &
    tracer=$!; sleep 0.3
    rtt=$(ip netns exec "$ns" ping -n -c 150 -i 0.02 10.0.2.2 2>/dev/null | grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -n |
      awk '{ a[NR] = $1 } END { if (NR) printf "%.0f", a[int(NR / 2) + 1] * 1000; else print "-" }')
    wait "$tracer"
    printf 'round %s rtt %4s  ' "$r" "$rtt"
    perf script -i "$tmp/trace" 2>/dev/null | segments "$tid" "$stack"
  done
done
