#!/usr/bin/env bash
# Builds what is out of date, runs every benchmark in tests/bench, then wingman-bench against a
# spawned wingman-server (batches of 100, then single-op batches) and against the in-process echo
# baseline at the same settings, then with SQLite storage (and PostgreSQL under
# scripts/with-postgres.sh), and prints a table of the figures.
#
# Environment: DURATION (measured seconds per run, 10), CONNECTIONS (10), SUBSCRIBERS (2),
# WINGMAN_BUILD_DIR (build), WINGMAN_BUILD_TYPE (Release; used only when configuring afresh),
# NO_BUILD=1 (run the binaries as they are).
# Exit status: non-zero when any benchmark failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_BUILD_DIR:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-10}
subscribers=${SUBSCRIBERS:-2}

if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${WINGMAN_BUILD_TYPE:-Release}" || exit 1
fi
# Only what the benchmarks need, so unrelated work in progress elsewhere does not stop them.
build() {
  [[ ${NO_BUILD:-0} == 1 ]] || cmake --build "$build_dir" --target "$@"
}
build wingman-server wingman-bench || exit 1
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
if [[ $build_type != Release && $build_type != RelWithDebInfo ]]; then
  echo "bench: warning: $build_dir is a '$build_type' build; figures will be low" >&2
fi

bin=$build_dir/bin
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
failures=0
other_rows=()
bench_rows=()

# The value of a top-level number field of a flat JSON object, or "-".
json_number() {
  local value
  value=$(grep -o "\"$2\":[-0-9.eE+]*" <<<"$1" | head -n1 | cut -d: -f2)
  echo "${value:--}"
}

# Runs one benchmark, showing its output as it goes; its log stays in $log_dir/$1.log.
run() {
  local label=$1
  shift
  echo
  echo "== $label: $*"
  "$@" 2>&1 | tee "$log_dir/$label.log"
  return "${PIPESTATUS[0]}"
}

for source in "$root"/tests/bench/*.cpp; do
  name=$(basename "$source" .cpp)
  [[ $name == wingman-bench ]] && continue
  if ! build "$name" || [[ ! -x $bin/$name ]]; then
    other_rows+=("$(printf '%-28s %s' "$name" 'not built')")
    failures=$((failures + 1))
    continue
  fi
  start=$SECONDS
  if run "$name" "$bin/$name"; then
    status=ok
  else
    status="failed (exit $?)"
    failures=$((failures + 1))
  fi
  other_rows+=("$(printf '%-28s %-16s %4d s' "$name" "$status" $((SECONDS - start)))")
done

common=(--connections "$connections" --subscribers "$subscribers" --duration "$duration")
declare -A ops_per_sec
for target in server baseline; do
  for batch in 100 1; do
    label="$target-batch-$batch"
    if [[ $target == server ]]; then
      # The load generator's subscribers share the two cores with the server and fall behind
      # the event stream; a large outbound budget keeps the slow-consumer guard from cutting
      # them off in the middle of a throughput run.
      args=(--spawn "$bin/wingman-server" --server-arg=--outbound-budget-bytes=536870912)
    else
      args=(--baseline)
    fi
    run "$label" "$bin/wingman-bench" "${args[@]}" "${common[@]}" --batch "$batch" ||
      failures=$((failures + 1))
    summary=$(sed -n 's/^SUMMARY //p' "$log_dir/$label.log" | tail -n1)
    ops_per_sec[$label]=$(json_number "$summary" ackedOpsPerSec)
    bench_rows+=("$label|$summary")
  done
done

# Durable storage: every ack after its commit. No subscribers, so that the figure is the write
# path's; PostgreSQL when WINGMAN_TEST_POSTGRES_URL names a server (scripts/with-postgres.sh).
storage_runs=("sqlite|sqlite:$log_dir/bench.db")
[[ -n ${WINGMAN_TEST_POSTGRES_URL:-} ]] && storage_runs+=("postgres|$WINGMAN_TEST_POSTGRES_URL")
for entry in "${storage_runs[@]}"; do
  label="${entry%%|*}-S0-batch-100"
  run "$label" "$bin/wingman-bench" --spawn "$bin/wingman-server" \
    --server-arg=--outbound-budget-bytes=536870912 --storage "${entry#*|}" \
    --connections "$connections" --subscribers 0 --duration "$duration" --batch 100 ||
    failures=$((failures + 1))
  summary=$(sed -n 's/^SUMMARY //p' "$log_dir/$label.log" | tail -n1)
  ops_per_sec[$label]=$(json_number "$summary" ackedOpsPerSec)
  bench_rows+=("$label|$summary")
done

echo
echo "== figures (C=$connections, S=$subscribers, window 4, 1 s warm-up + $duration s, $(nproc) cores," \
  "load average $(cut -d' ' -f1 /proc/loadavg))"
for row in "${other_rows[@]}"; do echo "$row"; done
printf '%-20s %12s %9s %9s %11s %9s %12s %9s %8s %6s\n' run 'acked ops/s' 'p50 ms' 'p99 ms' \
  'events/s' 'srv CPU%' 'srv RSS MiB' 'cli CPU%' 'vs base' 'load'
for row in "${bench_rows[@]}"; do
  label=${row%%|*}
  summary=${row#*|}
  if [[ -z $summary || $(json_number "$summary" exitCode) != 0 ]]; then
    error=$(sed -n 's/^wingman-bench: error: //p' "$log_dir/$label.log" | head -n1)
    printf '%-20s failed: %s\n' "$label" "${error:-no summary}"
    continue
  fi
  ops=${ops_per_sec[$label]}
  ratio=-
  base=${ops_per_sec[baseline-${label#*-}]:--}
  if [[ $label == server-* && $base != - && $base != 0 && $ops != - ]]; then
    ratio=$(awk -v a="$ops" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
  fi
  rss=$(json_number "$summary" serverRssEndKib)
  [[ $rss != - ]] && rss=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  printf '%-20s %12s %9s %9s %11s %9s %12s %9s %8s %6s\n' "$label" "$ops" \
    "$(json_number "$summary" latencyP50Ms)" "$(json_number "$summary" latencyP99Ms)" \
    "$(json_number "$summary" eventsPerSec)" "$(json_number "$summary" serverCpuPct)" "$rss" \
    "$(json_number "$summary" clientCpuPct)" "$ratio" "$(json_number "$summary" loadAverage)"
done
echo "(vs base: acked ops/s over the baseline's at the same batch size. baseline: an in-process"
echo " echo server answering every frame with a fixed OP_ACK; its CPU is the echo thread's and its"
echo " RSS the bench process's. load: 1-minute load average before the run; other work on the"
echo " machine lowers every figure)"

exit $((failures > 0))
