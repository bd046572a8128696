# Sourced by the benchmarks whose guest is a network namespace behind a tap a stack made:
#   guest_tap_up TAP NS [MTU]   waits (10 s at most) for TAP to appear, moves it into NS, brings
#   it up (at MTU when given) as 10.0.2.15/24 with the default route via 10.0.2.2 (QEMU's user
#   network, as slirp4netns --configure sets it up); non-zero when any step failed.
guest_tap_up() {
  local tap=$1 ns=$2 mtu=${3:-}
  for _ in $(seq 100); do ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
  ip link set "$tap" netns "$ns" || return 1
  if [ -n "$mtu" ]; then ip -n "$ns" link set "$tap" mtu "$mtu" || return 1; fi
  ip -n "$ns" link set "$tap" up && ip -n "$ns" addr add 10.0.2.15/24 dev "$tap" &&
    ip -n "$ns" route add default via 10.0.2.2
}
