#!/usr/bin/env bash
# QEMU 10 from Debian's bookworm-backports, unpacked beside Debian's own QEMU 7.2 (which stays
# the system's): vhost-user under TCG works with 10 and crashes 7.2 once the guest sets the
# device up. The packages are apt-get downloaded and dpkg -x'ed into one tree; the tests run
# its usr/bin/qemu-system-x86_64 with QEMU_MODULE_DIR and -L pointing into it.
#
#   tools/qemu10.sh [DIR]    (default /var/cache/netdevd-qemu10; idempotent)
#
# Prints the tree on success. Needs root for apt; without it (or without the network) it says
# why and exits 1, and the tests that need QEMU 10 skip with that reason.
set -euo pipefail
dir=${1:-${NETDEVD_QEMU10_DIR:-/var/cache/netdevd-qemu10}}
binary="$dir/usr/bin/qemu-system-x86_64"
if [ -x "$binary" ] && [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "qemu10.sh: not root: cannot add bookworm-backports or download QEMU 10" >&2
  exit 1
fi

# apt's lists and cache are shared by everything on the machine: one apt call at a time.
locked() { flock /tmp/apt.lock "$@"; }

"$(dirname "$0")/bookworm-backports.sh"

version=$(apt-cache madison qemu-system-x86 | awk -F'|' '/bookworm-backports/ {gsub(/ /, "", $2); print $2; exit}')
if [ -z "$version" ]; then
  echo "qemu10.sh: bookworm-backports has no qemu-system-x86" >&2
  exit 1
fi
seabios=$(apt-cache madison seabios | awk -F'|' '/bookworm-backports/ {gsub(/ /, "", $2); print $2; exit}')
modules=$(apt-cache search --names-only '^qemu-system-modules-' | awk '{print $1}')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt-get download runs as _apt and must be able to write here
packages=(qemu-system-x86="$version" qemu-system-common="$version" qemu-system-data="$version"
          qemu-system-gui="$version" qemu-block-extra="$version")
for m in $modules; do packages+=("$m=$version"); done
if [ -n "$seabios" ]; then packages+=(seabios="$seabios"); else packages+=(seabios); fi
# ipxe's option ROMs (efi-virtio.rom) come from Debian's own ipxe-qemu.
packages+=(ipxe-qemu)
(cd "$work" && locked apt-get download -qq "${packages[@]}")

mkdir -p "$dir"
rm -f "$dir/.complete"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$dir"; done
"$binary" --version >/dev/null
touch "$dir/.complete"
echo "$dir"
