#!/usr/bin/env bash
# IPv4 and IPv6 through one user netdev at the same time: one iperf3 stream per family, started
# together, from a guest namespace (tap with vnet_hdr=on hubbed to -netdev user, as run.sh) to
# servers on the host's 127.0.0.1 and ::1 through 10.0.2.2 and fec0::2 (or back with -R).
# Prints each round's Gbit/s per family and v6/v4, then the geometric mean of v6/v4 and a rough
# 95 % interval (mean of the logs +- 2 standard errors).
#
# Why: on a shared machine one family's figure taken seconds after the other's swings +-40 %
# with the load (run.sh's IPv6/IPv4 ratio is two such figures); two streams that run at once
# share the load, so what is left is how the pipeline treats each family: segment sizes,
# windows, ACK timing, wake-ups. It does not see a per-byte cost in netdevd (both streams pay it
# on the same thread): bench/user/cpu-per-gb.sh measures that. Host->guest streams share unevenly
# round by round (one may take 3/4), so that direction needs more rounds than guest->host.
# Needs root, iproute2, iperf3; the .NET SDK unless BENCH_BUILD=0.
# Usage: bench/user/family-share.sh [ROUNDS] [SECONDS]   (default 8 rounds of 4 s)
#   BENCH_MTUS="1500 65520"  BENCH_DIRS="up down"  NETDEVD_BIN=PATH  BENCH_BUILD=0
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
rounds=${1:-8} secs=${2:-4}
[ "$(id -u)" = 0 ] || { echo "family-share: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3; do command -v "$t" >/dev/null || { echo "family-share: $t missing"; exit 1; }; done
if [ "${BENCH_BUILD:-1}" != 0 ]; then
  dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null || { echo "family-share: build failed"; exit 1; }
fi
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
ns=ndfs-$$; tap=ndfst$$; port=$((30000 + $$ % 20000)); port6=$((port + 1)); tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$tap" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$tmp"' EXIT

gbits() {
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") { printf "%.3f\n", $(i - 1) / 1000; found = 1 } }
       END { if (!found) print "0" }' "$1"
}

# Starts netdevd and the guest namespace at MTU $1; false when the tap or SLAAC address never came.
start() {
  ip netns add "$ns"; ip -n "$ns" link set lo up
  "$nd" --netdev "user,id=u0,mtu=$1" --netdev hubport,id=h0,hubid=0,netdev=u0 \
        --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 \
        >"$tmp/nd.log" 2>&1 &
  pids+=($!)
  guest_tap_up "$tap" "$ns" "$1" || return 1
  for _ in $(seq 60); do
    ip -n "$ns" -6 addr show | grep inet6 | grep -qv 'scope link\|scope host\|tentative' && return 0
    sleep 0.1
  done
  return 1
}

echo "family-share: ${rounds} rounds of ${secs} s, load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for mtu in ${BENCH_MTUS:-1500 65520}; do
  for dir in ${BENCH_DIRS:-up down}; do
    cleanup
    start "$mtu" || { echo "mtu $mtu $dir: no guest link or no SLAAC address"; continue; }
    flag=; [ "$dir" = down ] && flag=-R
    ratios=
    for r in $(seq "$rounds"); do
      iperf3 -s -B 127.0.0.1 -p "$port" -1 >/dev/null 2>&1 & s4=$!
      iperf3 -s -B ::1 -p "$port6" -1 >/dev/null 2>&1 & s6=$!
      sleep 0.3
      ip netns exec "$ns" timeout $((secs + 15)) iperf3 -c 10.0.2.2 -p "$port" -t "$secs" $flag -f m >"$tmp/v4" 2>&1 & c4=$!
      ip netns exec "$ns" timeout $((secs + 15)) iperf3 -c fec0::2 -p "$port6" -t "$secs" $flag -f m >"$tmp/v6" 2>&1 & c6=$!
      wait "$c4" "$c6"; kill "$s4" "$s6" 2>/dev/null; wait "$s4" "$s6" 2>/dev/null
      a=$(gbits "$tmp/v4"); b=$(gbits "$tmp/v6")
      x=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0 && b > 0) printf "%.3f", b / a; else print "-" }')
      printf '  mtu %-5s %-4s round %2d: v4 %6s  v6 %6s Gbit/s  v6/v4 %s\n' "$mtu" "$dir" "$r" "$a" "$b" "$x"
      [ "$x" != - ] && ratios="$ratios $x"
    done
    awk -v m="$mtu" -v d="$dir" -v list="$ratios" 'BEGIN {
      n = split(list, x, " "); for (i = 1; i <= n; i++) { l = log(x[i]); s += l; q += l * l }
      if (n < 2) { printf "mtu %s %s: too few rounds\n", m, d; exit }
      mu = s / n; se = sqrt((q - n * mu * mu) / (n - 1) / n)
      printf "mtu %s %s: v6/v4 %.3f (95%% about %.3f-%.3f, %d rounds)\n", m, d, exp(mu), exp(mu - 2 * se), exp(mu + 2 * se), n }'
  done
done
