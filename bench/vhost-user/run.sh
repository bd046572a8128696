#!/usr/bin/env bash
# Benchmark (a) of issue [07]: tap -> netdevd A (vhost-user front-end) <-> netdevd B
# (vhost-user-backend) -> tap, against the same two netdevds joined by a stream netdev over a
# unix socket. Taps with vnet_hdr=on in two namespaces; iperf3 TCP, one stream, both
# directions, at MTU 1500 and 65520. Prints Gbit/s, the ratio vhost-user/stream, and the CPU
# of both netdevds (cores busy) per Gbit/s.
# Needs root, iproute2, iperf3, the .NET SDK. Usage: bench/vhost-user/run.sh [SECONDS]
#   BENCH_MTUS="1500 65520"  BENCH_CASES="stream vhost-user"
#   NETDEVD_BIN=PATH (another netdevd build, e.g. ./publish.sh's NativeAOT binary or a copy of the
#   previous build for an A/B; nothing is built then)
#   NETDEVD_ARGS="--io-threads 1" (options for both netdevds, in every case)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-8}
[ "$(id -u)" = 0 ] || { echo "bench/vhost-user: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3; do command -v "$t" >/dev/null || { echo "bench/vhost-user: $t missing"; exit 1; }; done

if [ -n "${NETDEVD_BIN:-}" ]; then
  nd=$NETDEVD_BIN
else
  dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
  nd=src/Netdevd/bin/Release/net10.0/netdevd
fi
[ -x "$nd" ] || { echo "bench/vhost-user: $nd is not an executable"; exit 1; }

tag=$$
nsa=ndv-a-$tag nsb=ndv-b-$tag
ta=ndva$tag tb=ndvb$tag
dir=$(mktemp -d /tmp/ndv-XXXXXX)
pid_a= pid_b=
stop() {
  for p in $pid_a $pid_b; do kill "$p" 2>/dev/null || true; done
  for p in $pid_a $pid_b; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  pid_a= pid_b=
}
cleanup() {
  stop
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$nsa"; ip netns add "$nsb"

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# Starts B then A for case $1, waits for both taps, moves them into the namespaces.
start_case() {
  local name=$1 mtu=$2 sock=$dir/link.sock
  rm -f "$sock"
  local taps_b="--netdev tap,id=tb,ifname=$tb,script=no,downscript=no,vnet_hdr=on --netdev hubport,id=pb1,hubid=0,netdev=tb"
  local taps_a="--netdev tap,id=ta,ifname=$ta,script=no,downscript=no,vnet_hdr=on --netdev hubport,id=pa1,hubid=0,netdev=ta"
  case $name in
    vhost-user)
      "$nd" ${NETDEVD_ARGS:-} --netdev vhost-user-backend,id=l,addr.type=unix,addr.path="$sock",server=on $taps_b \
            --netdev hubport,id=pb0,hubid=0,netdev=l --qmp unix:$dir/qb.sock,server=on,wait=off 2>"$dir/b.log" &
      pid_b=$!
      for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.1; done
      "$nd" ${NETDEVD_ARGS:-} -chardev socket,id=c0,path="$sock" -netdev vhost-user,id=l,chardev=c0 $taps_a \
            --netdev hubport,id=pa0,hubid=0,netdev=l --qmp unix:$dir/qa.sock,server=on,wait=off 2>"$dir/a.log" &
      pid_a=$! ;;
    stream)
      "$nd" ${NETDEVD_ARGS:-} --netdev stream,id=l,server=on,addr.type=unix,addr.path="$sock" $taps_b \
            --netdev hubport,id=pb0,hubid=0,netdev=l --qmp unix:$dir/qb.sock,server=on,wait=off 2>"$dir/b.log" &
      pid_b=$!
      for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.1; done
      "$nd" ${NETDEVD_ARGS:-} --netdev stream,id=l,server=off,addr.type=unix,addr.path="$sock" $taps_a \
            --netdev hubport,id=pa0,hubid=0,netdev=l --qmp unix:$dir/qa.sock,server=on,wait=off 2>"$dir/a.log" &
      pid_a=$! ;;
  esac
  for _ in $(seq 300); do ip link show "$ta" >/dev/null 2>&1 && ip link show "$tb" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 0.5
  ip link set "$ta" netns "$nsa"; ip link set "$tb" netns "$nsb"
  ip -n "$nsa" link set "$ta" mtu "$mtu" up; ip -n "$nsb" link set "$tb" mtu "$mtu" up
  ip -n "$nsa" addr add 10.79.0.1/24 dev "$ta"; ip -n "$nsb" addr add 10.79.0.2/24 dev "$tb"
  ip -n "$nsa" link set lo up; ip -n "$nsb" link set lo up
}

# iperf3 from namespace $1 to address $3 served in namespace $2; prints "Gbit/s cores".
measure() {
  local from=$1 to=$2 addr=$3
  ip netns exec "$to" iperf3 -s -1 >/dev/null 2>&1 &
  local server=$!
  sleep 0.5
  ip netns exec "$from" ping -c 1 -W 5 "$addr" >/dev/null || { echo "bench/vhost-user: no ping $addr" >&2; echo "0 0"; return; }
  local a0 b0 a1 b1 hz; hz=$(getconf CLK_TCK)
  a0=$(cpu_ticks "$pid_a"); b0=$(cpu_ticks "$pid_b")
  local json; json=$(ip netns exec "$from" iperf3 -c "$addr" -t "$secs" -J 2>"$dir/iperf.err" || true)
  [ -n "$json" ] || cat "$dir/iperf.err" >&2
  a1=$(cpu_ticks "$pid_a"); b1=$(cpu_ticks "$pid_b")
  local bps; bps=$(printf '%s' "$json" | python3 -c 'import json,sys
j=json.load(sys.stdin)
try: print(j["end"]["sum_received"]["bits_per_second"])
except Exception: print(0); print("bench/vhost-user: iperf3:", j.get("error"), file=sys.stderr)')
  python3 -c "print(f'{$bps/1e9:.2f} {($a1-$a0+$b1-$b0)/$hz/$secs:.2f}')"
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}

printf '%-11s %6s %-5s %9s %10s %14s\n' case mtu dir Gbit/s xstream cores/Gbit/s
for mtu in ${BENCH_MTUS:-1500 65520}; do
  declare -A g=() c=()
  for name in ${BENCH_CASES:-stream vhost-user}; do
    start_case "$name" "$mtu"
    read -r g[$name,ab] c[$name,ab] < <(measure "$nsa" "$nsb" 10.79.0.2)
    read -r g[$name,ba] c[$name,ba] < <(measure "$nsb" "$nsa" 10.79.0.1)
    stop
    ip -n "$nsa" link del "$ta" 2>/dev/null || true
    ip -n "$nsb" link del "$tb" 2>/dev/null || true
    sleep 0.5
  done
  for name in ${BENCH_CASES:-stream vhost-user}; do
    for d in ab ba; do
      python3 -c "
g=${g[$name,$d]}; s=${g[stream,$d]:-0}; c=${c[$name,$d]}
ratio=f'{g/s:.2f}' if s>0 else '-'
per=f'{c/g:.3f}' if g>0 else '-'
print(f'{\"$name\":<11} {$mtu:>6} {\"A>B\" if \"$d\"==\"ab\" else \"B>A\":<5} {g:>9.2f} {ratio:>10} {per:>14}')"
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
