#!/usr/bin/env bash
# Guest (a network namespace) <-> host TCP through user-mode NAT stacks, side by side in one run:
# netdevd's user netdev (hubbed to a tap with vnet_hdr=on, as behind QEMU's virtio-net), QEMU 7.2's -netdev user (hubbed to a tap, -M none),
# netdevd's pasta personality (the same, its -t splicing host-loopback clients to the namespace's
# loopback as pasta does: its own row), netdevd's slirp4netns personality (netdevd-slirp4netns:
# slirp4netns' own command line, the binary swapped), slirp4netns, a current pasta (passt 2025-01, built from ../shared/peers into a private
# directory when absent) and a kernel veth pair as the ceiling. Per stack and MTU (1500, 65520):
#   - IPv4 TCP guest->host and host->guest (-R): iperf3 server on the host's 127.0.0.1, reached
#     through the stack's "host loopback" address (10.0.2.2; pasta's gateway);
#   - the same over IPv6 (server on ::1; QEMU fec0::2, slirp4netns fd00::2, pasta's gateway);
#   - hostfwd host->guest: the iperf3 client on the host connects to a forwarded 127.0.0.1 port,
#     the server runs in the guest;
#   - ping RTT to the gateway, and through the NAT to the host's own address (a host ICMP
#     socket on the stack's side; netdevd, QEMU and slirp4netns);
#   - IPv4 both directions at once (iperf3 --bidir): does one busy direction starve the other.
# Prints Gbit/s, ms, and the ratios [06]'s targets are stated in. One TCP stream everywhere.
# Needs root, iproute2, iperf3, iputils-ping, python3, qemu-system-x86_64, slirp4netns, gcc and
# make (for pasta), the .NET SDK.
# Usage: bench/user/run.sh [SECONDS]
#   BENCH_ROUNDS=3 (the sweep three times, interleaved; verdicts on the medians)
#   BENCH_STACKS="netdevd pasta veth"  BENCH_MTUS=65520  BENCH_BUILD=0 (use the Release build there)
#   NETDEVD_BIN=PATH (another netdevd build, e.g. a copy of the previous one for an A/B)
#   PASST_DIR=DIR (where pasta is, or is built; default ~/.cache/netdevd-bench/passt-2025-01)
#   BENCH_BIDIR=0 (skip the both-directions measurement)
#   BENCH_RTT_PAIRED=0 (judge the RTT on the rows' medians instead of netdevd and slirp4netns side by side)
#   BENCH_KEEP_RTT=DIR (keep the side-by-side echoes and batch medians there: rtt.MTU.{a,b,c}, rttb.MTU.{a,b,c})
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
secs=${1:-5}
[ "$(id -u)" = 0 ] || { echo "bench/user: needs root (namespaces, taps)"; exit 1; }
for t in ip iperf3 ping python3; do command -v "$t" >/dev/null || { echo "bench/user: $t missing"; exit 1; }; done
if [ "${BENCH_BUILD:-1}" != 0 ]; then
  dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null || { echo "bench/user: build failed"; exit 1; }
fi
# NETDEVD_BIN: another build to measure (an A/B against a copy of an earlier build), BENCH_BUILD=0 then.
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}

# A current pasta (bench/lib/passt.sh); the AVX2 variant too (as distributions ship it), which
# pasta execs by itself when the CPU has AVX2.
. bench/lib/passt.sh
passt_find_or_build bench/user
pasta=
if [ -x "$passt_dir/passt" ] && [ ! -x "$passt_dir/passt.avx2" ] && [ -n "$peers" ] && grep -q avx2 /proc/cpuinfo; then
  work=$(mktemp -d)
  if tar -xzf "$peers"/passt-*.tar.gz -C "$work" && make -C "$work"/passt-* -j2 passt.avx2 >/dev/null 2>&1; then
    cp "$work"/passt-*/passt.avx2 "$passt_dir/passt.avx2"; ln -sf passt.avx2 "$passt_dir/pasta.avx2"
  fi
  rm -rf "$work"
fi
[ -x "$passt_dir/pasta" ] && pasta=$passt_dir/pasta

