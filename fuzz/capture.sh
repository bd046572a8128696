#!/usr/bin/env bash
# Captures real guest traffic with netdevd's user netdev for the seed corpora (fuzz/README.md):
# a private "host" namespace runs netdevd (user netdev hubbed to a tap), dnsmasq and an HTTP
# server on its loopback; the tap moves to a "guest" namespace where tcpdump records what
# busybox udhcpc, dig, ping, busybox tftp, tftp-hpa, curl and arping exchange with it.
# Needs root. Writes fuzz/capture.pcap; nothing leaves the two namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/fuzz/capture.pcap
tag=$$
hns=ndf-h-$tag gns=ndf-g-$tag tap=ndft$tag
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$gns" 2>/dev/null || true
  ip netns del "$hns" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
dll=$PWD/src/Netdevd/bin/Release/net10.0/netdevd.dll
mkdir -p "$dir/tftp/sub"
head -c 3000 /dev/zero > "$dir/tftp/boot.bin"
head -c 1024 /dev/zero > "$dir/tftp/pxelinux.0"
head -c 512 /dev/zero > "$dir/tftp/sub/f"
echo "nameserver 127.0.0.1#5353" > "$dir/resolv.conf"
printf 'hello from the host\n' > "$dir/index.html"

ip netns add "$hns"; ip netns add "$gns"
ip -n "$hns" link set lo up; ip -n "$gns" link set lo up
ip netns exec "$hns" dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=5353 --listen-address=127.0.0.1 --bind-interfaces \
  --address=/files.netdevd.test/10.0.2.2 --txt-record=big.netdevd.test,"$(head -c 200 /dev/zero | tr '\0' x)" \
  --mx-host=netdevd.test,mail.netdevd.test,10 --pid-file= 2>/dev/null &
pids+=($!)
(cd "$dir" && exec ip netns exec "$hns" python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
ip netns exec "$hns" env NETDEVD_RESOLV_CONF="$dir/resolv.conf" dotnet "$dll" \
  --netdev "user,id=u0,tftp=$dir/tftp,bootfile=pxelinux.0,hostname=guest1,domainname=netdevd.test,dnssearch=netdevd.test" \
  --netdev hubport,id=hu,hubid=0,netdev=u0 \
  --netdev "tap,id=t0,ifname=$tap,script=no,downscript=no,vnet_hdr=off" --netdev hubport,id=ht,hubid=0,netdev=t0 >"$dir/netdevd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ip -n "$hns" link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
ip -n "$hns" link set "$tap" netns "$gns"
ip -n "$gns" link set "$tap" up
g() { ip netns exec "$gns" "$@"; }
g tcpdump -i "$tap" -U -s 0 -w "$out" 2>/dev/null &
pids+=($!)
sleep 1
cat > "$dir/udhcpc.sh" <<S
#!/bin/sh
if [ "\$1" = bound ]; then ip addr add \$ip/\$mask dev \$interface; ip route add default via \$router; fi
S
chmod +x "$dir/udhcpc.sh"
g busybox udhcpc -i "$tap" -n -q -t 5 -T 1 -s "$dir/udhcpc.sh" || true
g busybox arping -c 1 -I "$tap" 10.0.2.2 || true
g ping -c 2 -W 1 10.0.2.2 || true
g ping -c 1 -W 1 -s 3000 10.0.2.2 || true
g ping -c 1 -W 1 -s 20000 10.0.2.3 || true
g dig +time=1 +tries=1 @10.0.2.3 files.netdevd.test || true
g dig +time=1 +tries=1 @10.0.2.3 MX netdevd.test || true
g dig +time=1 +tries=1 +bufsize=4096 @10.0.2.3 TXT big.netdevd.test || true
g dig +time=1 +tries=1 @10.0.2.3 nosuch.invalid || true
(cd "$dir" && g busybox tftp -g -b 1468 -r boot.bin -l "$dir/got1" 10.0.2.2) || true
(cd "$dir" && g busybox tftp -g -r sub/f -l "$dir/got2" 10.0.2.2) || true
(cd "$dir" && g busybox tftp -g -r nosuch -l "$dir/got3" 10.0.2.2) || true
(cd "$dir" && g tftp 10.0.2.2 -c get pxelinux.0 "$dir/got4") || true
g curl -s -m 5 http://10.0.2.2:8080/index.html >/dev/null || true
g curl -s -m 5 -X POST --data-binary "@$dir/tftp/boot.bin" http://10.0.2.2:8080/ >/dev/null || true
g curl -s -m 3 http://10.0.2.2:1/ >/dev/null || true
sleep 1
echo "captured: $(stat -c %s "$out") bytes in $out"
