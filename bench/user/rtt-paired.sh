#!/usr/bin/env bash
# Gateway ping RTT of several stacks against the first, paired round by round: every stack up at
# once in a namespace of its own (bench/lib/gateway-stack.sh's names: slirp4netns,
# netdevd-slirp4netns, netdevd[:ENV=V,...], floor-echo modes), then ROUNDS rounds in which each
# stack gets a batch of COUNT pings INTERVAL seconds apart, the order rotating each round. Each
# batch's median is compared with the first stack's batch of the same round; printed per stack:
# the median of its batch medians, and the median and mean of its per-round differences (µs;
# positive: slower than the first) with the rounds it was slower in. List the first stack twice
# to see how far two copies of one stack land apart (the method's resolution in that run).
#
# Why: run.sh's side-by-side RTT pools 60 pings per stack, and on a machine whose echoes flip
# between states a second slirp4netns lands up to 20 µs from the first (session 38); differences
# per round, taken while both stacks meet the same state, resolve a few µs. INTERVAL=1 is ping's
# own default, where every cache has forgotten the path between echoes.
# Needs root, iproute2, iputils-ping, slirp4netns, python3.
# Usage: bench/user/rtt-paired.sh   (RTT_PAIRED_STACKS="slirp4netns netdevd slirp4netns",
#        ROUNDS=20, INTERVAL=0.05, COUNT=10; NETDEVD_BIN=PATH, else the Release build)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
. bench/lib/gateway-stack.sh
[ "$(id -u)" = 0 ] || { echo "rtt-paired: needs root (namespaces, taps)"; exit 1; }
for t in ip ping python3; do command -v "$t" >/dev/null || { echo "rtt-paired: $t missing"; exit 1; }; done
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
rounds=${ROUNDS:-20} interval=${INTERVAL:-0.05} count=${COUNT:-10}
read -ra names <<<"${RTT_PAIRED_STACKS:-slirp4netns netdevd slirp4netns}"
tmp=$(mktemp -d); tag=$$; pids=(); namespaces=()
trap 'stop_gateway_stacks; rm -rf "$tmp"' EXIT
for i in "${!names[@]}"; do
  start_gateway_stack "${names[$i]}" "ndrp$tag-$i" "ndrp$tag-$i" "$tmp/$i.log" || { echo "rtt-paired: ${names[$i]} did not come up"; cat "$tmp/$i.log"; exit 1; }
done
sleep 1
# The same unmeasured warm-up as run.sh's (200 pings 5 ms apart).
for i in "${!names[@]}"; do ip netns exec "ndrp$tag-$i" ping -n -q -c 200 -i 0.005 10.0.2.2 >/dev/null; done
order=${!names[*]}
for r in $(seq "$rounds"); do
  for i in $order; do
    ip netns exec "ndrp$tag-$i" ping -n -c "$count" -i "$interval" -W 1 10.0.2.2 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n |
      awk -v r="$r" -v i="$i" '{ a[NR] = $1 } END { if (NR) printf "%d %d %.1f\n", r, i, 1000 * (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }' >>"$tmp/medians"
  done
  # Rotate: 0 1 2 -> 1 2 0 -> 2 0 1, so that no stack always follows the same other.
  order=$(echo $order | awk '{ for (i = 2; i <= NF; i++) printf "%s ", $i; print $1 }')
done
echo "gateway rtt paired per round: $rounds rounds of $count pings ${interval} s apart, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/medians" "${names[@]}" <<'PY'
import statistics, sys
per = {}
for line in open(sys.argv[1]):
    r, i, v = line.split()
    per.setdefault(int(i), {})[int(r)] = float(v)
names = sys.argv[2:]
first = per.get(0, {})
for i, name in enumerate(names):
    mine = per.get(i, {})
    if not mine:
        print(f"  {name:38s} no echoes")
        continue
    line = f"  {name:38s} median {statistics.median(mine.values()):6.1f} us"
    diffs = [mine[r] - first[r] for r in first if r in mine]
    if i and diffs:
        line += (f"   vs {names[0]}: median {statistics.median(diffs):+5.1f} mean {statistics.mean(diffs):+5.1f} us,"
                 f" slower in {sum(d > 0 for d in diffs)} of {len(diffs)} rounds")
    print(line)
PY