# The host's own address for the NAT ping (looked up, nothing is sent; none: "-").
host_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
ns=ndbu-$$; tap=ndbut$$; veth=ndbuv$$; port=$((20000 + $$ % 20000)); fwd=$((port + 1)); tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "${ns}a" 2>/dev/null || true
  ip netns del "${ns}b" 2>/dev/null || true
  ip netns del "${ns}c" 2>/dev/null || true
  ip link del "$tap" 2>/dev/null || true
  ip link del "${tap}a" 2>/dev/null || true
  ip link del "$veth" 2>/dev/null || true
}
trap 'cleanup; [ -n "${BENCH_KEEP_RTT:-}" ] && cp "$tmp"/rtt*.* "$BENCH_KEEP_RTT"/ 2>/dev/null; rm -rf "$tmp"' EXIT

start_ns() { ip netns add "$ns"; ip -n "$ns" link set lo up; }

# Waits up to 6 s for a routable IPv6 address (SLAAC) in the namespace; true when there is one.
wait_v6() {
  for _ in $(seq 60); do
    # QEMU's fec0::/64 is site-local: any scope but link and host counts.
    ip -n "$ns" -6 addr show 2>/dev/null | grep 'inet6' | grep -qv 'scope link\|scope host\|tentative' && return 0
    sleep 0.1
  done
  return 1
}

# iperf3 from the namespace to TARGET (server bound to BIND on the host); prints Gbit/s (0 on failure).
measure() {
  local bind=$1 target=$2 dir=$3 json
  iperf3 -s -B "$bind" -p "$port" -1 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  json=$(ip netns exec "$ns" timeout $((secs + 15)) iperf3 -c "$target" -p "$port" -t "$secs" $dir -f m 2>/dev/null || true)
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  gbits <<<"$json"
}

# hostfwd host->guest: the server in the namespace on GUEST_PORT, the client on the host to 127.0.0.1:HOST_PORT.
measure_fwd() {
  local host_addr=$1 host_port=$2 json
  ip netns exec "$ns" iperf3 -s -p "$port" -1 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  json=$(timeout $((secs + 15)) iperf3 -c "$host_addr" -p "$host_port" -t "$secs" -f m 2>/dev/null || true)
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  gbits <<<"$json"
}

# Both directions at once, IPv4, from the namespace to TARGET (iperf3 --bidir: one stream each
# way through the same stack); prints "G->H/H->G" Gbit/s ("-" on failure). Not a target: whether
# a stack that carries one way at full rate starves the other way when both are busy.
measure_bidir() {
  local bind=$1 target=$2 json
  iperf3 -s -B "$bind" -p "$port" -1 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  json=$(ip netns exec "$ns" timeout $((secs + 15)) iperf3 -c "$target" -p "$port" -t "$secs" --bidir -f m 2>/dev/null || true)
  kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
  awk '/\[TX-C\].*receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") tx = $(i - 1) / 1000 }
       /\[RX-C\].*receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") rx = $(i - 1) / 1000 }
       END { if (tx == "" || rx == "") print "-"; else printf "%.2f/%.2f\n", tx, rx }' <<<"$json"
}

gbits() {
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") { printf "%.2f\n", $(i - 1) / 1000; found = 1 } }
       END { if (!found) print "0" }'
}

# Ping RTT in ms from the namespace to GW as AVERAGE/MEDIAN of 60 pings, 50 ms apart ("-" when none
# came back), after 200 unmeasured pings 5 ms apart (1 s): the first echoes through a stack can pay
# one-off costs that are not its steady state. netdevd's JIT build (the default here) compiles its
# ICMP path at the first echo (several ms), then runs it as unoptimized tier-0 code until the
# runtime has counted ~60 calls and compiled tier 1 in the background: after 3 warm-up pings its
# median was 0.15-0.19 ms, after 200 0.08-0.10 (as slirp4netns on the same loaded machine). The
# native stacks and the NativeAOT build have nothing to warm. On a loaded machine one preempted
# echo (several ms) moves a 20-ping average by a tenth of a millisecond either way; the median is
# what the stack's own path costs.
rtt() {
  warm_up "$ns" "$1"
  ip netns exec "$ns" ping -n -c 60 -i 0.05 -W 1 "$1" 2>/dev/null | echo_times | avg_median
}

