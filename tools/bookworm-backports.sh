#!/usr/bin/env bash
# Makes Debian's bookworm-backports one of apt's sources (libvirt 11.3 and QEMU 10 come from it;
# Debian's own stay the default) and refreshes apt's lists when they do not know it yet.
#
#   tools/bookworm-backports.sh    (idempotent; needs root)
#
# test.sh runs it before installing an entry PACKAGE/bookworm-backports; tools/qemu10.sh before
# it downloads QEMU 10. Without root it says why and exits 1.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "bookworm-backports.sh: not root: cannot add bookworm-backports" >&2
  exit 1
fi

# apt's lists and cache are shared by everything on the machine: one apt call at a time.
locked() { flock /tmp/apt.lock "$@"; }

sources=/etc/apt/sources.list.d/netdevd-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat >"$sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  locked apt-get update -qq
elif ! apt-cache policy 2>/dev/null | grep -q 'n=bookworm-backports'; then
  locked apt-get update -qq
fi
