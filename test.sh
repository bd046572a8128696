#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need from Debian's packages
# when missing, builds everything with warnings as errors, runs every test project, and
# ends with a line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

# Debian packages the interop tests use: QEMU 7.2 as a real peer, iproute2 for namespaces; gcc
# and make build a current passt from ../shared/peers when it is beside the checkout.
# PACKAGE/bookworm-backports takes the package and the dependencies it needs from backports.
# busybox comes from busybox-static (same command; it replaces package busybox) because the
# guest VM's initramfs has no C library.
# One command per line (command=package), so that additions merge cleanly.
declare -A tools=(
  [qemu-system-x86_64]=qemu-system-x86
  [ip]=iproute2
  [vde_switch]=vde2
  [vde_plug2tap]=vde2
  [iperf3]=iperf3
  [ping]=iputils-ping
  [busybox]=busybox-static
  [dnsmasq]=dnsmasq-base
  [dig]=dnsutils
  [traceroute.db]=traceroute
  [tracepath]=iputils-tracepath
  [mtr]=mtr-tiny
  [curl]=curl
  [tftp]=tftp-hpa
  [ethtool]=ethtool
  [podman]=podman
  [runc]=runc
  [rootlesskit]=rootlesskit
  [newuidmap]=uidmap
  [dpdk-testpmd]=dpdk-dev
  [rdisc6]=ndisc6
  [dhclient]=isc-dhcp-client
  [smbd]=samba
  [smbclient]=smbclient
  [libvirtd]=libvirt-daemon-system/bookworm-backports
  [virtlogd]=libvirt-daemon-log/bookworm-backports
  [virsh]=libvirt-clients/bookworm-backports
  [clang]=clang
  [gcc]=gcc
  [make]=make
)
# Packages that are not commands, checked by dpkg's status: the guest VM's kernel and modules,
# the static busybox (a dynamic busybox also answers `command -v busybox`), and libbpf for
# af-xdp's XDP program (netdevd loads libbpf.so.1 when an af-xdp netdev is made), and DPDK's
# vhost-user and tap PMDs (testpmd as a vhost-user back-end), which are packages of their own.
packages=(linux-image-amd64 busybox-static libbpf1 librte-net-vhost23 librte-net-tap23 zlib1g-dev)
missing=()
for tool in "${!tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${tools[$tool]}")
done
for package in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" = installed ] || missing+=("$package")
done
# libvirt-daemon-system 11 wants its own version of these, which apt on a fresh machine takes
# from bookworm rather than backports ("held broken packages"): name them from backports too.
if printf '%s\n' "${missing[@]}" | grep -qx 'libvirt-daemon-system/bookworm-backports'; then
  missing+=(libvirt-daemon-config-network/bookworm-backports libvirt-daemon-config-nwfilter/bookworm-backports
            libvirt-daemon-driver-qemu/bookworm-backports)
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    # Entries PACKAGE/bookworm-backports (libvirt 11: Debian 12's 9.0 has no passt) need that suite among apt's sources.
    if printf '%s\n' "${missing[@]}" | grep -q '/bookworm-backports$'; then
      if ! tools/bookworm-backports.sh; then
        echo "test.sh: bookworm-backports could not be added; the libvirt tests will say so"
        mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -v '/bookworm-backports$')
      fi
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "test.sh: could not install ${missing[*]}; the tests that need them will say so"
  else
    echo "test.sh: ${missing[*]} missing and not root; the tests that need them are skipped with that reason"
  fi
fi

# The published binary's uprobe test places a probe through tracefs, which a fresh machine (a
# container, a minimal VM) may not have mounted where it is looked for.
if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing ] && [ ! -e /sys/kernel/tracing/uprobe_events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "test.sh: tracefs could not be mounted; the uprobe test is skipped"
fi

# QEMU 10 from bookworm-backports, unpacked beside 7.2 for the vhost-user guest tests (7.2
# crashes under TCG once the guest sets up a vhost-user device); they skip with the reason without it.
if [ "$(id -u)" = 0 ]; then
  tools/qemu10.sh >/dev/null || echo "test.sh: QEMU 10 could not be unpacked; the vhost-user guest tests are skipped"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! dotnet build Netdevd.slnx -c Release -warnaserror -nologo -v quiet; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# What ships is the NativeAOT build: publish it as ./publish.sh does (clang and zlib1g-dev above),
# warnings as errors, so a new trimming or AOT warning fails the run; the Daemon tests' smoke
# test starts the published binary (NETDEVD_AOT_BINARY) by its personality names.
aot=$(mktemp -d)
publish_failed=0
publish_start=$(date +%s)
if ./publish.sh "$aot/out" >"$aot/publish.log" 2>&1; then
  export NETDEVD_AOT_BINARY=$aot/out/netdevd
  echo "test.sh: NativeAOT publish in $(($(date +%s) - publish_start)) s"
else
  publish_failed=1
  tail -n 40 "$aot/publish.log"
  echo "test.sh: NativeAOT publish failed (trimming and AOT warnings are errors); the published-binary tests are skipped"
fi

log=$(mktemp)
trap 'rm -rf "$log" "$aot"' EXIT
# A test that hangs is killed (and named in the output) instead of stalling CI.
dotnet test Netdevd.slnx -c Release --no-build --nologo --blame-hang-timeout 5m --blame-hang-dump-type none 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Each test assembly prints "Passed!  - Failed: F, Passed: P, Skipped: S, Total: T, ..." (or "Failed!").
read -r passed failed skipped < <(awk -F'[:,]' '
  /(Passed|Failed)! +- +Failed:/ {
    for (i = 1; i <= NF; i++) {
      gsub(/ /, "", $i)
      if ($i ~ /(^|-)Failed$/) f += $(i + 1)
      if ($i == "Passed") p += $(i + 1)
      if ($i == "Skipped") s += $(i + 1)
    }
  }
  END { printf "%d %d %d\n", p, f, s }' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # a test host crashed or a project failed to run: never report green
fi
failed=$((failed + publish_failed))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
