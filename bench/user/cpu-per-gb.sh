#!/usr/bin/env bash
# netdevd's CPU seconds per GB moved through the user netdev (utime+stime of the process from
# /proc/PID/stat across one iperf3 -n transfer), A/B between builds, back to back: the figure to
# judge a change by on a shared machine, where Gbit/s swing 2-3x with the load. One TCP stream,
# the guest a network namespace behind `-netdev tap,vnet_hdr=on` hubbed to `-netdev user`, as in
# bench/user/run.sh. A pasta binary (its name ends in "pasta"; a link named pasta to netdevd is
# netdevd's pasta personality) is measured the same way.
# Usage: bench/user/cpu-per-gb.sh CASES BIN [BIN...]
#   CASES: comma-separated of v4u v4d v6u v6d fwd fwd6 (u: guest->host, d: host->guest through
#          10.0.2.2 / fec0::2 to the host's loopback; fwd/fwd6: a host client through a hostfwd
#          on 127.0.0.1 / [::1] to a server in the guest; pasta: fwd only, its -t splice)
#   BENCH_MTU=65520  BENCH_GB=2 (GiB per transfer)  BENCH_ROUNDS=3
set -uo pipefail
. "$(dirname "$0")/../lib/guest-tap.sh"
[ "$(id -u)" = 0 ] || { echo "cpu-per-gb: needs root (namespaces, taps)"; exit 1; }
[ $# -ge 2 ] || { sed -n '2,12p' "$0"; exit 1; }
cases=${1//,/ }; shift
mtu=${BENCH_MTU:-65520} gib=${BENCH_GB:-2} rounds=${BENCH_ROUNDS:-3}
ns=ndcpu-$$; tap=ndcput$$; port=$((30000 + $$ % 10000)); fwd=$((port + 1)); fwd6=$((port + 2))
nd= srv=

cleanup() {
  [ -n "$srv" ] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
  [ -n "$nd" ] && { kill "$nd" 2>/dev/null; wait "$nd" 2>/dev/null; }
  srv= nd=
  ip netns del "$ns" 2>/dev/null; ip link del "$tap" 2>/dev/null
  return 0
}
trap cleanup EXIT

# Starts BIN with the guest namespace; sets nd (its PID), gw and gw6.
start() {
  local bin=$1
  ip netns add "$ns"; ip -n "$ns" link set lo up
  if [[ $bin == *pasta ]]; then
    # netdevd's pasta personality (a link to netdevd) has no --runas; a real pasta needs it as root.
    local runas=(--runas 0:0)
    [[ $(readlink -f "$bin") == */netdevd ]] && runas=()
    "$bin" --config-net "${runas[@]}" -m "$mtu" -t "127.0.0.1/$fwd:$port" -u none -T none -U none --netns "/run/netns/$ns" -f >/dev/null 2>&1 &
    nd=$!; sleep 1
    gw=$(ip -n "$ns" route show default | awk '/default/ {print $3; exit}')
    gw6=$(ip -n "$ns" -6 route show default | awk '/default/ {print $3; exit}')
    return
  fi
  "$bin" --netdev "user,id=u0,mtu=$mtu,hostfwd=tcp:127.0.0.1:$fwd-10.0.2.15:$port,hostfwd=tcp:[::1]:$fwd6-[fec0::15]:$port" \
    --netdev hubport,id=h0,hubid=0,netdev=u0 \
    --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 >/dev/null 2>&1 &
  nd=$!
  guest_tap_up "$tap" "$ns" "$mtu"
  ip -n "$ns" -6 addr add fec0::15/64 dev "$tap" nodad
  gw=10.0.2.2 gw6=fec0::2
  sleep 0.5
}

ticks() { awk '{ print $14 + $15 }' "/proc/$nd/stat"; }

# One transfer of CASE through BIN: prints "cpu-s/GB Gbit/s".
measure() {
  local bin=$1 case=$2 t0 t1 out
  start "$bin"
  case $case in
    v4u|v4d|v6u|v6d)
      local bind=127.0.0.1 target=$gw dir=
      [[ $case == v6* ]] && { bind=::1; target=$gw6; }
      [[ $case == *d ]] && dir=-R
      iperf3 -s -B "$bind" -p "$port" -1 >/dev/null 2>&1 & srv=$!; sleep 0.3
      t0=$(ticks)
      out=$(ip netns exec "$ns" timeout 120 iperf3 -c "$target" -p "$port" -n "${gib}G" $dir -f m 2>&1) ;;
    fwd|fwd6)
      local addr=127.0.0.1 p=$fwd
      [ "$case" = fwd6 ] && { addr=::1; p=$fwd6; }
      ip netns exec "$ns" iperf3 -s -p "$port" -1 >/dev/null 2>&1 & srv=$!; sleep 0.3
      t0=$(ticks)
      out=$(timeout 120 iperf3 -c "$addr" -p "$p" -n "${gib}G" -f m 2>&1) ;;
  esac
  t1=$(ticks)
  cleanup
  awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v gb="$(awk -v g="$gib" 'BEGIN { print g * 1.073741824 }')" '
    /receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") r = $(i - 1) / 1000 }
    END { if (r > 0) printf "%.3f %.2f\n", t / hz / gb, r; else print "- -" }' <<<"$out"
}

echo "cpu-per-gb: mtu $mtu, ${gib} GiB per transfer, $rounds round(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A sum count
for ((r = 1; r <= rounds; r++)); do
  for c in $cases; do
    for b in "$@"; do
      read -r cpu rate < <(measure "$b" "$c")
      printf '  %-5s %-40s %s cpu-s/GB  %s Gbit/s  (load %s)\n' "$c" "$b" "$cpu" "$rate" "$(cut -d' ' -f1 /proc/loadavg)"
      [ "$cpu" != - ] && { sum[$c.$b]=$(awk -v a="${sum[$c.$b]:-0}" -v b="$cpu" 'BEGIN { print a + b }'); count[$c.$b]=$((${count[$c.$b]:-0} + 1)); }
    done
  done
done
echo "average cpu-s/GB:"
for c in $cases; do
  for b in "$@"; do
    [ -n "${count[$c.$b]:-}" ] && printf '  %-5s %-40s %.3f (%d)\n' "$c" "$b" "$(awk -v a="${sum[$c.$b]}" -v n="${count[$c.$b]}" 'BEGIN { print a / n }')" "${count[$c.$b]}"
  done
done
