#!/usr/bin/env bash
# af-xdp (skb and native mode) <-> hub <-> tap against tap <-> hub <-> tap (netdevd without
# vnet_hdr: AF_XDP has no offloads, so both move plain frames) and QEMU 7.2's tap <-> hub <->
# tap (QEMU 10 from bookworm-backports is built without af-xdp, so its af-xdp cannot be run).
# Namespace A sends, namespace B receives through netdevd: one iperf3 TCP stream at MTU 1500,
# and 64-byte frames from a sendmmsg sender (mmsg-sender.c) counted at B's interface.
# Prints Gbit/s, Mpps and ratios to the tap path and to QEMU.
# Needs root, iproute2, ethtool, iperf3, gcc, qemu-system-x86_64, the .NET SDK.
# Usage: bench/af-xdp/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-6}
[ "$(id -u)" = 0 ] || { echo "bench/af-xdp: needs root (namespaces, taps, XDP)"; exit 1; }
for t in ip ethtool iperf3 gcc qemu-system-x86_64; do command -v "$t" >/dev/null || { echo "bench/af-xdp: $t missing"; exit 1; }; done

dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
nd=src/Netdevd/bin/Release/net10.0/netdevd
tag=$$
sender=/tmp/ndx-mmsg-$tag
gcc -O2 -o "$sender" bench/af-xdp/mmsg-sender.c

nsa=ndx-a-$tag nsb=ndx-b-$tag nsx=ndx-x-$tag
va=ndxa$tag vx=ndxx$tag ta=ndxta$tag tb=ndxtb$tag
fwd_pid=
stop_fwd() {
  if [ -n "$fwd_pid" ]; then kill "$fwd_pid" 2>/dev/null || true; wait "$fwd_pid" 2>/dev/null || true
    while kill -0 "$fwd_pid" 2>/dev/null; do sleep 0.1; done; fwd_pid=; fi
}
cleanup() {
  stop_fwd
  for n in "$nsa" "$nsb" "$nsx"; do ip netns del "$n" 2>/dev/null || true; done
  ip link del "$ta" 2>/dev/null || true; ip link del "$tb" 2>/dev/null || true
  rm -f "$sender" /tmp/ndx-qmp-$tag.sock
}
trap cleanup EXIT

wait_link() { # name [netns]
  for _ in $(seq 100); do ip ${2:+-n "$2"} link show "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench/af-xdp: $1 did not appear" >&2; return 1
}

# Runs iperf3 and the 64-byte load A -> B; prints "Gbit/s Mpps".
measure() {
  ip netns exec "$nsa" ping -c 1 -W 3 10.78.0.2 >/dev/null || { echo "0 0"; return; }
  ip netns exec "$nsb" iperf3 -s -1 -D -I /tmp/ndx-iperf-$tag.pid >/dev/null
  sleep 0.3
  local json bps
  json=$(ip netns exec "$nsa" iperf3 -c 10.78.0.2 -t "$secs" -J 2>/dev/null || true)
  bps=$(printf '%s' "$json" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])
except Exception: print(0)')
  rm -f /tmp/ndx-iperf-$tag.pid
  local r0 r1
  r0=$(ip netns exec "$nsb" cat /sys/class/net/"$tb"/statistics/rx_packets)
  ip netns exec "$nsa" "$sender" 10.78.0.2 "$secs" >/dev/null
  sleep 0.5
  r1=$(ip netns exec "$nsb" cat /sys/class/net/"$tb"/statistics/rx_packets)
  python3 -c "print(f'{$bps/1e9:.2f} {($r1-$r0)/$secs/1e6:.3f}')"
}

# B's tap gets 10.78.0.2; A's end (tap or veth) 10.78.0.1.
plumb_b() {
  ip link set "$tb" netns "$nsb"; ip -n "$nsb" link set "$tb" up; ip -n "$nsb" addr add 10.78.0.2/24 dev "$tb"
}

