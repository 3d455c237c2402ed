#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, one after the other, and prints a table of figures.
#
# Usage: scripts/fuzz.sh [--update-corpus] [--seeds] [seconds-per-target] [target...]
#   seconds-per-target  how long each target runs (60)
#   target              fuzz_frame, frame, ... (default: every tests/fuzz/fuzz_*.cpp)
#   --update-corpus     merge the inputs that found new coverage into tests/fuzz/corpus/<target>/
#                       (otherwise each run works on a copy and the committed corpus is untouched)
#   --seeds             rewrite the committed seeds with wingman-fuzz-seeds first
#
# Needs clang: configures build-fuzz (WINGMAN_FUZZ_BUILD_DIR) with clang and -DWINGMAN_FUZZ=ON
# when it has no cache yet, then builds only the fuzz targets. A crashing input is kept in
# <build dir>/fuzz-artifacts/<target>/ and its path printed.
# Exit status: non-zero when a target found a crash (or could not be built or run).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_FUZZ_BUILD_DIR:-$root/build-fuzz}
corpus_root=$root/tests/fuzz/corpus

seconds=60
update_corpus=0
seeds=0
targets=()
for arg in "$@"; do
  case $arg in
    --update-corpus) update_corpus=1 ;;
    --seeds) seeds=1 ;;
    -h | --help)
      sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    [0-9]*) seconds=$arg ;;
    fuzz_*) targets+=("$arg") ;;
    *) targets+=("fuzz_$arg") ;;
  esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in "$root"/tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$source" .cpp)")
  done
fi

# The longest input each target tries: a little above its largest realistic message, so the
# fuzzer spends its time on structure rather than on length.
max_len() {
  case $1 in
    fuzz_jwt | fuzz_query) echo 2048 ;;
    *) echo 4096 ;;
  esac
}

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found; fuzzing needs clang (apt-get install clang)" >&2
  exit 1
fi
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWINGMAN_FUZZ=ON -DWINGMAN_BUILD_MONITOR=OFF "${launcher[@]}" || exit 1
fi
build_targets=("${targets[@]}")
[[ $seeds == 1 ]] && build_targets+=(wingman-fuzz-seeds)
cmake --build "$build_dir" --target "${build_targets[@]}" || exit 1
if [[ $seeds == 1 ]]; then
  "$build_dir/bin/wingman-fuzz-seeds" "$corpus_root" || exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
rows=()
findings=()

# The value after `name:` in libFuzzer's last status line, or "-".
status_field() {
  local value
  value=$(grep -E '^#[0-9]+' "$1" | grep -o "$2: [0-9]*" | tail -n1 | cut -d' ' -f2)
  echo "${value:--}"
}
final_stat() {
  local value
  value=$(sed -n "s/^stat::$2: *//p" "$1" | tail -n1)
  echo "${value:--}"
}

for target in "${targets[@]}"; do
  binary=$build_dir/bin/$target
  if [[ ! -x $binary ]]; then
    rows+=("$(printf '%-14s %s' "$target" 'not built')")
    status=1
    continue
  fi
  corpus=$work/$target
  artifacts=$build_dir/fuzz-artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  [[ -d $corpus_root/$target ]] && cp "$corpus_root/$target"/* "$corpus/" 2>/dev/null
  before=$(ls "$artifacts" | wc -l)
  log=$work/$target.log
  echo "== $target: ${seconds}s over $(ls "$corpus" | wc -l) seed inputs"
  started=$(date +%s)
  "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
    -max_len="$(max_len "$target")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - started))
  crashes=$(($(ls "$artifacts" | wc -l) - before))
  if [[ $rc -ne 0 || $crashes -gt 0 ]]; then
    status=1
    grep -E 'ERROR|runtime error|invariant|SUMMARY' "$log" | head -n5 | sed "s/^/  $target: /"
    for file in $(ls -t "$artifacts" | head -n "$((crashes > 0 ? crashes : 1))"); do
      findings+=("$target: $artifacts/$file")
    done
    cp "$log" "$artifacts/last-run.log"
  fi
  rows+=("$(printf '%-14s %7s %12s %8s %6s %7s %7s %7s' "$target" "$elapsed" \
    "$(final_stat "$log" number_of_executed_units)" "$(final_stat "$log" average_exec_per_sec)" \
    "$(status_field "$log" cov)" "$(status_field "$log" ft)" "$(ls "$corpus" | wc -l)" "$crashes")")
  if [[ $update_corpus == 1 ]]; then
    mkdir -p "$corpus_root/$target"
    "$binary" -merge=1 -max_len="$(max_len "$target")" "$corpus_root/$target" "$corpus" \
      >"$work/$target.merge.log" 2>&1 || echo "fuzz: merging the corpus of $target failed" >&2
  fi
done

echo
printf '%-14s %7s %12s %8s %6s %7s %7s %7s\n' target seconds execs exec/s cov ft corpus crashes
printf '%s\n' "${rows[@]}"
if [[ ${#findings[@]} -gt 0 ]]; then
  echo
  echo "crashing inputs (the log of the run is last-run.log beside them):"
  printf '  %s\n' "${findings[@]}"
fi
exit $status
