#!/usr/bin/env bash
# tap<->tap through a hub between two network namespaces: netdevd (vnet_hdr on and off) vs
# QEMU 7.2 (-netdev tap x2 + hubports) vs a kernel veth pair. iperf3 TCP, one stream, at MTU
# 1500 and 65520. Prints Gbit/s, ratios to QEMU, and CPU (cores busy) per Gbit/s.
# Needs root, iproute2, iperf3, qemu-system-x86_64, the .NET SDK. Usage: bench/tap/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-8}
[ "$(id -u)" = 0 ] || { echo "bench/tap: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3 qemu-system-x86_64; do command -v "$t" >/dev/null || { echo "bench/tap: $t missing"; exit 1; }; done

[ "${BENCH_BUILD:-1}" = 0 ] || dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
nd=src/Netdevd/bin/Release/net10.0/netdevd

tag=$$
nsa=ndb-a-$tag nsb=ndb-b-$tag
ta=ndba$tag tb=ndbb$tag
fwd_pid=
cleanup() {
  [ -n "$fwd_pid" ] && kill "$fwd_pid" 2>/dev/null && wait "$fwd_pid" 2>/dev/null || true
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  ip link del "$ta" 2>/dev/null || true
  ip link del "$tb" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$nsa"; ip netns add "$nsb"

# Moves the two interfaces into the namespaces and gives them addresses.
plumb() {
  local mtu=$1
  ip link set "$ta" netns "$nsa"; ip link set "$tb" netns "$nsb"
  ip -n "$nsa" link set "$ta" mtu "$mtu" up; ip -n "$nsb" link set "$tb" mtu "$mtu" up
  ip -n "$nsa" addr add 10.77.0.1/24 dev "$ta"; ip -n "$nsb" addr add 10.77.0.2/24 dev "$tb"
  ip -n "$nsa" link set lo up; ip -n "$nsb" link set lo up
}

wait_links() {
  for _ in $(seq 100); do ip link show "$ta" >/dev/null 2>&1 && ip link show "$tb" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench/tap: taps did not appear"; return 1
}

cpu_ticks() { # utime+stime of a process, in clock ticks
  awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
sys_busy() { # busy ticks of the whole machine
  awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat
}

# Runs iperf3 A -> B; prints "Gbit/s fwd_cores sys_cores".
measure() {
  ip netns exec "$nsb" iperf3 -s -1 -D -I /tmp/ndb-iperf-$tag.pid >/dev/null
  sleep 0.3
  ip netns exec "$nsa" ping -c 1 -W 2 10.77.0.2 >/dev/null || { echo "0 0 0"; return; }
  local f0 s0 f1 s1 hz=$(getconf CLK_TCK) ncpu=$(nproc)
  f0=$([ -n "$fwd_pid" ] && cpu_ticks "$fwd_pid" || echo 0); s0=$(sys_busy)
  local json; json=$(ip netns exec "$nsa" iperf3 -c 10.77.0.2 -t "$secs" -J 2>/dev/null || true)
  f1=$([ -n "$fwd_pid" ] && cpu_ticks "$fwd_pid" || echo 0); s1=$(sys_busy)
  local bps; bps=$(printf '%s' "$json" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])
except Exception: print(0)')
  python3 -c "g=$bps/1e9; fc=($f1-$f0)/$hz/$secs; sc=($s1-$s0)/$hz/$secs; print(f'{g:.2f} {fc:.2f} {sc:.2f}')"
  rm -f /tmp/ndb-iperf-$tag.pid
}

run_case() { # name mtu
  local name=$1 mtu=$2
  case $name in
    veth)
      fwd_pid=
      ip link add "$ta" type veth peer name "$tb" ;;
    qemu)
      qemu-system-x86_64 -M none -nodefaults -display none \
        -netdev tap,id=t0,ifname="$ta",script=no,downscript=no -netdev tap,id=t1,ifname="$tb",script=no,downscript=no \
        -netdev hubport,id=h0,hubid=0,netdev=t0 -netdev hubport,id=h1,hubid=0,netdev=t1 \
        -monitor none -serial none -daemonize -pidfile /tmp/ndb-qemu-$tag.pid >/dev/null
      fwd_pid=$(cat /tmp/ndb-qemu-$tag.pid); rm -f /tmp/ndb-qemu-$tag.pid ;;
    netdevd-vnet|netdevd-novnet|netdevd-seg|netdevd-gro)
      # seg: A's super-frames are segmented in software for B (vnet_hdr off);
      # gro: A's plain frames are merged into super-frames for B (vnet_hdr on).
      local va=on vb=on
      case $name in netdevd-novnet) va=off vb=off ;; netdevd-seg) vb=off ;; netdevd-gro) va=off ;; esac
      "$nd" --netdev tap,id=t0,ifname="$ta",script=no,downscript=no,vnet_hdr=$va \
            --netdev tap,id=t1,ifname="$tb",script=no,downscript=no,vnet_hdr=$vb \
            --netdev hubport,id=h0,hubid=0,netdev=t0 --netdev hubport,id=h1,hubid=0,netdev=t1 \
            --qmp unix:/tmp/ndb-qmp-$tag.sock,server=on,wait=off ${BENCH_NETDEVD_ARGS:-} 2>/dev/null &
      fwd_pid=$! ;;
  esac
  wait_links
  plumb "$mtu"
  local r; r=$(measure)
  if [ -n "$fwd_pid" ]; then kill "$fwd_pid" 2>/dev/null || true; wait "$fwd_pid" 2>/dev/null || true
    while kill -0 "$fwd_pid" 2>/dev/null; do sleep 0.1; done; fwd_pid=; fi
  ip netns exec "$nsa" ip link del "$ta" 2>/dev/null || true
  ip netns exec "$nsb" ip link del "$tb" 2>/dev/null || true
  sleep 0.3
  echo "$r"
}

printf '%-15s %6s %9s %9s %11s %11s\n' case mtu Gbit/s xQEMU fwd-cores/G sys-cores/G
for mtu in ${BENCH_MTUS:-1500 65520}; do
  declare -A g=() fc=() sc=()
  for c in ${BENCH_CASES:-qemu netdevd-vnet netdevd-novnet netdevd-seg netdevd-gro veth}; do
    read -r g[$c] fc[$c] sc[$c] < <(run_case "$c" "$mtu")
  done
  for c in ${BENCH_CASES:-qemu netdevd-vnet netdevd-novnet netdevd-seg netdevd-gro veth}; do
    python3 -c "
g=${g[$c]}; q=${g[qemu]:-0}; fc=${fc[$c]}; sc=${sc[$c]}
ratio=f'{g/q:.2f}' if q>0 else '-'
per=lambda x: f'{x/g:.3f}' if g>0 else '-'
print(f'{\"$c\":<15} {$mtu:>6} {g:>9.2f} {ratio:>9} {per(fc) if \"$c\"!=\"veth\" else \"-\":>11} {per(sc):>11}')"
  done
done