# 200 pings 5 ms apart from namespace $1 to $2, unrecorded: every stack measured after the same warm-up.
warm_up() { ip netns exec "$1" ping -n -q -c 200 -i 0.005 -W 1 "$2" >/dev/null 2>&1 || true; }

# ping's output -> one time in ms per line; times -> "AVERAGE/MEDIAN" ("-" when there is none).
echo_times() { sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'; }
avg_median() {
  sort -n | awk '{ t[NR] = $1; s += $1 } END { if (NR == 0) print "-"; else printf "%.3f/%.3f\n", s / NR, (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

# The gateway RTT of netdevd and slirp4netns side by side, for the RTT target. The stacks run at
# once, each in a namespace of its own (netdevd as in its row: user netdev, hub, tap with
# vnet_hdr), and after the same warm-up the pings alternate between them in batches of 10, 50 ms
# apart, six times over; each call appends every echo to $tmp/rtt.MTU.{a,b,c} and each batch's
# median to $tmp/rttb.MTU.{a,b,c} (line k of each file: the same rotation). Measured one after the
# other, as the rows are, the two can meet different states of the machine: on the machine this
# was written on every stack's gateway echo (veth's too) swung between ~0.03 and ~0.08 ms from one
# measurement to the next, several times the difference between the stacks; alternating batches
# give both the same states. c is a second slirp4netns measured the same way: how far two copies
# of one stack land apart is the resolution of the comparison.
rtt_paired() {
  local mtu=$1 a=${ns}a ta=${tap}a n
  for n in a b c; do ip netns add "${ns}$n"; ip -n "${ns}$n" link set lo up; done
  "$nd" --netdev "user,id=u0,mtu=$mtu" --netdev hubport,id=h0,hubid=0,netdev=u0 \
        --netdev tap,id=t0,ifname="$ta",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 \
        >"$tmp/nd-paired.log" 2>&1 &
  pids+=($!)
  for n in b c; do
    slirp4netns --configure --mtu="$mtu" --netns-type=path "/run/netns/${ns}$n" tap0 >"$tmp/s4n-paired.$n.log" 2>&1 &
    pids+=($!)
  done
  if ! guest_tap_up "$ta" "$a" "$mtu"; then
    cleanup; return
  fi
  sleep 1
  for n in a b c; do warm_up "${ns}$n" 10.0.2.2; done
  # Which one goes first rotates too (a b c, c b a, ...), so none always follows the same other.
  local batch
  for order in "a b c" "c b a" "b c a" "a c b" "c a b" "b a c"; do
    for n in $order; do
      batch=$(ip netns exec "${ns}$n" ping -n -c 10 -i 0.05 -W 1 10.0.2.2 2>/dev/null | echo_times)
      # A batch with no echo keeps its line ("-"), so that line k stays rotation k for every stack.
      if [ -n "$batch" ]; then
        echo "$batch" >>"$tmp/rtt.$mtu.$n"
        avg_median <<<"$batch" | cut -d/ -f2 >>"$tmp/rttb.$mtu.$n"
      else
        echo - >>"$tmp/rttb.$mtu.$n"
      fi
    done
  done
  cleanup
}

# The side-by-side figures of one MTU, after every round's rtt_paired: "NETDEVD SLIRP4NETNS CONTROL
# DIFF CONTROL_DIFF BATCHES": the first three AVERAGE/MEDIAN of all their echoes, ms; DIFF the
# median over the rotations of (netdevd's batch median - slirp4netns'), CONTROL_DIFF the same for
# the second slirp4netns, µs (a rotation where any of the three lost every echo is left out); BATCHES how
# many rotations were paired. The verdict is on DIFF: each difference is taken within one
# rotation (the stacks' batches 0.5-1 s apart), where pooled medians also carry the drift of the
# machine's state between rotations.
rtt_paired_summary() {
  local mtu=$1 n pairs
  for n in a b c; do touch "$tmp/rtt.$mtu.$n" "$tmp/rttb.$mtu.$n"; done
  # One line per rotation where all three answered: netdevd - slirp4netns, control - slirp4netns, µs.
  pairs=$(paste -d' ' "$tmp/rttb.$mtu.a" "$tmp/rttb.$mtu.b" "$tmp/rttb.$mtu.c" |
    awk '$1 != "-" && $2 != "-" && $3 != "-" { printf "%.1f %.1f\n", ($1 - $2) * 1000, ($3 - $2) * 1000 }')
  printf '%s %s %s ' "$(avg_median <"$tmp/rtt.$mtu.a")" "$(avg_median <"$tmp/rtt.$mtu.b")" "$(avg_median <"$tmp/rtt.$mtu.c")"
  if [ -z "$pairs" ]; then echo "- - 0"; return; fi
  printf '%+.1f %+.1f %d\n' "$(cut -d' ' -f1 <<<"$pairs" | avg_median | cut -d/ -f2)" \
    "$(cut -d' ' -f2 <<<"$pairs" | avg_median | cut -d/ -f2)" "$(wc -l <<<"$pairs")"
}

# slirp4netns' API: {"execute": "add_hostfwd", ...} on its socket.
slirp_hostfwd() {
  python3 - "$1" "$fwd" "$port" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(json.dumps({"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1",
          "host_port": int(sys.argv[2]), "guest_port": int(sys.argv[3])}}).encode())
s.recv(4096)
EOF
}

# Prints: v4-up v4-down v6-up v6-down fwd rtt rtt-host (Gbit/s, ms; 0 = failed; "-": no IPv6
# address from the stack's router advertisement, or no echo reply).
run_case() {
  local name=$1 mtu=$2 gw=10.0.2.2 gw6= bind6=::1 bind=127.0.0.1 fwd_addr=127.0.0.1 fwd_port=$fwd
  cleanup; start_ns
  case $name in
    netdevd)
      "$nd" --netdev "user,id=u0,mtu=$mtu,hostfwd=tcp:127.0.0.1:$fwd-10.0.2.15:$port" --netdev hubport,id=h0,hubid=0,netdev=u0 \
            --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 \
            >"$tmp/nd.log" 2>&1 &
      pids+=($!); guest_tap_up "$tap" "$ns" "$mtu" || { echo "0 0 0 0 0 - -"; return; }
      wait_v6 && gw6=fec0::2 ;;
    qemu)
      command -v qemu-system-x86_64 >/dev/null || { echo "- - - - - - -"; return; }
      qemu-system-x86_64 -M none -nodefaults -display none \
        -netdev "user,id=u0,hostfwd=tcp:127.0.0.1:$fwd-10.0.2.15:$port" -netdev hubport,id=h0,hubid=0,netdev=u0 \
        -netdev tap,id=t0,ifname="$tap",script=no,downscript=no -netdev hubport,id=h1,hubid=0,netdev=t0 \
        >"$tmp/qemu.log" 2>&1 &
      pids+=($!); guest_tap_up "$tap" "$ns" "$mtu" || { echo "0 0 0 0 0 - -"; return; }
      wait_v6 && gw6=fec0::2 ;;
    slirp4netns | netdevd-slirp4netns)
      # netdevd-slirp4netns: netdevd's slirp4netns personality on the same command line, only the
      # binary swapped (as rootlesskit and podman would run it): the user netdev straight behind a
      # tap in the namespace, no hub; hostfwd through the same API socket.
      local s4n=slirp4netns
      if [ "$name" = netdevd-slirp4netns ]; then
        s4n=$tmp/slirp4netns; ln -sf "$(realpath "$nd")" "$s4n"
      else
        command -v slirp4netns >/dev/null || { echo "- - - - - - -"; return; }
      fi
      "$s4n" --configure --mtu="$mtu" --enable-ipv6 --api-socket "$tmp/s4n.sock" \
        --netns-type=path "/run/netns/$ns" tap0 >"$tmp/$name.log" 2>&1 &
      pids+=($!); sleep 1
      slirp_hostfwd "$tmp/s4n.sock" >/dev/null 2>&1 || fwd_port=0
      wait_v6 && gw6=fd00::2 ;;
    netdevd-pasta)
      # netdevd's pasta personality: the same user netdev behind a tap it makes in the namespace,
      # and, as pasta, -t connections from the host's loopback spliced to the namespace's
      # loopback (the fwd column; the others go through the tap as in the netdevd row).
      ln -sf "$(realpath "$nd")" "$tmp/pasta"
      "$tmp/pasta" --config-net -m "$mtu" -t "127.0.0.1/$fwd:$port" -u none -T none -U none \
        --netns "/run/netns/$ns" -f >"$tmp/ndpasta.log" 2>&1 &
      pids+=($!); sleep 1
      gw=$(ip -n "$ns" route show default | awk '/default/ {print $3; exit}')
      # --config-net sets fd00::15/64 before pasta returns; the gateway fd00::2 is the host's ::1.
      wait_v6 && gw6=fd00::2
      [ -n "$gw" ] || { echo "0 0 0 0 0 - -"; return; } ;;
    pasta)
      [ -n "$pasta" ] || { echo "- - - - - - -"; return; }
      "$pasta" --config-net --runas 0:0 -m "$mtu" -t "127.0.0.1/$fwd:$port" -u none -T none -U none \
        --netns "/run/netns/$ns" -f >"$tmp/pasta.log" 2>&1 &
      pids+=($!); sleep 1
      gw=$(ip -n "$ns" route show default | awk '/default/ {print $3; exit}')
      gw6=$(ip -n "$ns" -6 route show default | awk '/default/ {print $3; exit}')
      [ -n "$gw" ] || { echo "0 0 0 0 0 - -"; return; } ;;
    veth)
      # The ceiling: the kernel's own path between the namespace and the host, same MTU.
      ip link add "$veth" mtu "$mtu" type veth peer name eth0 netns "$ns"
      ip addr add 10.99.0.1/24 dev "$veth"; ip -6 addr add fd99::1/64 dev "$veth" nodad; ip link set "$veth" up
      ip -n "$ns" link set eth0 mtu "$mtu" up
      ip -n "$ns" addr add 10.99.0.2/24 dev eth0; ip -n "$ns" -6 addr add fd99::2/64 dev eth0 nodad
      gw=10.99.0.1 gw6=fd99::1 bind=10.99.0.1 bind6=fd99::1 fwd_addr=10.99.0.2 fwd_port=$port ;;
  esac
  sleep 0.5
  local v4u v4d v6u=- v6d=- f=0 r
  v4u=$(measure "$bind" "$gw" "")
  v4d=$(measure "$bind" "$gw" -R)
  if [ -n "$gw6" ]; then
    v6u=$(measure "$bind6" "$gw6" "")
    v6d=$(measure "$bind6" "$gw6" -R)
  fi
  [ "$fwd_port" != 0 ] && f=$(measure_fwd "$fwd_addr" "$fwd_port")
  local bd=-
  [ "${BENCH_BIDIR:-1}" != 0 ] && bd=$(measure_bidir "$bind" "$gw")
  r=$(rtt "$gw")
  local rh=-
  [[ -n "$host_ip" && " netdevd netdevd-slirp4netns qemu slirp4netns " == *" $name "* ]] && rh=$(rtt "$host_ip")
  # run_case runs in a subshell (process substitution): end its forwarder here, or it would
  # outlive the case and take CPU from the next ones.
  cleanup
  echo "$v4u $v4d $v6u $v6d $f $r $rh $bd"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'; }

