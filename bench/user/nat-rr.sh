#!/usr/bin/env bash
# Request/response latency through user-mode NAT stacks, side by side, over TCP and over UDP: a
# client in the guest namespace writes one byte to a server on the host's 127.0.0.1, reached
# through 10.0.2.2, and waits for it to come back (bench/user/nat-rr.c; TCP_NODELAY both ends) -
# what an ssh keystroke, a small RPC or a DNS query feels like. The gateway ping (run.sh,
# rtt-floor.sh) is answered inside the stack; this round trip crosses the whole NAT both ways:
# the guest's segment or datagram into a host socket, the host's loopback, the answer read from
# the host socket and sent to the guest.
#
# Method as rtt-floor.sh's: every stack up at once in a namespace of its own, the same warm-up
# (300 round trips 1 ms apart on one connection or socket), then rounds in which each stack in
# turn opens a fresh connection (TCP) or socket (UDP: a new flow for the NAT) and makes 10 round
# trips 50 ms apart (the path cold each time, as after a pause in typing), the order reversed
# each round. Prints per stack the median of all round trips but each connection's first, the
# medians by position in the batch, and against the first stack the median of the per-round
# differences and of the differences of each connection's first round trip (a short-lived
# connection's or flow's exchange: an HTTP request, a DNS query); unanswered datagrams are counted.
#
# Stacks (bench/lib/gateway-stack.sh): slirp4netns, netdevd (run.sh's row: tap with vnet_hdr, hub,
# user), netdevd-slirp4netns (netdevd's slirp4netns personality on slirp4netns' command line);
# "netdevd:NAME=VALUE,..." runs run.sh's row with those environment settings (an A/B of one build).
# NAT_RR_DIRECTION=in turns it around: the server runs in each guest namespace (0.0.0.0:7000) and
# the client on the host, through a host forward of each stack (127.0.0.1:PORT, TCP and UDP;
# slirp4netns' through its API socket): a request that wakes the stack from the host's side after
# a pause (an ssh session into a guest), where netdevd's idle read hears the host socket through
# its waker (IoThread; bench/README, session 40).
# Needs root, iproute2, gcc, python3, slirp4netns.
# Usage: bench/user/nat-rr.sh [ROUNDS]   (default 20; NAT_RR_STACKS="slirp4netns netdevd
#        netdevd-slirp4netns"; NAT_RR_PROTOCOLS="tcp udp"; NAT_RR_DIRECTION=out|in; NETDEVD_BIN=PATH,
#        else the Release build)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
. bench/lib/gateway-stack.sh
rounds=${1:-20}
[ "$(id -u)" = 0 ] || { echo "nat-rr: needs root (namespaces, taps)"; exit 1; }
for t in ip gcc python3 slirp4netns; do command -v "$t" >/dev/null || { echo "nat-rr: $t missing"; exit 1; }; done
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
read -ra names <<<"${NAT_RR_STACKS:-slirp4netns netdevd netdevd-slirp4netns}"
read -ra protocols <<<"${NAT_RR_PROTOCOLS:-tcp udp}"
direction=${NAT_RR_DIRECTION:-out}
[[ $direction == out || $direction == in ]] || { echo "nat-rr: NAT_RR_DIRECTION is out or in"; exit 1; }
tmp=$(mktemp -d); tag=$$; port=$((40000 + $$ % 20000))
pids=(); namespaces=()
cleanup() {
  stop_gateway_stacks
  rm -rf "$tmp"
}
trap cleanup EXIT

rr=$tmp/nat-rr
gcc -O2 -o "$rr" bench/user/nat-rr.c || { echo "nat-rr: nat-rr.c did not build"; exit 1; }
if [ "$direction" = out ]; then
  "$rr" server "$port" &
  pids+=($!)
