# Sourced (after guest-tap.sh) by the benchmarks that ping a stack's gateway from a namespace:
#   start_gateway_stack NAME NS TAP LOG   makes the guest namespace NS (loopback up; appended to
#   the caller's namespaces array), starts one stack that answers 10.0.2.2 for it, appends the
#   stack's pid to the caller's pids array, and returns non-zero when either did not come up. NAME is "slirp4netns" (--configure on NS), "netdevd-slirp4netns" (the same command
#   line run by netdevd's slirp4netns personality: a link named slirp4netns to $nd, made beside
#   LOG), "netdevd" (run.sh's row: -netdev user hubbed to a tap with vnet_hdr=on, the binary in
#   $nd) or a mode of floor-echo (the binary in $floor_echo: epoll, poll, block, uring);
#   "netdevd" and a mode may carry environment settings after a colon, comma-separated
#   ("epoll:FLOOR_PAGES=16", "netdevd:NAME=VALUE"). Output goes to LOG. With the caller's
#   gateway_hostfwd set to HOSTPORT:GUESTPORT, a netdevd or slirp4netns stack also forwards the
#   host's 127.0.0.1:HOSTPORT, TCP and UDP, to the guest's GUESTPORT (slirp4netns through its API
#   socket, made beside LOG).
#   stop_gateway_stacks                   ends the processes in the caller's pids array (its own
#   children, by PID) and deletes the namespaces in its namespaces array: the cleanup of a script
#   that started its stacks with start_gateway_stack.
start_gateway_stack() {
  local s=$1 ns=$2 tap=$3 log=$4 settings=() user=user,id=u0 api=()
  local fwd=${gateway_hostfwd:-}
  if [ -n "$fwd" ]; then
    user+=",hostfwd=tcp:127.0.0.1:${fwd%%:*}-:${fwd#*:},hostfwd=udp:127.0.0.1:${fwd%%:*}-:${fwd#*:}"
    api=(--api-socket "$(dirname "$log")/api.sock")
  fi
  namespaces+=("$ns")
  ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
  [[ $s == *:* ]] && IFS=, read -ra settings <<<"${s#*:}"
  case ${s%%:*} in
    slirp4netns | netdevd-slirp4netns)
      local s4n=slirp4netns
      if [ "$s" = netdevd-slirp4netns ]; then
        s4n=$(dirname "$log")/slirp4netns; ln -sf "$(realpath "$nd")" "$s4n" || return 1
      fi
      "$s4n" --configure --mtu=1500 "${api[@]}" --netns-type=path "/run/netns/$ns" tap0 >"$log" 2>&1 &
      pids+=($!); sleep 1
      kill -0 "$!" 2>/dev/null || return 1
      [ -z "$fwd" ] || gateway_api_hostfwd "${api[1]}" "${fwd%%:*}" "${fwd#*:}"
      return ;;
    netdevd)
      env "${settings[@]}" "$nd" --netdev "$user" --netdev hubport,id=h0,hubid=0,netdev=u0 \
        --netdev tap,id=t0,ifname="$tap",script=no,downscript=no,vnet_hdr=on --netdev hubport,id=h1,hubid=0,netdev=t0 \
        >"$log" 2>&1 & ;;
    *)
      env "${settings[@]}" "$floor_echo" "${s%%:*}" "$tap" >"$log" 2>&1 & ;;
  esac
  pids+=($!)
  guest_tap_up "$tap" "$ns"
}

# slirp4netns' API: add_hostfwd of HOSTPORT to GUESTPORT, TCP and UDP, on 127.0.0.1.
gateway_api_hostfwd() {
  python3 - "$@" <<'EOF' >>"$(dirname "$1")/api.log" 2>&1
import json, socket, sys
path, host, guest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for proto in ('tcp', 'udp'):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(json.dumps({'execute': 'add_hostfwd', 'arguments': {'proto': proto, 'host_addr': '127.0.0.1', 'host_port': host, 'guest_port': guest}}).encode())
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(4096).decode()
        print(reply)
        if 'error' in reply:
            sys.exit(1)
EOF
}

stop_gateway_stacks() {
  local p n
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null; done
}
