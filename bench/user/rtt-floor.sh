#!/usr/bin/env bash
# The gateway ping RTT's floor on this machine: bench/floor/floor-echo.c (a tap, ARP and echo for
# 10.0.2.2, nothing else) waiting on the tap each way it can (epoll, poll, a blocking read, an
# io_uring read), beside slirp4netns and netdevd (as in run.sh's rows: tap with vnet_hdr=on hubbed
# to -netdev user). Every stack is up at once, each in a namespace of its own, and the pings
# alternate between them in batches of 10, 50 ms apart (the order reversed each round), after 200
# unmeasured pings 5 ms apart: run.sh's side-by-side RTT, for more than two stacks.
# Prints each stack's median RTT in ms.
#
# Why: run.sh's RTT target (no worse than slirp4netns) is missed by ~10 µs of ~85. This tells
# whether the kernel's part (the wake-up, the wait, the tap's read and write) is where it goes:
# session 27 measured epoll 0.068-0.071, poll 0.069, blocking read 0.066, io_uring 0.076,
# a NativeAOT C# loop of the same work 0.072, slirp4netns 0.076-0.079, netdevd 0.085-0.087.
# A floor-echo (or netdevd) stack may carry settings for it after a colon, comma-separated: "epoll:FLOOR_LINES=256"
# adds cold work to each echo (floor-echo.c says which; session 31 priced a cold code line so:
# RTT_FLOOR_STACKS="slirp4netns epoll epoll:FLOOR_LINES=128 epoll:FLOOR_LINES=256,FLOOR_TOUCH=1").
# Needs root, iproute2, iputils-ping, gcc, slirp4netns (liburing-dev for the io_uring mode,
# python3 for FLOOR_LINES).
# Usage: bench/user/rtt-floor.sh [ROUNDS]   (default 6; NETDEVD_BIN=PATH, else the Release build;
#        RTT_FLOOR_STACKS="epoll poll block uring slirp4netns netdevd")
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
. bench/lib/gateway-stack.sh
rounds=${1:-6}
[ "$(id -u)" = 0 ] || { echo "rtt-floor: needs root (namespaces, taps)"; exit 1; }
for t in ip ping gcc; do command -v "$t" >/dev/null || { echo "rtt-floor: $t missing"; exit 1; }; done
stacks=${RTT_FLOOR_STACKS:-epoll poll block uring slirp4netns netdevd}
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
tmp=$(mktemp -d); tag=$$
floor_echo=$tmp/floor-echo
pids=(); namespaces=()
cleanup() {
  stop_gateway_stacks
  rm -rf "$tmp"
}
trap cleanup EXIT

# The cold-lines functions only when a stack asks for them (they add a section to the binary).
extra=() sources=(bench/floor/floor-echo.c)
if [[ "$stacks" == *FLOOR_LINES=* ]]; then
  python3 bench/floor/cold-lines.py "$tmp/cold-lines.c" || exit 1
  extra+=(-DWITH_LINES) sources+=("$tmp/cold-lines.c")
fi
if [ -e /usr/include/liburing.h ]; then
  gcc -O2 -DWITH_URING "${extra[@]}" -o "$tmp/floor-echo" "${sources[@]}" -luring || exit 1
else
  gcc -O2 "${extra[@]}" -o "$tmp/floor-echo" "${sources[@]}" || exit 1
  stacks=$(printf '%s\n' $stacks | grep -v '^uring' | tr '\n' ' ')
fi
command -v slirp4netns >/dev/null || stacks=${stacks//slirp4netns/}
[ -x "$nd" ] || stacks=${stacks//netdevd/}

# Stacks are kept by position, namespaces and taps numbered: a stack's name may hold settings,
# two may share a mode, and the same stack may be listed twice.
read -ra names <<<"$stacks"
for i in "${!names[@]}"; do
  s=${names[$i]}
  ns=ndrf$tag-$i tap=ndrf$tag-$i
  start_gateway_stack "$s" "$ns" "$tap" "$tmp/$i.log" || { echo "rtt-floor: $s did not come up"; cat "$tmp/$i.log"; exit 1; }
done
sleep 1

for i in "${!names[@]}"; do
  ip netns exec "ndrf$tag-$i" ping -n -q -c 200 -i 0.005 10.0.2.2 >/dev/null
  : >"$tmp/rtt.$i"
done
order=${!names[*]}
for _ in $(seq "$rounds"); do
  for i in $order; do
    ip netns exec "ndrf$tag-$i" ping -n -c 10 -i 0.05 -W 1 10.0.2.2 2>/dev/null |
      sed -n 's/.*time=\([0-9.]*\) ms/\1/p' >>"$tmp/rtt.$i"
  done
  order=$(echo $order | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
done

echo "gateway rtt, medians of $((rounds * 10)) pings (ms), load average $(cut -d' ' -f1-3 /proc/loadavg):"
for i in "${!names[@]}"; do
  printf '  %-12s %s\n' "${names[$i]}" "$(sort -n "$tmp/rtt.$i" | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "-" }')"
done
