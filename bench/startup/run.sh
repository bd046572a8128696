#!/usr/bin/env bash
# Start-up and idle memory of netdevd (the NativeAOT build, as passt) beside a current passt
# (2025-01, built from ../shared/peers), started the way libvirt starts passt: the time from
# exec until the first process has exited 0 (the socket then listens), and the daemon's RSS
# after a second of idle. Runs each RUNS times (default 10) and prints medians and ratios.
# Usage: bench/startup/run.sh   (root not needed; builds what it lacks)
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-10}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cache=${NETDEVD_BENCH_CACHE:-/var/tmp/netdevd-bench}
mkdir -p "$cache"

./publish.sh "$work/aot" >/dev/null || { echo "bench/startup: publish failed"; exit 1; }
passt_dir=$cache/passt
for peers in "${NETDEVD_PEERS:-}" ../shared/peers ../../shared/peers; do
  [ -n "$peers" ] && [ -x "$peers/build-passt.sh" ] && break
  peers=
done
[ -x "$passt_dir/passt" ] || { [ -n "$peers" ] && "$peers/build-passt.sh" "$passt_dir" >/dev/null 2>&1; }

# One start: prints "MS RSS_KB" for PROGRAM (a path whose name is passt).
measure() {
  local program=$1 dir; dir=$(mktemp -d -p "$work")
  local start end pid rss
  start=$(date +%s%N)
  "$program" --one-off --socket "$dir/s.sock" --pid "$dir/p.pid" --log-file "$dir/log" --tcp-ports "$(( 20000 + RANDOM % 20000 )):80" </dev/null >/dev/null 2>"$dir/err" || { echo "fail $(cat "$dir/err")"; return; }
  end=$(date +%s%N)
  pid=$(cat "$dir/p.pid" 2>/dev/null)
  sleep 1
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  kill "$pid" 2>/dev/null
  echo "$(( (end - start) / 1000 )) ${rss:-0}"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

row() {
  local name=$1 program=$2 i out
  : > "$work/$name.t"; : > "$work/$name.m"
  for i in $(seq "$runs"); do
    out=$(measure "$program")
    [ "${out%% *}" = fail ] && { echo "$name: $out"; return 1; }
    echo "${out% *}" >> "$work/$name.t"; echo "${out#* }" >> "$work/$name.m"
  done
  t=$(median < "$work/$name.t"); m=$(median < "$work/$name.m")
  printf '%-22s ready %7.1f ms   idle RSS %6.1f MB\n' "$name" "$(echo "$t / 1000" | bc -l)" "$(echo "$m / 1024" | bc -l)"
  eval "${name//[^a-z]/_}_t=$t; ${name//[^a-z]/_}_m=$m"
}

echo "bench/startup: $runs starts each, medians (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
mkdir -p "$work/as" && ln -sf "$work/aot/netdevd" "$work/as/passt"
row netdevd "$work/as/passt" || exit 1
if [ -x "$passt_dir/passt" ]; then
  row passt "$passt_dir/passt" || exit 1
  printf 'ratio netdevd/passt: ready %.2fx, RSS %.2fx   (targets: ready <= 50 ms, RSS <= passt)\n' \
    "$(echo "$netdevd_t / $passt_t" | bc -l)" "$(echo "$netdevd_m / $passt_m" | bc -l)"
else
  echo "passt: not built (no ../shared/peers); netdevd alone (targets: ready <= 50 ms, RSS <= 15.6 MB)"
fi
