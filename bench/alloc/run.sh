#!/usr/bin/env bash
# Allocations on the data path of the shipped binary: DESIGN.md's "no allocation per frame",
# checked on the NativeAOT build under real traffic rather than in unit tests with test doubles
# (a test double once hid a closure allocated on every batch of a user netdev's frames).
# A uprobe on each of the runtime's allocation helpers (RhpNewFast, RhpNewArrayFast, ... and
# RhpGcAlloc, the slow path) counts every managed allocation of the netdevd processes while a
# workload runs; the frames are the namespace interfaces' packet counters. Workloads:
#   - user: a namespace on a tap hubbed to a user netdev: ping of the gateway (v4, v6), TCP
#     guest->host and host->guest through 10.0.2.2, TCP host->guest through a hostfwd, UDP both
#     ways and guest->host over IPv6;
#   - stream, dgram: two namespaces on taps of two netdevd processes joined by a stream (then a
#     dgram) netdev on loopback: ping, TCP both ways, UDP.
# Prints per workload the allocations, the frames, and allocations per 1000 frames. A handful
# per TCP connection (the flow, its host socket) is expected; a count that grows with the frames
# is a finding. Needs root, perf (uprobes), iproute2, iperf3, iputils-ping, clang and zlib1g-dev.
# Usage: bench/alloc/run.sh [SECONDS]   (NETDEVD_BIN=PATH with NETDEVD_SYMBOLS=its .dbg: another build)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
secs=${1:-3}
# The uprobes are enabled on running processes, through the binary's file: the frame path's code
# must stay mapped from it (netdevd otherwise moves it onto a huge page, see FramePathHugePage).
export NETDEVD_HUGE_TEXT=0
[ "$(id -u)" = 0 ] || { echo "bench/alloc: needs root (namespaces, taps, uprobes)"; exit 1; }
for t in ip iperf3 ping perf nm readelf; do command -v "$t" >/dev/null || { echo "bench/alloc: $t missing"; exit 1; }; done
tmp=$(mktemp -d)
if [ -z "${NETDEVD_BIN:-}" ]; then
  ./publish.sh "$tmp/out" >/dev/null || { echo "bench/alloc: publish failed"; exit 1; }
  bin=$tmp/out/netdevd
  symbols=src/Netdevd/bin/Release/net10.0/linux-x64/native/netdevd.dbg
else
  bin=$NETDEVD_BIN
  symbols=${NETDEVD_SYMBOLS:?bench/alloc: NETDEVD_SYMBOLS (the netdevd.dbg of that build) goes with NETDEVD_BIN}
