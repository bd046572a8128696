#!/usr/bin/env bash
# Issue [07] benchmark (b): guest <-> host TCP through netdevd's vhost-user back-end against the
# same guest through the stream netdev, same netdevd build. The guest (Debian's kernel, busybox
# initramfs, QEMU 10 under TCG) downloads SIZE_MB from busybox httpd on host loopback through a
# user netdev hubbed to the back-end (or to the stream server). Under TCG the guest's CPU is the bottleneck, so netdevd's CPU time per Gbit/s is printed
# beside the throughput.
#
#   bench/vhost-user/guest-tcp.sh [SIZE_MB]   (root; QEMU 10 from tools/qemu10.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mb=${1:-64}
qemu_dir=$(tools/qemu10.sh)
qemu=$qemu_dir/usr/bin/qemu-system-x86_64
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
work=$(mktemp -d /tmp/nd-vu-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

dotnet build src/Netdevd -c Release -nologo -v quiet >/dev/null
netdevd_dll=$PWD/src/Netdevd/bin/Release/net10.0/netdevd.dll

# The initramfs: static busybox, the virtio-net modules, an /init that times a download and an upload.
http_port=$((20000 + RANDOM % 20000))
mkdir -p "$work/root"/{bin,dev,proc,sys,tmp,modules}
cp "$(command -v busybox)" "$work/root/bin/busybox"
ln -s busybox "$work/root/bin/sh"
mknod "$work/root/dev/console" c 5 1
i=0
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  f=$(find /lib/modules/$kver -name "$m.ko*" | head -1)
  case $f in *.xz) xz -dc "$f" >"$work/root/modules/$(printf %02d $i)-$m.ko" ;; *) cp "$f" "$work/root/modules/$(printf %02d $i)-$m.ko" ;; esac
  i=$((i + 1))
done
cat >"$work/root/dhcp.sh" <<'S'
#!/bin/sh
[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface" && ip route add default via "$router"
exit 0
S
cat >"$work/root/init" <<S
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
echo 1 > /proc/sys/kernel/printk
for m in /modules/*.ko; do insmod "\$m"; done
ip link set lo up; ip link set eth0 up
udhcpc -i eth0 -s /dhcp.sh -n -q -t 10 -T 2 >/dev/null 2>&1
t0=\$(cut -d' ' -f1 /proc/uptime)
wget -q -O /dev/null http://10.0.2.2:$http_port/blob
t1=\$(cut -d' ' -f1 /proc/uptime)
echo "BENCH down=\$t0,\$t1"
poweroff -f
S
chmod +x "$work/root/init" "$work/root/dhcp.sh"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

head -c $((size_mb << 20)) /dev/zero >"$work/blob"
busybox httpd -f -p 127.0.0.1:$http_port -h "$work" & pids+=($!)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() { # MODE: vhost-user | stream
  local mode=$1 sock=$work/$1.sock netdev
  rm -f "$sock"
  if [ "$mode" = vhost-user ]; then
    netdev="vhost-user-backend,id=g,addr.type=unix,addr.path=$sock"
  else
    netdev="stream,id=g,server=on,addr.type=unix,addr.path=$sock"
  fi
  dotnet "$netdevd_dll" --netdev user,id=u --netdev "$netdev" \
    --netdev hubport,id=h0,hubid=0,netdev=u --netdev hubport,id=h1,hubid=0,netdev=g >"$work/$mode.netdevd.log" 2>&1 &
  local nd=$!; pids+=($nd)
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.2; done
  local guest_net
  if [ "$mode" = vhost-user ]; then
    guest_net=(-object memory-backend-memfd,id=m,size=256M,share=on -numa node,memdev=m
               -chardev socket,id=c,path=$sock -netdev vhost-user,id=n,chardev=c)
  else
    guest_net=(-object memory-backend-memfd,id=m,size=256M,share=on -numa node,memdev=m
               -netdev stream,id=n,server=off,addr.type=unix,addr.path=$sock)
  fi
  local before; before=$(cpu_ticks $nd)
  QEMU_MODULE_DIR=$qemu_dir/usr/lib/x86_64-linux-gnu/qemu timeout 600 "$qemu" \
    -L "$qemu_dir/usr/share/qemu" -L "$qemu_dir/usr/share/seabios" -audiodev none,id=snd0 -M pc,pcspk-audiodev=snd0 \
    -m 256 -nographic -no-reboot "${guest_net[@]}" -device virtio-net-pci,netdev=n,romfile= \
    -kernel "$kernel" -initrd "$work/initrd.gz" -append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/$mode.console" 2>&1 || true
  local after; after=$(cpu_ticks $nd)
  kill $nd 2>/dev/null || true
  local line; line=$(grep -a BENCH "$work/$mode.console" | tail -1 || true)
  if [ -z "$line" ]; then echo "$mode: the guest printed no result"; tail -20 "$work/$mode.console"; return; fi
  awk -v line="$line" -v mb=$size_mb -v cpu=$((after - before)) -v hz=$hz -v mode=$mode 'BEGIN {
    split(line, f, /[ =,]/); down = f[4] - f[3]
    bits = mb * 8 * 1048576 / 1e9
    gd = bits / down; secs = cpu / hz
    printf "%-10s guest download %.3f Gbit/s  netdevd CPU %.2f s for the VM run (%.3f Gbit) = %.2f CPU-s per Gbit\n", mode, gd, secs, bits, secs / bits
    print gd, secs / bits > "/dev/stderr"
  }' 2>"$work/$mode.figures"
}

run vhost-user
run stream
if [ -s "$work/vhost-user.figures" ] && [ -s "$work/stream.figures" ]; then
  read -r vd vc <"$work/vhost-user.figures"; read -r sd sc <"$work/stream.figures"
  awk -v vd=$vd -v vc=$vc -v sd=$sd -v sc=$sc 'BEGIN {
    printf "ratio vhost-user/stream: download %.2fx  netdevd CPU per Gbit %.2fx\n", vd / sd, vc / sc }'
fi
