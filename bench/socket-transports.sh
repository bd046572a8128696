#!/usr/bin/env bash
# Socket transports benchmark (issue [02]): tap -> hub -> TRANSPORT -> hub -> tap between two
# network namespaces, iperf3 TCP single stream, netdevd against QEMU 7.2 on the same path in
# the same run. Prints Gbit/s for each and the ratio netdevd/QEMU.
#
# A third row per case, "floor", is bench/floor/floor-forwarder.c: the least work any user-space
# forwarder can do on this path (one poll loop, plain frames, no copies beyond the kernel's). It
# shows how much of each figure is the kernel's share on this machine: a ratio to QEMU that the
# floor itself cannot reach is out of any implementation's reach here.
#
# Usage (root): bench/socket-transports.sh [seconds-per-run] [runs]   (defaults 5 and 1)
# With runs > 1 each cell is the median of the runs, and min..max is printed as the noise.
# BENCH_TRANSPORTS="stream-unix ..." and BENCH_MTUS="1500 65520" pick a subset; BENCH_IMPLS="netdevd"
# skips QEMU and the floor (which needs gcc); BENCH_BUILD=0 skips the build. A run whose iperf3 fails prints 0 and its error goes to stderr.
# Needs: qemu-system-x86 (7.2), iperf3, iproute2, the .NET SDK. Touches only its own
# namespaces (ndb-a-$$, ndb-b-$$), taps and a temp dir; traffic stays inside them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-1}
transports=${BENCH_TRANSPORTS:-stream-unix stream-inet dgram-inet}
mtus=${BENCH_MTUS:-1500 65520}
impls=${BENCH_IMPLS:-qemu netdevd floor}
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces and taps)"; exit 2; }
for t in qemu-system-x86_64 iperf3 ip; do command -v "$t" >/dev/null || { echo "bench: $t missing"; exit 2; }; done

# BENCH_BUILD=0 measures the Release build already there (e.g. while a shared tree does not build).
if [ "${BENCH_BUILD:-1}" != 0 ]; then
  dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null || { echo "bench: build failed (BENCH_BUILD=0 uses the existing build)"; exit 2; }
fi
netdevd="dotnet $(pwd)/src/Netdevd/bin/Release/net10.0/netdevd.dll"
work=$(mktemp -d /tmp/ndb-XXXXXX)
if [[ " $impls " == *" floor "* ]]; then
  if command -v gcc >/dev/null && gcc -O2 -o "$work/floor-forwarder" bench/floor/floor-forwarder.c; then :; else
    echo "bench: no gcc (or the floor forwarder did not build): the floor is not measured" >&2
    impls=${impls//floor/}
  fi
fi
nsa="ndb-a-$$"; nsb="ndb-b-$$"
pids=()

cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$nsa" 2>/dev/null || true
  ip netns del "$nsb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$nsa"; ip netns add "$nsb"

# wait_tap NAME: the forwarder has created tap NAME in this namespace.
wait_tap() { for _ in $(seq 200); do ip link show "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "bench: tap $1 did not appear"; return 1; }

# place TAP NS ADDR MTU: moves a tap into a namespace and configures it.
place() {
  ip link set "$1" netns "$2"
  ip -n "$2" link set lo up
  ip -n "$2" link set "$1" mtu "$4" up
  ip -n "$2" addr add "$3/24" dev "$1"
}

# measure MTU: iperf3 from A to B, prints Gbit/s.
measure() {
  ip netns exec "$nsb" iperf3 -s -1 -D -B 10.99.0.2 -I "$work/iperf-s.pid" >/dev/null 2>&1
  sleep 0.3
  ip netns exec "$nsa" iperf3 -c 10.99.0.2 -t "$secs" -f g >"$work/iperf.out" 2>&1 || true
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i - 1) }' "$work/iperf.out"
  grep -q receiver "$work/iperf.out" || { echo "bench: iperf3 failed:" >&2; tail -3 "$work/iperf.out" >&2; }
  # A one-off server whose client never came would stay; end it (only ours, by its pid file).
  [ -s "$work/iperf-s.pid" ] && kill "$(cat "$work/iperf-s.pid")" 2>/dev/null || true
  rm -f "$work/iperf-s.pid"
}

stop_all() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
  ip -n "$nsa" link del ndta 2>/dev/null || true
  ip -n "$nsb" link del ndtb 2>/dev/null || true
}