stacks=${BENCH_STACKS:-netdevd netdevd-pasta netdevd-slirp4netns qemu slirp4netns pasta veth}
mtus=${BENCH_MTUS:-1500 65520}
# BENCH_ROUNDS=N: the whole sweep N times, stacks interleaved within each round (so a load
# spike hits one round of every stack, not every round of one), each cell then judged on its
# median over the rounds. On this kind of machine one 4 s figure swings by 20-30 % between
# two runs of the same build; the median of 3 interleaved rounds is what the verdicts need.
rounds=${BENCH_ROUNDS:-1}
echo "bench/user: ${secs} s per measurement, $rounds round(s), load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; pasta: ${pasta:-absent}$([ -x "$passt_dir/passt.avx2" ] && echo ' (AVX2 build beside it)')"
printf '%-19s %6s %10s %10s %10s %10s %10s %13s\n' stack mtu 'v4 g->h' 'v4 h->g' 'v6 g->h' 'v6 h->g' 'fwd h->g' 'rtt avg/med'
declare -A up down up6 down6 fw rt rth both
row() {
  printf '%-19s %6s %10s %10s %10s %10s %10s %13s\n' "$@"
}
for ((round = 1; round <= rounds; round++)); do
  [ "$rounds" -gt 1 ] && echo "round $round (load average $(cut -d' ' -f1 /proc/loadavg)):"
  for mtu in $mtus; do
    for c in $stacks; do
      read -r u d u6 d6 f r rh bd < <(run_case "$c" "$mtu")
      # Each cell keeps every round's figure, space-separated; medians come after the last round.
      up[$c.$mtu]+=" $u"; down[$c.$mtu]+=" $d"; up6[$c.$mtu]+=" $u6"; down6[$c.$mtu]+=" $d6"; fw[$c.$mtu]+=" $f"
      rt[$c.$mtu]+=" ${r:--}"; rth[$c.$mtu]+=" ${rh:--}"; both[$c.$mtu]+=" ${bd:--}"
      row "$c" "$mtu" "$u" "$d" "$u6" "$d6" "$f" "${r:--}"
    done
  done
