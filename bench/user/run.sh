#!/usr/bin/env bash
# Guest (a network namespace) <-> host TCP throughput through user-mode NAT stacks, side by side:
# netdevd's user netdev (hubbed to a tap), QEMU 7.2's -netdev user (hubbed to a tap, -M none),
# slirp4netns and pasta. iperf3, one TCP stream, guest->host and host->guest (-R), at MTU 1500
# and 65520; the host side is an iperf3 server on 127.0.0.1 reached through each stack's
# "host loopback" address. Prints Gbit/s and the ratio of netdevd to each competitor.
# Needs root, iproute2, iperf3, qemu-system-x86_64, slirp4netns, pasta (passt), the .NET SDK.
# pasta reaches the host's loopback through its gateway address (its default --map-gw).
# Usage: bench/user/run.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "bench/user: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3; do command -v "$t" >/dev/null || { echo "bench/user: $t missing"; exit 1; }; done
dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null || { echo "bench/user: build failed"; exit 1; }
nd=src/Netdevd/bin/Release/net10.0/netdevd
ns=ndbu-$$; tap=ndbut$$; port=$((20000 + $$ % 20000)); tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  ip netns del "$ns" 2>/dev/null || true
  ip link del "$tap" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$tmp"' EXIT

start_ns() { ip netns add "$ns"; ip -n "$ns" link set lo up; }

wait_tap() {
  for _ in $(seq 100); do ip link show "$tap" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# Moves the tap into the namespace with address 10.0.2.15/24 and route via 10.0.2.2.
tap_into_ns() {
  local mtu=$1
  wait_tap || return 1
  ip link set "$tap" netns "$ns"
  ip -n "$ns" link set "$tap" mtu "$mtu" up
  ip -n "$ns" addr add 10.0.2.15/24 dev "$tap"
  ip -n "$ns" route add default via 10.0.2.2
}

# iperf3 from the namespace to GW:port; prints Gbit/s (0 on failure).
measure() {
  local gw=$1 dir=$2 json
  iperf3 -s -B 127.0.0.1 -p "$port" -1 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  json=$(ip netns exec "$ns" timeout $((secs + 15)) iperf3 -c "$gw" -p "$port" -t "$secs" $dir -f m 2>/dev/null || true)
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") { printf "%.2f\n", $(i - 1) / 1000; found = 1 } }
       END { if (!found) print "0" }' <<<"$json"
}

# Average ping RTT in ms from the namespace to GW (20 pings, 50 ms apart; "-" when none came back),
# after 3 unmeasured pings: the first echo through a stack can pay one-off costs (netdevd compiles
# its ICMP path then, several ms) that would otherwise dominate a 20-ping average.
rtt() {
  ip netns exec "$ns" ping -n -q -c 3 -i 0.05 -W 1 "$1" >/dev/null 2>&1 || true
  ip netns exec "$ns" ping -n -q -c 20 -i 0.05 -W 1 "$1" 2>/dev/null |
    awk -F'/' '/^rtt|^round-trip/ { print $5; found = 1 } END { if (!found) print "-" }'
}

run_case() {
  local name=$1 mtu=$2 gw=10.0.2.2
  cleanup; start_ns
  case $name in
    netdevd)
      "$nd" --netdev user,id=u0 --netdev hubport,id=h0,hubid=0,netdev=u0 \
            --netdev tap,id=t0,ifname="$tap",script=no,downscript=no --netdev hubport,id=h1,hubid=0,netdev=t0 \
            >"$tmp/nd.log" 2>&1 &
      pids+=($!); tap_into_ns "$mtu" || { echo "0 0 -"; return; } ;;
    qemu)
      command -v qemu-system-x86_64 >/dev/null || { echo "- - -"; return; }
      qemu-system-x86_64 -M none -nodefaults -display none \
        -netdev user,id=u0 -netdev hubport,id=h0,hubid=0,netdev=u0 \
        -netdev tap,id=t0,ifname="$tap",script=no,downscript=no -netdev hubport,id=h1,hubid=0,netdev=t0 \
        >"$tmp/qemu.log" 2>&1 &
      pids+=($!); tap_into_ns "$mtu" || { echo "0 0 -"; return; } ;;
    slirp4netns)
      command -v slirp4netns >/dev/null || { echo "- - -"; return; }
      slirp4netns --configure --mtu="$mtu" --netns-type=path "/run/netns/$ns" tap0 >"$tmp/s4n.log" 2>&1 &
      pids+=($!); sleep 1 ;;
    pasta)
      command -v pasta >/dev/null || { echo "- - -"; return; }
      pasta --config-net --runas 0:0 -m "$mtu" -t none -u none -T none -U none --netns "/run/netns/$ns" -f >"$tmp/pasta.log" 2>&1 &
      pids+=($!); sleep 1
      gw=$(ip -n "$ns" route show default | awk '/default/ {print $3; exit}')
      [ -n "$gw" ] || { echo "0 0 -"; return; } ;;
  esac
  sleep 0.5
  local result
  result="$(measure "$gw" "") $(measure "$gw" -R) $(rtt "$gw")"
  # run_case runs in a subshell (process substitution): end its forwarder here, or it would
  # outlive the case and take CPU from the next ones.
  cleanup
  echo "$result"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2fx\n", a / b; else print "-" }'; }

printf '%-12s %6s %12s %12s %10s\n' stack mtu 'guest->host' 'host->guest' 'rtt ms'
declare -A up down
for mtu in 1500 65520; do
  for c in netdevd qemu slirp4netns pasta; do
    read -r u d r < <(run_case "$c" "$mtu")
    up[$c.$mtu]=$u; down[$c.$mtu]=$d
    printf '%-12s %6s %9s Gb/s %9s Gb/s %10s\n' "$c" "$mtu" "$u" "$d" "${r:--}"
  done
done
echo
echo "netdevd / competitor (guest->host, host->guest):"
for mtu in 1500 65520; do
  for c in qemu slirp4netns pasta; do
    printf '  vs %-12s mtu %-6s %8s %8s\n' "$c" "$mtu" "$(ratio "${up[netdevd.$mtu]}" "${up[$c.$mtu]}")" "$(ratio "${down[netdevd.$mtu]}" "${down[$c.$mtu]}")"
  done
done
