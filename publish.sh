#!/usr/bin/env bash
# Builds what netdevd ships as: one NativeAOT binary (no .NET runtime needed on the target) and
# the personality links libvirt, podman and rootlesskit start by name.
# Usage: ./publish.sh [OUTDIR]   (default out/; needs clang and zlib1g-dev, installed when root)
set -euo pipefail
cd "$(dirname "$0")"
out=$(realpath -m "${1:-out}")
if ! command -v clang >/dev/null || [ "$(dpkg-query -W -f='${db:Status-Status}' zlib1g-dev 2>/dev/null)" != installed ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
  else
    echo "publish.sh: NativeAOT needs clang and zlib1g-dev (apt-get install clang zlib1g-dev)" >&2
    exit 1
  fi
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet publish src/Netdevd/Netdevd.csproj -c Release -r linux-x64 -warnaserror -nologo -v quiet -o "$out"
rm -f "$out"/*.pdb "$out"/*.dbg
for name in passt pasta slirp4netns; do
  ln -sf netdevd "$out/$name"
done
echo "publish.sh: $out/netdevd ($(du -h "$out/netdevd" | cut -f1)) and its personalities: $(cd "$out" && ls -d passt pasta slirp4netns | tr '\n' ' ')"
