#!/usr/bin/env bash
# Where a gateway ping's round trip goes, phase by phase, for netdevd and slirp4netns side by side:
# the kernel's ftrace events (the scheduler's wake-ups and switches, the syscalls of ping and of
# the stack's thread) recorded with the TSC clock while ping echoes 10.0.2.2 in batches of 10,
# 50 ms apart, alternating between the stacks as rtt-floor.sh does. rtt-phases.py cuts each echo
# at ping's sendto, the request's entry to the tap's queue and to the tap's xmit, the waking and
# wake-up of the stack's thread, its switch in, its wait's return, its read and its write, and
# ping's recvmsg return, and prints each phase's median (µs) per stack.
#
# Why: run.sh's RTT target (no worse than slirp4netns) is missed by ~6 µs. callgrind counts
# instructions and lines of user space only; this splits the real time of the whole echo, the
# kernel's part included, so that a change can be priced where it acts. Tracing slows every
# syscall (the totals read ~25 µs above the untraced RTT); compare phases between stacks, not
# with untraced figures.
#
# Stacks: "slirp4netns", "netdevd" (as in run.sh's rows: a tap with vnet_hdr=on hubbed to -netdev
# user), "epoll" and "poll" (bench/floor/floor-echo.c waiting each way, as in rtt-floor.sh: the least
# any stack can do); netdevd and floor-echo stacks may carry environment settings after a colon,
# comma-separated ("netdevd:NAME=VALUE,NAME2=VALUE2"), for builds that read switches from their
# environment (bench/lib/gateway-stack.sh starts them all).
# Needs root, tracefs (/sys/kernel/tracing), the x86-tsc trace clock, iproute2, iputils-ping,
# python3, slirp4netns (gcc for the floor). The trace settings it changes are put back when it ends.
# Usage: bench/user/rtt-phases.sh [ROUNDS]   (default 16; NETDEVD_BIN=PATH, else the Release build;
#        RTT_PHASES_STACKS="slirp4netns netdevd"; RTT_PHASES_KEEP=FILE keeps the raw trace)
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/lib/guest-tap.sh
. bench/lib/gateway-stack.sh
rounds=${1:-16}
T=/sys/kernel/tracing
[ "$(id -u)" = 0 ] || { echo "rtt-phases: needs root (namespaces, taps, ftrace)"; exit 1; }
for t in ip ping python3 slirp4netns; do command -v "$t" >/dev/null || { echo "rtt-phases: $t missing"; exit 1; }; done
[ -w "$T/trace_clock" ] && grep -qw x86-tsc "$T/trace_clock" || { echo "rtt-phases: needs tracefs at $T with the x86-tsc clock"; exit 1; }
nd=${NETDEVD_BIN:-src/Netdevd/bin/Release/net10.0/netdevd}
read -ra names <<<"${RTT_PHASES_STACKS:-slirp4netns netdevd}"
old_clock=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$T/trace_clock")
old_size=$(cat "$T/buffer_size_kb")
# A buffer never used since boot reads "7 (expanded: 1408)": the size it takes when used.
case $old_size in *expanded:*) old_size=${old_size##*expanded: }; old_size=${old_size%)} ;; esac
old_on=$(cat "$T/tracing_on")
old_events=$(cat "$T/set_event")
old_pids=$(cat "$T/set_event_pid")
old_fork=$(cat "$T/options/event-fork")
[ "$old_on" = 1 ] && [ -n "$old_events" ] && { echo "rtt-phases: ftrace is in use (events: $old_events)"; exit 1; }
tmp=$(mktemp -d); tag=$$
pids=(); namespaces=()
cleanup() {
  echo 0 >"$T/tracing_on"
  echo "$old_clock" >"$T/trace_clock"
  echo "$old_size" >"$T/buffer_size_kb"
  echo >"$T/set_event"
  for e in $old_events; do echo "$e" >>"$T/set_event"; done
  echo >"$T/set_event_pid"
  for p in $old_pids; do echo "$p" >>"$T/set_event_pid"; done
  echo "$old_fork" >"$T/options/event-fork"
  echo "$old_on" >"$T/tracing_on"
  stop_gateway_stacks
  rm -rf "$tmp"
}
trap cleanup EXIT

# The threads that answer: slirp4netns' and floor-echo's one thread, netdevd's tap thread (named
# tap:ID:QUEUE).
: >"$tmp/threads"
floor_echo=$tmp/floor-echo
if [[ " ${names[*]} " == *" epoll"* || " ${names[*]} " == *" poll"* ]]; then
  gcc -O2 -o "$floor_echo" bench/floor/floor-echo.c || { echo "rtt-phases: floor-echo did not build"; exit 1; }
fi
for i in "${!names[@]}"; do
  s=${names[$i]} ns=ndph$tag-$i tap=ndph$tag-$i
  case ${s%%:*} in
    slirp4netns|epoll|poll) ;;
    netdevd) [ -x "$nd" ] || { echo "rtt-phases: no netdevd at $nd (build it, or set NETDEVD_BIN)"; exit 1; } ;;
    *) echo "rtt-phases: unknown stack $s"; exit 1 ;;
  esac
  start_gateway_stack "$s" "$ns" "$tap" "$tmp/$i.log" || { echo "rtt-phases: $s did not come up"; cat "$tmp/$i.log"; exit 1; }