fi
# One round trip's client for stack $1: in the guest towards the host's server, or on the host
# through the stack's forward towards the guest's.
client() {
  if [ "$direction" = out ]; then
    ip netns exec "ndrr$tag-$1" "$rr" client "$2" 10.0.2.2 "$port" "$3" "$4"
  else
    "$rr" client "$2" 127.0.0.1 $((port + 1 + $1)) "$3" "$4"
  fi
}
for i in "${!names[@]}"; do
  s=${names[$i]} ns=ndrr$tag-$i
  case $s in
    slirp4netns) ;;
    netdevd | netdevd:* | netdevd-slirp4netns) [ -x "$nd" ] || { echo "nat-rr: no netdevd at $nd (build it, or set NETDEVD_BIN)"; exit 1; } ;;
    *) echo "nat-rr: unknown stack $s"; exit 1 ;;
  esac
  mkdir -p "$tmp/$i"
  gateway_hostfwd=
  [ "$direction" = out ] || gateway_hostfwd=$((port + 1 + i)):7000
  start_gateway_stack "$s" "$ns" "ndrr$tag-$i" "$tmp/$i/log" || { echo "nat-rr: $s did not come up"; cat "$tmp/$i/log"; exit 1; }
  if [ "$direction" = in ]; then
    ip netns exec "$ns" "$rr" server 7000 0.0.0.0 &
    pids+=($!)
  fi
done
sleep 1
for protocol in "${protocols[@]}"; do
  for i in "${!names[@]}"; do
    client "$i" "$protocol" 300 1 >"$tmp/warm-up" 2>/dev/null
    grep -q '^[0-9]' "$tmp/warm-up" || { echo "nat-rr: ${names[$i]} carried no $protocol round trip"; exit 1; }
  done

  order=${!names[*]}
  for r in $(seq "$rounds"); do
    for i in $order; do
      client "$i" "$protocol" 10 50 >"$tmp/$i/round.$r" 2>/dev/null
    done
    order=$(echo $order | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
  done

  if [ "$direction" = out ]; then
    what="through the NAT to the host's loopback"
  else
    what="from the host's loopback through a host forward to the guest"
  fi
  echo "$protocol request/response $what, $rounds rounds of 10 per stack (µs), load average $(cut -d' ' -f1-3 /proc/loadavg):"
  python3 - "$tmp" "$rounds" "${names[@]}" <<'EOF'
import statistics, sys
tmp, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def trips(i, r):
    # The round's round trips in order; an unanswered datagram (None) keeps its place.
    try:
        return [None if x == 'lost' else float(x) for x in open(f'{tmp}/{i}/round.{r}').read().split()]
    except OSError:
        return []
def answered(values):
    return [v for v in values if v is not None]
for i, name in enumerate(names):
    rest = answered(t for r in range(1, rounds + 1) for t in trips(i, r)[1:])
    lost = sum(t is None for r in range(1, rounds + 1) for t in trips(i, r))
    if not rest:
        print(f'  {name:20s} no round trips')
        continue
    positions = [answered(trips(i, r)[k] for r in range(1, rounds + 1) if len(trips(i, r)) > k) for k in range(10)]
    by_position = ' '.join(f'{statistics.median(p):.0f}' if p else '-' for p in positions)
    line = f'  {name:20s} median {statistics.median(rest):6.1f}  by position {by_position}' + (f'  ({lost} lost)' if lost else '')
    if i > 0:
        diffs = [statistics.median(answered(trips(i, r)[1:])) - statistics.median(answered(trips(0, r)[1:]))
                 for r in range(1, rounds + 1) if answered(trips(i, r)[1:]) and answered(trips(0, r)[1:])]
        firsts = [trips(i, r)[0] - trips(0, r)[0] for r in range(1, rounds + 1)
                  if trips(i, r) and trips(0, r) and trips(i, r)[0] is not None and trips(0, r)[0] is not None]
        if diffs:
            line += f'\n  {"":20s} vs {names[0]}: {statistics.median(diffs):+.1f} (median of {len(diffs)} rounds, ahead in {sum(d < 0 for d in diffs)})'
        if firsts:
            line += f"; a connection's first {statistics.median(firsts):+.1f} (ahead in {sum(d < 0 for d in firsts)})"
    print(line)
EOF
done
