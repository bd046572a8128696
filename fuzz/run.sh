#!/usr/bin/env bash
# Runs the fuzz targets under AFL++ (fuzz/README.md): fuzz/run.sh [MINUTES] [TARGET...]
# Builds fuzz/Netdevd.Fuzz into fuzz/out/, instruments netdevd's assemblies there with
# SharpFuzz, then runs afl-fuzz for each target (all of them when none is named), one after
# another, for MINUTES each (default 5). Findings go to fuzz/findings/TARGET/ (gitignored);
# a summary line per target is printed and appended to fuzz/findings/summary.txt.
# Needs: afl-fuzz (Debian's afl++), the sharpfuzz tool (dotnet tool install --global
# SharpFuzz.CommandLine --version 2.3.0).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
shift || true
out=fuzz/out
findings=fuzz/findings
export PATH="$PATH:$HOME/.dotnet/tools"
command -v afl-fuzz >/dev/null || { echo "run.sh: afl-fuzz missing (apt-get install afl++)"; exit 1; }
command -v sharpfuzz >/dev/null || { echo "run.sh: sharpfuzz missing (dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0)"; exit 1; }

rm -rf "$out"
dotnet build fuzz/Netdevd.Fuzz -c Release -nologo -v quiet -o "$out" >/dev/null
for dll in Netdevd.Qapi Netdevd.Core Netdevd.Qmp Netdevd.Wire Netdevd.Backends Netdevd.UserNet netdevd; do
  sharpfuzz "$out/$dll.dll" >/dev/null
done

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(dotnet "$out/Netdevd.Fuzz.dll" --list)
fi

mkdir -p "$findings"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_AUTORESUME=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
for target in "${targets[@]}"; do
  echo "run.sh: $target for $minutes min"
  for attempt in 1 2; do
    # On a loaded machine the first run of the .NET target can come back empty ("No
    # instrumentation detected"); once more is enough.
    if nice -n 10 afl-fuzz -i "fuzz/corpus/$target" -o "$findings/$target" -t 5000 -m none -V $((minutes * 60)) \
      -- dotnet "$out/Netdevd.Fuzz.dll" "$target" >"$findings/$target.log" 2>&1; then
      break
    fi
    echo "run.sh: afl-fuzz for $target failed (attempt $attempt; see $findings/$target.log)"
  done
  stats=$findings/$target/default/fuzzer_stats
  if [ -f "$stats" ]; then
    get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
    line="$target run_time=$(get run_time)s execs=$(get execs_done) corpus=$(get corpus_count) crashes=$(get saved_crashes) hangs=$(get saved_hangs) last_new_path=$(( $(get last_update) - $(get last_find) ))s_before_end"
    echo "$line" | tee -a "$findings/summary.txt"
  fi
done