done

# The RTT target's figures: netdevd and slirp4netns measured side by side (rtt_paired), per MTU.
declare -A paired
if [[ " $stacks " == *" netdevd "* && " $stacks " == *" slirp4netns "* ]] && [ "${BENCH_RTT_PAIRED:-1}" != 0 ] &&
   command -v slirp4netns >/dev/null; then
  # Once per round, as every other figure: each round's rotations join the verdict.
  for ((r = 1; r <= rounds; r++)); do
    for mtu in $mtus; do rtt_paired "$mtu"; done
  done
  for mtu in $mtus; do
    read -r pn ps pc pd pcd pk < <(rtt_paired_summary "$mtu")
    paired[netdevd.$mtu]=$pn; paired[slirp4netns.$mtu]=$ps; paired[control.$mtu]=$pc
    paired[diff.$mtu]=$pd; paired[controldiff.$mtu]=$pcd; paired[batches.$mtu]=$pk
  done
fi

# The median of a cell's figures ("-" when none is a number; 0 = a failed measurement counts as 0).
# An "avg/med" rtt cell gives the median of each part.
median() {
  local values part1 part2 slashed=${2:-%.3f}
  values=$(tr ' ' '\n' <<<"$1" | grep -v '^-*$')
  [ -n "$values" ] || { echo -; return; }
  mid() { sort -n | awk -v f="$1" '{ v[NR] = $1 } END { printf f "\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  if grep -q / <<<"$values"; then
    part1=$(cut -d/ -f1 <<<"$values" | mid "$slashed"); part2=$(cut -d/ -f2 <<<"$values" | mid "$slashed")
    echo "$part1/$part2"
  else
    mid %.2f <<<"$values"
  fi
}
# netdevd's IPv6/IPv4 ratio of each round, per MTU and direction, before the cells become medians:
# the two figures of one round are seconds apart, where each cell's median may come from rounds
# at different loads (on this kind of machine one 4 s figure swings +-20-40 % with the load).
declare -A v6ratio
for mtu in $mtus; do
  for d in up down; do
    eval "r6=(\${${d}6[netdevd.$mtu]:-}); r4=(\${$d[netdevd.$mtu]:-})"
    list=
    for ((i = 0; i < ${#r6[@]} && i < ${#r4[@]}; i++)); do list+=" $(ratio "${r6[i]}" "${r4[i]}" | tr -d x)"; done
    v6ratio[$d.$mtu]=$list
  done
done
for key in "${!up[@]}"; do
  up[$key]=$(median "${up[$key]}"); down[$key]=$(median "${down[$key]}"); up6[$key]=$(median "${up6[$key]}")
  down6[$key]=$(median "${down6[$key]}"); fw[$key]=$(median "${fw[$key]}"); rt[$key]=$(median "${rt[$key]}"); rth[$key]=$(median "${rth[$key]}")
  both[$key]=$(median "${both[$key]}" %.2f)
done
if [ "$rounds" -gt 1 ]; then
  echo "median of $rounds rounds (the ratios and verdicts below use these):"
  for mtu in $mtus; do
    for c in $stacks; do
      row "$c" "$mtu" "${up[$c.$mtu]}" "${down[$c.$mtu]}" "${up6[$c.$mtu]}" "${down6[$c.$mtu]}" "${fw[$c.$mtu]}" "${rt[$c.$mtu]}"
    done
  done
fi
echo "(Gbit/s; v4/v6: guest namespace <-> host loopback through the stack; fwd: host -> guest through a"
echo " hostfwd; rtt: ping of the gateway, ms, average/median of 60; veth: the kernel path, no user-mode stack)"
for mtu in $mtus; do
  [ -n "${paired[netdevd.$mtu]:-}" ] &&
    echo "gateway rtt side by side, mtu $mtu (all up at once, batches of 10 alternating, ${paired[batches.$mtu]} rotations; ms, avg/median of every echo): netdevd ${paired[netdevd.$mtu]} slirp4netns ${paired[slirp4netns.$mtu]} (a second slirp4netns, the control: ${paired[control.$mtu]}); per rotation against slirp4netns, median: netdevd ${paired[diff.$mtu]} us, control ${paired[controldiff.$mtu]} us"
done
if [ -n "$host_ip" ]; then
  for mtu in $mtus; do
    line=
    for c in $stacks; do
      [[ " netdevd netdevd-slirp4netns qemu slirp4netns " == *" $c "* ]] && line="$line $c ${rth[$c.$mtu]:--}"
    done
    [ -n "$line" ] && echo "ping through the NAT to the host's address $host_ip, mtu $mtu (ms, avg/median of 60):$line"
  done
fi
if [ "${BENCH_BIDIR:-1}" != 0 ]; then
  for mtu in $mtus; do
    line=
    for c in $stacks; do line="$line $c ${both[$c.$mtu]:--}"; done
    echo "both directions at once, v4, mtu $mtu (Gbit/s g->h/h->g, iperf3 --bidir):$line"
  done
fi
echo
echo "netdevd / competitor (v4 g->h, v4 h->g, v6 g->h, v6 h->g, fwd h->g; rtt: lower is better):"
for mtu in $mtus; do
  for c in $stacks; do
    [ "$c" = netdevd ] && continue
    printf '  vs %-19s mtu %-6s %8s %8s %8s %8s %8s   rtt %s vs %s ms\n' "$c" "$mtu" \
      "$(ratio "${up[netdevd.$mtu]:-0}" "${up[$c.$mtu]:-0}")" "$(ratio "${down[netdevd.$mtu]:-0}" "${down[$c.$mtu]:-0}")" \
      "$(ratio "${up6[netdevd.$mtu]:-0}" "${up6[$c.$mtu]:-0}")" "$(ratio "${down6[netdevd.$mtu]:-0}" "${down6[$c.$mtu]:-0}")" \
      "$(ratio "${fw[netdevd.$mtu]:-0}" "${fw[$c.$mtu]:-0}")" "${rt[netdevd.$mtu]:--}" "${rt[$c.$mtu]:--}"
  done
done

# [06]'s targets, each with its verdict (none when a figure is missing).
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "" || v == "-") print "n/a"; else if (v + 0 >= t + 0) print "ok"; else print "MISSED" }'; }
echo
echo "[06] targets:"
for mtu in $mtus; do
  if [[ " $stacks " == *" pasta "* && " $stacks " == *" netdevd "* ]]; then
    # pasta's best direction at this MTU: the one where pasta is fastest.
    best=up; awk -v a="${down[pasta.$mtu]:-0}" -v b="${up[pasta.$mtu]:-0}" 'BEGIN { exit !(a + 0 > b + 0) }' && best=down
    if [ $best = up ]; then n=${up[netdevd.$mtu]}; p=${up[pasta.$mtu]}; dir='guest->host'; else n=${down[netdevd.$mtu]}; p=${down[pasta.$mtu]}; dir='host->guest'; fi
    x=$(ratio "$n" "$p"); printf '  mtu %-6s vs pasta in its best direction (%s, %s Gbit/s): %s (>= 1.3x) %s\n' "$mtu" "$dir" "$p" "$x" "$(verdict "${x%x}" 1.3)"
    for d in up down; do
      eval "n=\${$d[netdevd.$mtu]}; p=\${$d[pasta.$mtu]}"
      x=$(ratio "$n" "$p"); printf '  mtu %-6s vs pasta %-11s: %s (> 1.0x) %s\n' "$mtu" "$([ $d = up ] && echo "guest->host" || echo "host->guest")" "$x" "$(verdict "${x%x}" 1.0001)"
    done
  fi
  if [[ " $stacks " == *" veth "* && " $stacks " == *" netdevd "* ]] && [ "$mtu" = 65520 ]; then
    x=$(ratio "${down[netdevd.$mtu]}" "${down[veth.$mtu]}"); printf '  mtu %-6s host->guest vs veth (%s Gbit/s): %s (>= 0.6x) %s\n' "$mtu" "${down[veth.$mtu]}" "$x" "$(verdict "${x%x}" 0.6)"
  fi
  if [[ " $stacks " == *" netdevd "* ]]; then
    for d in up down; do
      eval "a=\${${d}6[netdevd.$mtu]}; b=\${$d[netdevd.$mtu]}"
      if [[ "${a:-0}" = [0-] ]]; then printf '  mtu %-6s IPv6/IPv4 %-11s: %s\n' "$mtu" "$([ $d = up ] && echo "guest->host" || echo "host->guest")" "n/a: netdevd has no IPv6 NAT yet"
      else
        # Judged on the median of the rounds' own ratios (see v6ratio); the medians' ratio beside it.
        x=$(median "${v6ratio[$d.$mtu]}")
        printf '  mtu %-6s IPv6/IPv4 %-11s: %sx, median of the per-round ratios (%s; ratio of the medians %s) (>= 0.9x) %s\n' "$mtu" \
          "$([ $d = up ] && echo "guest->host" || echo "host->guest")" "$x" "$(echo ${v6ratio[$d.$mtu]} | tr ' ' /)" "$(ratio "$a" "$b")" "$(verdict "$x" 0.9)"
      fi
    done
  fi
  if [[ " $stacks " == *" slirp4netns "* && " $stacks " == *" netdevd "* ]]; then
    if [ -n "${paired[diff.$mtu]:-}" ]; then
      # Side by side: the median of the per-rotation differences (see rtt_paired_summary).
      d=${paired[diff.$mtu]}
      printf '  mtu %-6s rtt side by side, netdevd - slirp4netns per rotation, median of %s: %s us (<= 0; a second slirp4netns: %s us) %s\n' \
        "$mtu" "${paired[batches.$mtu]}" "$d" "${paired[controldiff.$mtu]}" \
        "$(awk -v d="$d" 'BEGIN { if (d == "-" || d == "") print "n/a"; else if (d + 0 <= 0) print "ok"; else print "MISSED" }')"
    else
      # BENCH_RTT_PAIRED=0: the rows' medians (the averages swing with one preempted echo).
      a=${rt[netdevd.$mtu]} b=${rt[slirp4netns.$mtu]}
      printf '  mtu %-6s rtt (avg/median) netdevd %s ms vs slirp4netns %s ms (median no worse) %s\n' "$mtu" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, "/"); split(b, y, "/"); if (a == "-" || b == "-" || a == "" || b == "") print "n/a"; else if (x[2] + 0 <= y[2] + 0) print "ok"; else print "MISSED" }')"
    fi
  fi
  if [[ " $stacks " == *" slirp4netns "* && " $stacks " == *" netdevd-slirp4netns "* ]]; then
    # Not a target of its own: the same job started the same way, only the binary differs.
    printf '  mtu %-6s rtt (avg/median) netdevd as slirp4netns %s ms vs slirp4netns %s ms (like for like, no hub)\n' "$mtu" "${rt[netdevd-slirp4netns.$mtu]}" "${rt[slirp4netns.$mtu]}"
  fi
done
