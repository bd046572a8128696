#!/usr/bin/env bash
# A passt whose --vhost-user mode can be a peer: passt 2025-01 from ../shared/peers (the snapshot
# bench/lib/passt.sh builds for pasta and passt's socket mode) with upstream's later one-character
# fix to tcp_vu.c applied, built into a cache directory of its own.
#
# Why: in that snapshot tcp_vu_sock_recv keeps one frame too many when the socket holds less
# than the buffers it collected ("head[head_cnt - 1] > i" where upstream later has ">="): the
# empty frame adds -(header length) to the sequence, so the next segment to the guest starts 66
# bytes early with later bytes in it (a capture of `iperf3 -R` through it: 33,250 of 99,011
# segments), and a FIN sent after one carries a sequence the guest already passed; the guest
# never acknowledges it and passt resets the connection ~16 s later. ../shared/peers' build
# script says the same and not to use that build as a vhost-user peer.
#
#   tools/passt-vhost-user.sh [OUTDIR]   (default ~/.cache/netdevd-bench/passt-2025-01-vu;
#                                          NETDEVD_PEERS names the peers directory)
#
# Prints OUTDIR/passt on success. Exits 2 with the reason when it cannot build here (no peers
# directory beside the checkout, no gcc or make: a caller may skip), 1 when building failed (the
# line to fix not found: a different snapshot needs this script looked at again; or make failed).
set -euo pipefail
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/netdevd-bench/passt-2025-01-vu}
if [ -x "$out/passt" ]; then
  echo "$out/passt"
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
peers=
for p in "${NETDEVD_PEERS:-}" "$root/../shared/peers" "$root/../../shared/peers"; do
  if [ -n "$p" ] && [ -f "$p/passt-2025-01-09.tar.gz" ]; then peers=$p; break; fi
done
[ -n "$peers" ] || { echo "passt-vhost-user.sh: no ../shared/peers/passt-2025-01-09.tar.gz beside the checkout" >&2; exit 2; }
for t in gcc make; do command -v "$t" >/dev/null || { echo "passt-vhost-user.sh: $t missing (Debian package $t)" >&2; exit 2; }; done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$peers/passt-2025-01-09.tar.gz" -C "$work"
src=$work/passt-2025-01-09
before='while (head_cnt > 0 && head[head_cnt - 1] > i)'
grep -qF "$before" "$src/tcp_vu.c" || { echo "passt-vhost-user.sh: tcp_vu.c has no '$before': not the snapshot this fix is for" >&2; exit 1; }
sed -i 's/while (head_cnt > 0 && head\[head_cnt - 1\] > i)/while (head_cnt > 0 \&\& head[head_cnt - 1] >= i)/' "$src/tcp_vu.c"
grep -qF 'head[head_cnt - 1] >= i)' "$src/tcp_vu.c" || { echo "passt-vhost-user.sh: the fix did not apply" >&2; exit 1; }
make -C "$src" -j2 passt >/dev/null 2>"$work/make.log" || { tail -n 20 "$work/make.log" >&2; echo "passt-vhost-user.sh: build failed" >&2; exit 1; }
mkdir -p "$out"
cp "$src/passt" "$out/passt.new"
mv "$out/passt.new" "$out/passt"
echo "$out/passt"