done
sleep 1
for i in "${!names[@]}"; do
  ip netns exec "ndph$tag-$i" ping -n -q -c 200 -i 0.005 10.0.2.2 >/dev/null
  for t in /proc/"${pids[$i]}"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    [[ ${names[$i]} != netdevd* || $comm == tap:* ]] && echo "$(basename "$t") $i ${names[$i]}" >>"$tmp/threads"
  done
done

echo 0 >"$T/tracing_on"
echo x86-tsc >"$T/trace_clock"
echo 16384 >"$T/buffer_size_kb"
echo >"$T/set_event"
for e in sched:sched_switch sched:sched_waking sched:sched_wakeup net:net_dev_queue net:net_dev_start_xmit \
         syscalls:sys_enter_sendto syscalls:sys_exit_recvmsg \
         syscalls:sys_enter_read syscalls:sys_exit_read syscalls:sys_enter_write syscalls:sys_exit_write \
         syscalls:sys_exit_epoll_wait syscalls:sys_exit_poll syscalls:sys_exit_ppoll; do
  echo "$e" >>"$T/set_event" || { echo "rtt-phases: the kernel has no $e event"; exit 1; }
done
# Only this script (its pings are its children: event-fork) and the answering threads, so that
# a busy machine's other syscalls cannot overrun the buffer.
echo 1 >"$T/options/event-fork"
echo $$ >"$T/set_event_pid"
while read -r tid _; do echo "$tid" >>"$T/set_event_pid"; done <"$tmp/threads"
echo >"$T/trace"
echo 1 >"$T/tracing_on"
# TSC ticks per µs, from two markers carrying the wall clock's nanoseconds (seconds apart).
echo "rtt-phases-calibration $(date +%s%N)" >"$T/trace_marker"
order=${!names[*]}
for _ in $(seq "$rounds"); do
  for i in $order; do
    ip netns exec "ndph$tag-$i" ping -n -c 10 -i 0.05 -W 1 10.0.2.2 >/dev/null 2>&1
  done
  order=$(echo $order | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
done
echo "rtt-phases-calibration $(date +%s%N)" >"$T/trace_marker"
echo 0 >"$T/tracing_on"
cat "$T/trace" >"$tmp/trace"
[ -n "${RTT_PHASES_KEEP:-}" ] && cp "$tmp/trace" "$RTT_PHASES_KEEP"
echo "gateway echo phases, $((rounds * 10)) pings per stack, medians (µs), load average $(cut -d' ' -f1-3 /proc/loadavg):"
python3 bench/user/rtt-phases.py "$tmp/trace" "$tmp/threads"