run_case() {
  local name=$1
  for n in "$nsa" "$nsb" "$nsx"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  case $name in
    afxdp-skb|afxdp-native)
      ip -n "$nsx" link add "$vx" type veth peer name "$va" netns "$nsa"
      # AF_XDP has no offloads: A's kernel must finish its own checksums.
      ip netns exec "$nsa" ethtool -K "$va" tx off >/dev/null
      ip -n "$nsx" link set "$vx" up; ip -n "$nsa" link set "$va" up; ip -n "$nsa" addr add 10.78.0.1/24 dev "$va"
      ip netns exec "$nsx" "$nd" --netdev af-xdp,id=x,ifname="$vx",mode="${name#afxdp-}" \
        --netdev tap,id=t1,ifname="$tb",script=no,downscript=no,vnet_hdr=off \
        --netdev hubport,id=h0,hubid=0,netdev=x --netdev hubport,id=h1,hubid=0,netdev=t1 \
        --qmp unix:/tmp/ndx-qmp-$tag.sock,server=on,wait=off 2>/dev/null &
      fwd_pid=$!
      wait_link "$tb" "$nsx"
      ip -n "$nsx" link set "$tb" netns "$nsb"; ip -n "$nsb" link set "$tb" up; ip -n "$nsb" addr add 10.78.0.2/24 dev "$tb" ;;
    tap-hub-tap|qemu-7.2)
      if [ "$name" = qemu-7.2 ]; then
        qemu-system-x86_64 -M none -nodefaults -display none \
          -netdev tap,id=t0,ifname="$ta",script=no,downscript=no -netdev tap,id=t1,ifname="$tb",script=no,downscript=no \
          -netdev hubport,id=h0,hubid=0,netdev=t0 -netdev hubport,id=h1,hubid=0,netdev=t1 \
          -monitor none -serial none -daemonize -pidfile /tmp/ndx-qemu-$tag.pid >/dev/null
        fwd_pid=$(cat /tmp/ndx-qemu-$tag.pid); rm -f /tmp/ndx-qemu-$tag.pid
      else
        "$nd" --netdev tap,id=t0,ifname="$ta",script=no,downscript=no,vnet_hdr=off \
          --netdev tap,id=t1,ifname="$tb",script=no,downscript=no,vnet_hdr=off \
          --netdev hubport,id=h0,hubid=0,netdev=t0 --netdev hubport,id=h1,hubid=0,netdev=t1 \
          --qmp unix:/tmp/ndx-qmp-$tag.sock,server=on,wait=off 2>/dev/null &
        fwd_pid=$!
      fi
      wait_link "$ta"; wait_link "$tb"
      ip link set "$ta" netns "$nsa"; ip -n "$nsa" link set "$ta" up; ip -n "$nsa" addr add 10.78.0.1/24 dev "$ta"
      plumb_b ;;
  esac
  local r; r=$(measure)
  stop_fwd
  for n in "$nsa" "$nsb" "$nsx"; do ip netns del "$n" 2>/dev/null || true; done
  # A socket re-bound on the same queue soon after gives EBUSY for about a second.
  sleep 1
  echo "$r"
}

echo "bench/af-xdp: ${secs}s per figure, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
declare -A g=() p=()
cases="afxdp-skb afxdp-native tap-hub-tap qemu-7.2"
for c in $cases; do
  read -r g[$c] p[$c] < <(run_case "$c")
done
printf '%-13s %8s %8s %10s %10s %10s %10s\n' case Gbit/s Mpps G/tap pps/tap G/QEMU pps/QEMU
for c in $cases; do
  python3 -c "
g=${g[$c]}; p=${p[$c]}; gt=${g[tap-hub-tap]}; pt=${p[tap-hub-tap]}; gq=${g[qemu-7.2]}; pq=${p[qemu-7.2]}
r=lambda a,b: f'{a/b:.2f}' if b>0 else '-'
print(f'{\"$c\":<13} {g:>8.2f} {p:>8.3f} {r(g,gt):>10} {r(p,pt):>10} {r(g,gq):>10} {r(p,pq):>10}')"
done