fi
build_id() { readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: //p'; }
[ "$(build_id "$bin")" = "$(build_id "$symbols")" ] || { echo "bench/alloc: $symbols is not $bin's symbol file"; exit 1; }

group=ndalloc$$
ns=ndal$$; nsb=ndalb$$; port=$((20000 + $$ % 20000))
pids=()
# iperf3 servers run as daemons (-D) with a PID file each; ended by those PIDs.
stop_iperf() { for f in "$tmp"/iperf-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; done; true; }

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  stop_iperf
  wait 2>/dev/null
  perf probe -q -d "$group:*" 2>/dev/null
  ip netns del "$ns" 2>/dev/null; ip netns del "$nsb" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# One probe per allocation helper the runtime has (all managed allocations go through them).
helpers=$(nm --defined-only "$symbols" | awk '$3 ~ /^(RhpNew[A-Za-z]*|RhNewString|RhpGcAlloc)$/ {print $1, $3}')
[ -n "$helpers" ] || { echo "bench/alloc: no allocation helpers in $symbols"; exit 1; }
while read -r addr name; do
  err=$(perf probe -q -x "$bin" -a "$group:$name=0x$addr" 2>&1) || { echo "bench/alloc: uprobe on $name failed: $err"; exit 1; }
done <<< "$helpers"

# frames NS IF...: packets received and sent by those interfaces of the namespace so far.
frames() {
  local n=$1 total=0 c; shift
  for i in "$@"; do
    for d in rx tx; do c=$(ip netns exec "$n" cat "/sys/class/net/$i/statistics/${d}_packets"); total=$((total + c)); done
  done
  echo "$total"
}

# measure LABEL PIDS NS IF -- COMMAND...: allocations of PIDS while COMMAND runs, and the frames.
measure() {
  local label=$1 p=$2 n=$3 i=$4; shift 5
  local before after allocs
  before=$(frames "$n" "$i")
  perf stat -x, -e "$group:*" -p "$p" -o "$tmp/stat" -- "$@" >/dev/null 2>&1
  after=$(frames "$n" "$i")
  allocs=$(awk -F, '$3 ~ /'"$group"'/ {s += $1} END {print s + 0}' "$tmp/stat")
  awk -v l="$label" -v a="$allocs" -v f=$((after - before)) \
    'BEGIN {printf "%-26s %9d allocations %10d frames %10.4f per 1000 frames\n", l, a, f, f ? 1000 * a / f : 0}'
}

wait_link() { for _ in $(seq 100); do ip link show "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

echo "bench/alloc: $bin, ${secs} s per stream"

# user: tap + user netdev on a hub.
ip netns add "$ns"; ip -n "$ns" link set lo up
tap=ndalt$$
"$bin" --netdev "user,id=u0,hostfwd=tcp:127.0.0.1:$((port + 1))-10.0.2.15:$port" --netdev hubport,id=h0,hubid=0,netdev=u0 \
  --netdev "tap,id=t0,ifname=$tap,script=no,downscript=no,vnet_hdr=on" --netdev hubport,id=h1,hubid=0,netdev=t0 >"$tmp/user.log" 2>&1 &
pu=$!; pids+=("$pu")
guest_tap_up "$tap" "$ns" || { echo "bench/alloc: no tap"; exit 1; }
iperf3 -s -B 127.0.0.1 -p "$port" -D -I "$tmp/iperf-h.pid" --logfile "$tmp/ip3h.log"
iperf3 -s -B ::1 -p $((port + 5)) -D -I "$tmp/iperf-h6.pid" --logfile "$tmp/ip3h6.log"
ip netns exec "$ns" iperf3 -s -p "$port" -D -I "$tmp/iperf-g.pid" --logfile "$tmp/ip3g.log"
sleep 3
# Warm-up: the first flows build the pools and tables a steady state reuses.
ip netns exec "$ns" ping -q -c 100 -i 0.01 10.0.2.2 >/dev/null
ip netns exec "$ns" iperf3 -c 10.0.2.2 -p "$port" -t 1 >/dev/null
measure "user ping v4" "$pu" "$ns" "$tap" -- ip netns exec "$ns" ping -q -f -c 5000 10.0.2.2
measure "user ping v6" "$pu" "$ns" "$tap" -- ip netns exec "$ns" ping -6 -q -f -c 5000 fec0::2
measure "user tcp guest->host" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -c 10.0.2.2 -p "$port" -t "$secs"
measure "user tcp host->guest" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -c 10.0.2.2 -p "$port" -t "$secs" -R
measure "user tcp6 guest->host" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -c fec0::2 -p $((port + 5)) -t "$secs"
measure "user hostfwd host->guest" "$pu" "$ns" "$tap" -- iperf3 -c 127.0.0.1 -p $((port + 1)) -t "$secs" -R
measure "user udp guest->host" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -u -b 300M -c 10.0.2.2 -p "$port" -t "$secs"
measure "user udp host->guest" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -u -b 300M -c 10.0.2.2 -p "$port" -t "$secs" -R
measure "user udp6 guest->host" "$pu" "$ns" "$tap" -- ip netns exec "$ns" iperf3 -u -b 300M -c fec0::2 -p $((port + 5)) -t "$secs"
kill "$pu"; wait "$pu" 2>/dev/null
stop_iperf
ip netns del "$ns"; ip netns add "$ns"; ip -n "$ns" link set lo up
ip netns add "$nsb"; ip -n "$nsb" link set lo up

# stream and dgram: tap | hub | stream/dgram === stream/dgram | hub | tap, two processes.
for kind in stream dgram; do
  ta=ndala$$; tb=ndalb$$
  if [ "$kind" = stream ]; then
    la="stream,id=l0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$((port + 2))"
    lb="stream,id=l0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=$((port + 2))"
  else
    la="dgram,id=l0,local.type=inet,local.host=127.0.0.1,local.port=$((port + 3)),remote.type=inet,remote.host=127.0.0.1,remote.port=$((port + 4))"
    lb="dgram,id=l0,local.type=inet,local.host=127.0.0.1,local.port=$((port + 4)),remote.type=inet,remote.host=127.0.0.1,remote.port=$((port + 3))"
  fi
  "$bin" --netdev "tap,id=t0,ifname=$ta,script=no,downscript=no,vnet_hdr=on" --netdev hubport,id=h0,hubid=0,netdev=t0 \
    --netdev "$la" --netdev hubport,id=h1,hubid=0,netdev=l0 >"$tmp/a.log" 2>&1 &
  pa=$!; pids+=("$pa")
  sleep 0.5
  "$bin" --netdev "tap,id=t0,ifname=$tb,script=no,downscript=no,vnet_hdr=on" --netdev hubport,id=h0,hubid=0,netdev=t0 \
    --netdev "$lb" --netdev hubport,id=h1,hubid=0,netdev=l0 >"$tmp/b.log" 2>&1 &
  pb=$!; pids+=("$pb")
  wait_link "$ta" && wait_link "$tb" || { echo "bench/alloc: no taps for $kind"; exit 1; }
  ip link set "$ta" netns "$ns"; ip link set "$tb" netns "$nsb"
  ip -n "$ns" addr add 10.9.0.1/24 dev "$ta"; ip -n "$ns" link set "$ta" up
  ip -n "$nsb" addr add 10.9.0.2/24 dev "$tb"; ip -n "$nsb" link set "$tb" up
  ip netns exec "$nsb" iperf3 -s -p "$port" -D -I "$tmp/iperf-b.pid" --logfile "$tmp/ip3b.log"
  sleep 2
  ip netns exec "$ns" ping -q -c 100 -i 0.01 10.9.0.2 >/dev/null
  ip netns exec "$ns" iperf3 -c 10.9.0.2 -p "$port" -t 1 >/dev/null
  measure "$kind ping" "$pa,$pb" "$ns" "$ta" -- ip netns exec "$ns" ping -q -f -c 5000 10.9.0.2
  measure "$kind tcp a->b" "$pa,$pb" "$ns" "$ta" -- ip netns exec "$ns" iperf3 -c 10.9.0.2 -p "$port" -t "$secs"
  measure "$kind tcp b->a" "$pa,$pb" "$ns" "$ta" -- ip netns exec "$ns" iperf3 -c 10.9.0.2 -p "$port" -t "$secs" -R
  measure "$kind udp a->b" "$pa,$pb" "$ns" "$ta" -- ip netns exec "$ns" iperf3 -u -b 300M -c 10.9.0.2 -p "$port" -t "$secs"
  kill "$pa" "$pb"; wait "$pa" "$pb" 2>/dev/null
  stop_iperf
  ip netns del "$ns"; ip netns del "$nsb"
  ip netns add "$ns"; ip -n "$ns" link set lo up; ip netns add "$nsb"; ip -n "$nsb" link set lo up
done