# run IMPL TRANSPORT MTU -> Gbit/s. IMPL is netdevd or qemu; TRANSPORT is stream-unix, stream-inet or dgram-inet.
run() {
  local impl=$1 transport=$2 mtu=$3 port=$((20000 + RANDOM % 20000)) srv cli
  case $transport in
    stream-unix) srv="stream,id=x,server=on,addr.type=unix,addr.path=$work/s.sock"
                 cli="stream,id=x,server=off,addr.type=unix,addr.path=$work/s.sock" ;;
    stream-inet) srv="stream,id=x,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$port"
                 cli="stream,id=x,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=$port" ;;
    dgram-inet)  srv="dgram,id=x,local.type=inet,local.host=127.0.0.1,local.port=$port,remote.type=inet,remote.host=127.0.0.1,remote.port=$((port + 1))"
                 cli="dgram,id=x,local.type=inet,local.host=127.0.0.1,local.port=$((port + 1)),remote.type=inet,remote.host=127.0.0.1,remote.port=$port" ;;
  esac
  rm -f "$work/s.sock"
  local side tap spec floor_args
  for side in a b; do
    tap="ndt$side"; spec=$srv; [ "$side" = b ] && spec=$cli
    case $transport-$side in
      stream-unix-a) floor_args="unix-server $work/s.sock" ;;
      stream-unix-b) floor_args="unix-client $work/s.sock" ;;
      stream-inet-a) floor_args="tcp-server $port" ;;
      stream-inet-b) floor_args="tcp-client $port" ;;
      dgram-inet-a)  floor_args="udp $port $((port + 1))" ;;
      dgram-inet-b)  floor_args="udp $((port + 1)) $port" ;;
    esac
    if [ "$impl" = floor ]; then
      # shellcheck disable=SC2086 # the arguments are words on purpose
      "$work/floor-forwarder" "$tap" $floor_args >/dev/null 2>&1 &
    elif [ "$impl" = qemu ]; then
      qemu-system-x86_64 -M none -nodefaults -display none \
        -netdev "tap,id=t,ifname=$tap,script=no,downscript=no" -netdev "$spec" \
        -netdev hubport,id=h1,hubid=0,netdev=t -netdev hubport,id=h2,hubid=0,netdev=x >/dev/null 2>&1 &
    else
      $netdevd --qmp "unix:$work/qmp-$side.sock,server=on,wait=off" \
        --netdev "tap,id=t,ifname=$tap,script=no,downscript=no" --netdev "$spec" \
        --netdev hubport,id=h1,hubid=0,netdev=t --netdev hubport,id=h2,hubid=0,netdev=x >/dev/null 2>&1 &
    fi
    pids+=($!)
    wait_tap "$tap"
    sleep 0.5
  done
  place ndta "$nsa" 10.99.0.1 "$mtu"
  place ndtb "$nsb" 10.99.0.2 "$mtu"
  sleep 1
  local g; g=$(measure); stop_all
  echo "${g:-0}"
}

# median VALUES...: the middle value (the mean of the two middle ones for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# spread VALUES...: min..max.
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }

printf '%-12s %6s %10s %14s %10s %14s %7s %8s %12s %7s\n' transport mtu "qemu Gb/s" "qemu range" "netdevd" "netdevd range" ratio floor "floor range" "floor/q"
for mtu in $mtus; do
  for transport in $transports; do
    [ "$transport" = dgram-inet ] && [ "$mtu" -gt 65000 ] && mtu_eff=65000 || mtu_eff=$mtu
    qs=(); ns=(); fs=()
    for _ in $(seq "$runs"); do
      # Interleaved, so slow phases of a shared machine hit both implementations alike.
      [[ " $impls " == *" qemu "* ]] && qs+=("$(run qemu "$transport" "$mtu_eff")")
      [[ " $impls " == *" netdevd "* ]] && ns+=("$(run netdevd "$transport" "$mtu_eff")")
      [[ " $impls " == *" floor "* ]] && fs+=("$(run floor "$transport" "$mtu_eff")")
    done
    q=0; n=0; f=0; qr=-; nr=-; fr=-
    [ ${#qs[@]} -gt 0 ] && { q=$(median "${qs[@]}"); qr=$(spread "${qs[@]}"); }
    [ ${#ns[@]} -gt 0 ] && { n=$(median "${ns[@]}"); nr=$(spread "${ns[@]}"); }
    [ ${#fs[@]} -gt 0 ] && { f=$(median "${fs[@]}"); fr=$(spread "${fs[@]}"); }
    ratio=$(awk -v n="$n" -v q="$q" 'BEGIN { if (q > 0) printf "%.2f", n / q; else print "n/a" }')
    fratio=$(awk -v f="$f" -v q="$q" 'BEGIN { if (q > 0 && f > 0) printf "%.2f", f / q; else print "n/a" }')
    printf '%-12s %6s %10s %14s %10s %14s %7s %8s %12s %7s\n' "$transport" "$mtu_eff" "$q" "$qr" "$n" "$nr" "$ratio" "$f" "$fr" "$fratio"
  done
done
