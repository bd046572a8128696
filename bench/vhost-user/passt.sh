#!/usr/bin/env bash
# User-mode NAT over vhost-user: netdevd's passt personality against a current passt (2025-01
# from ../shared/peers with upstream's later fix for its vhost-user TCP sequence, built by
# tools/passt-vhost-user.sh; the snapshot as it is shifts the guest's stream), each as the vhost-user back-end
# (`passt --vhost-user --socket PATH`) of the same front-end: netdevd's vhost-user netdev with a
# tap (vnet_hdr=on) in a namespace stands in for QEMU and its guest, so only the back-end
# differs. One iperf3 TCP stream to a server on the host's 127.0.0.1 through each back-end's
# gateway mapping, guest->host and host->guest (-R), at passt's MTU 65520; BENCH_ROUNDS rounds
# with the back-ends interleaved, medians, the ratio netdevd/passt and the back-end's CPU
# seconds per GB (utime+stime of its process).
# Needs root, iproute2, iperf3, python3, gcc and make (for passt). Usage:
#   bench/vhost-user/passt.sh [SECONDS]   (default 5)
#   BENCH_ROUNDS=3  NETDEVD_BIN=PATH (e.g. ./publish.sh's binary; its passt link is used too)
#   PASST_DIR=DIR (where passt is, or is built; default ~/.cache/netdevd-bench/passt-2025-01-vu)
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5} rounds=${BENCH_ROUNDS:-3} mtu=65520
[ "$(id -u)" = 0 ] || { echo "bench/vhost-user/passt: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3 python3; do command -v "$t" >/dev/null || { echo "bench/vhost-user/passt: $t missing"; exit 1; }; done

if [ -n "${NETDEVD_BIN:-}" ]; then
  nd=$NETDEVD_BIN
else
  dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null || { echo "bench/vhost-user/passt: build failed"; exit 1; }
  nd=$PWD/src/Netdevd/bin/Release/net10.0/netdevd
fi
work=$(mktemp -d /tmp/nd-vu-passt.XXXXXX)
# netdevd's passt personality is the binary started under the name passt.
if [ -x "$(dirname "$nd")/passt" ] && [ "$(readlink -f "$(dirname "$nd")/passt")" = "$(readlink -f "$nd")" ]; then
  nd_passt=$(dirname "$nd")/passt
else
  ln -s "$(readlink -f "$nd")" "$work/passt"
  nd_passt=$work/passt
fi

passt_dir=${PASST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netdevd-bench/passt-2025-01-vu}
tools/passt-vhost-user.sh "$passt_dir" >/dev/null || { echo "bench/vhost-user/passt: no passt at $passt_dir (tools/passt-vhost-user.sh builds it)"; exit 1; }

pids=() ns=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  ns=
}
trap 'cleanup; rm -rf "$work"' EXIT

port=$((39000 + $$ % 1000))
iperf3 -s -B 127.0.0.1 -p "$port" -D -I "$work/iperf3.pid" || exit 1
trap 'cleanup; kill "$(cat "$work/iperf3.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT

# One measurement: BACKEND (passt | netdevd) and DIRECTION (u: guest->host, d: host->guest).
# Sets result to "Gbit/s cpu-s/GB" ("- -" when the transfer failed).
measure() {
  local backend=$1 dir=$2 sock=$work/vu.sock tap=ndvp$$ bin args=() guest gw r=()
  ns=ndvp-$$
  rm -f "$sock"
  if [ "$backend" = passt ]; then
    # passt copies the host's address and routes: the guest takes 192.0.2.x-style host addresses
    # and reaches the host's loopback through its gateway; --runas keeps root (as in bench/user).
    bin=$passt_dir/passt args=(--runas 0:0)
    guest=$(ip -4 -o addr show scope global | awk '{print $4; exit}')
    gw=$(ip -4 route show default | awk '{print $3; exit}')
  else
    # netdevd's passt personality: QEMU's user-mode addresses.
    bin=$nd_passt guest=10.0.2.15/24 gw=10.0.2.2
  fi
  result="- -"
  [ -n "$guest" ] && [ -n "$gw" ] || return
  "$bin" --vhost-user --socket "$sock" -f "${args[@]}" >"$work/$backend.log" 2>&1 &
  local back=$!
  pids+=("$back")
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  ip netns add "$ns"; ip -n "$ns" link set lo up
  "$nd" -chardev socket,id=c0,path="$sock" -netdev vhost-user,id=l,chardev=c0 \
    --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on \
    --netdev hubport,id=p0,hubid=0,netdev=l --netdev hubport,id=p1,hubid=0,netdev=t0 >"$work/front.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.05; done
  ip link set "$tap" netns "$ns"; ip -n "$ns" link set "$tap" mtu "$mtu" up
  ip -n "$ns" addr add "$guest" dev "$tap"; ip -n "$ns" route add default via "$gw"
  sleep 0.5
  [ "$dir" = d ] && r=(-R)
  ip netns exec "$ns" iperf3 -c "$gw" -p "$port" -t 1 "${r[@]}" >/dev/null 2>&1
  local t0 t1 out
  t0=$(awk '{print $14 + $15}' "/proc/$back/stat")
  out=$(ip netns exec "$ns" iperf3 -c "$gw" -p "$port" -t "$secs" "${r[@]}" -J 2>/dev/null)
  t1=$(awk '{print $14 + $15}' "/proc/$back/stat")
  result=$(python3 -c '
import json, sys
try:
    e = json.loads(sys.argv[1])["end"]["sum_received"]
    b, s = e["bytes"], e["seconds"]
    print("%.2f %.3f" % (b * 8 / s / 1e9, int(sys.argv[2]) / 100 / (b / 1e9)))
except Exception:
    print("- -")' "$out" "$((t1 - t0))")
  cleanup
}

median() { python3 -c 'import sys, statistics; v = [float(x) for x in sys.argv[1:] if x != "-"]; print("%.2f" % statistics.median(v) if v else "-")' "$@"; }

declare -A gbit cpu
echo "bench/vhost-user/passt: $secs s per measurement, $rounds round(s), MTU $mtu, load average $(cut -d' ' -f1-3 /proc/loadavg); passt: $passt_dir/passt"
printf '%-10s %-6s %10s %12s\n' back-end dir Gbit/s cpu-s/GB
for round in $(seq "$rounds"); do
  for dir in u d; do
    for backend in netdevd passt; do
      measure "$backend" "$dir"
      read -r g c <<<"$result"
      gbit[$backend.$dir]+="$g " cpu[$backend.$dir]+="$c "
      printf '%-10s %-6s %10s %12s   (round %d)\n' "$backend" "$dir" "$g" "$c" "$round"
    done
  done
done

echo "median of $rounds round(s) (u: guest->host, d: host->guest):"
for dir in u d; do
  n=$(median ${gbit[netdevd.$dir]}) p=$(median ${gbit[passt.$dir]})
  nc=$(median ${cpu[netdevd.$dir]}) pc=$(median ${cpu[passt.$dir]})
  ratio=$(python3 -c 'import sys; a, b = sys.argv[1:]; print("%.2fx" % (float(a) / float(b)) if "-" not in (a, b) and float(b) > 0 else "-")' "$n" "$p")
  printf '  %s: netdevd %s Gbit/s (%s cpu-s/GB), passt %s Gbit/s (%s cpu-s/GB): netdevd/passt %s\n' "$dir" "$n" "$nc" "$p" "$pc" "$ratio"
done
