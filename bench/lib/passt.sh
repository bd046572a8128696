# Sourced (from the repository's root) by the benchmarks that run a current passt or pasta:
# Debian's passt is a 2023 build whose guest->host path stalls, so they use passt 2025-01,
# built once from ../shared/peers (build-passt.sh; gcc and make, seconds) outside the repository.
#   passt_find_or_build CALLER   sets passt_dir (PASST_DIR, default
#   ~/.cache/netdevd-bench/passt-2025-01; passt and pasta are there unless the build failed)
#   and peers (the directory holding build-passt.sh and the source, or empty).
passt_find_or_build() {
  passt_dir=${PASST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/netdevd-bench/passt-2025-01}
  for peers in "${NETDEVD_PEERS:-}" ../shared/peers ../../shared/peers; do
    [ -n "$peers" ] && [ -x "$peers/build-passt.sh" ] && break
    peers=
  done
  if [ ! -x "$passt_dir/passt" ] && [ -n "$peers" ]; then
    "$peers/build-passt.sh" "$passt_dir" >/dev/null 2>&1 || echo "$1: building passt failed"
  fi
}
