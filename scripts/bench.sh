#!/usr/bin/env bash
# Builds what is out of date, runs every benchmark in tests/bench, then wingman-bench RUNS times
# against a spawned wingman-server (batches of 100, then single-op batches) and against the
# in-process echo baseline at the same settings, with SQLite storage (and PostgreSQL under
# scripts/with-postgres.sh), and once in --mode restart (RECORDS records, RUNS restarts), and
# prints one table: each figure with min / median / max over the runs, its target, the echo
# baseline's median and the ratio to it where one applies.
#
# Environment: DURATION (measured seconds per run, 10), CONNECTIONS (10), SUBSCRIBERS (2),
# RUNS (runs of each wingman-bench configuration, restarts measured and runs of bench_crdt, 3),
# RECORDS (records the restart measurement fills SQLite with, 1000000),
# WINGMAN_BUILD_DIR (build), WINGMAN_BUILD_TYPE (Release; used only when configuring afresh),
# NO_BUILD=1 (run the binaries as they are).
# Exit status: non-zero when any benchmark failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_BUILD_DIR:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-10}
subscribers=${SUBSCRIBERS:-2}
runs=${RUNS:-3}
records=${RECORDS:-1000000}

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
# Figures by key ("<run label>.<SUMMARY field>" or a bench_crdt row), space-separated, one per
# run that produced it; errors[<run label>] holds the first error of its failed runs and
# failed_runs[<run label>] how many failed.
declare -A values
declare -A errors
declare -A failed_runs

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

# Keeps the named SUMMARY fields of a wingman-bench run under "<label>.<field>", or its error.
collect() {
  local label=$1 log=$2 summary field value
  shift 2
  summary=$(sed -n 's/^SUMMARY //p' "$log" | tail -n1)
  if [[ -z $summary || $(json_number "$summary" exitCode) != 0 ]]; then
    failed_runs[$label]=$((${failed_runs[$label]:-0} + 1))
    [[ -n ${errors[$label]:-} ]] ||
      errors[$label]=$(sed -n 's/^wingman-bench: error: //p' "$log" | head -n1)
    [[ -n ${errors[$label]} ]] || errors[$label]="no summary"
    return
  fi
  for field in "$@"; do
    value=$(json_number "$summary" "$field")
    [[ $value != - ]] && values[$label.$field]+="$value "
  done
}

for source in "$root"/tests/bench/*.cpp; do
  name=$(basename "$source" .cpp)
  [[ $name == wingman-bench ]] && continue
  if ! build "$name" || [[ ! -x $bin/$name ]]; then
    other_rows+=("$(printf '%-28s %s' "$name" 'not built')")
    failures=$((failures + 1))
    continue
  fi
  # bench_crdt gives the memory rows of the table: RUNS runs of it, the others once.
  count=1
  [[ $name == bench_crdt ]] && count=$runs
  for ((i = 1; i <= count; i++)); do
    label=$name
    ((count > 1)) && label="$name-$i"
    start=$SECONDS
    if run "$label" "$bin/$name"; then
      status=ok
    else
      status="failed (exit $?)"
      failures=$((failures + 1))
    fi
    other_rows+=("$(printf '%-28s %-16s %4d s' "$label" "$status" $((SECONDS - start)))")
    [[ $name == bench_crdt ]] || continue
    # "| LWW memory per record, merged (1M) |   52 bytes | 40 B in use; keys+values 90 B/record |"
    for fill in merged loaded; do
      pattern="^| LWW memory per record, $fill (1M) *| *\([0-9.]*\) bytes *| *\([0-9.]*\) B in use.*"
      read -r rss used < <(sed -n "s/$pattern/\1 \2/p" "$log_dir/$label.log")
      [[ -n ${rss:-} ]] && values[crdt.$fill.rss]+="$rss "
      [[ -n ${used:-} ]] && values[crdt.$fill.used]+="$used "
    done
  done
done

common=(--connections "$connections" --subscribers "$subscribers" --duration "$duration")
# The load generator's subscribers share the two cores with the server and fall behind the event
# stream; a large outbound budget keeps the slow-consumer guard from cutting them off in the
# middle of a throughput run.
spawn=(--spawn "$bin/wingman-server" --server-arg=--outbound-budget-bytes=536870912)
fields=(ackedOpsPerSec latencyP50Ms latencyP99Ms eventsPerSec serverCpuPct serverCpuUsPerOp
  serverRssEndKib clientCpuPct loadAverage)
# Durable storage: every ack after its commit. No subscribers, so that the figure is the write
# path's; PostgreSQL when WINGMAN_TEST_POSTGRES_URL names a server (scripts/with-postgres.sh).
storage_runs=("sqlite|sqlite:$log_dir/bench.db")
[[ -n ${WINGMAN_TEST_POSTGRES_URL:-} ]] && storage_runs+=("postgres|$WINGMAN_TEST_POSTGRES_URL")
# The runs go round-robin, so that a change of load on the machine touches every configuration.
for ((i = 1; i <= runs; i++)); do
  for target in server baseline; do
    for batch in 100 1; do
      label="$target-batch-$batch"
      args=("${spawn[@]}")
      [[ $target == baseline ]] && args=(--baseline)
      run "$label-$i" "$bin/wingman-bench" "${args[@]}" "${common[@]}" --batch "$batch" ||
        failures=$((failures + 1))
      collect "$label" "$log_dir/$label-$i.log" "${fields[@]}"
    done
  done
  for entry in "${storage_runs[@]}"; do
    label="${entry%%|*}-S0-batch-100"
    # Every run inserts keys of its own: a fresh SQLite file, a map of its own in PostgreSQL.
    rm -f "$log_dir"/bench.db*
    run "$label-$i" "$bin/wingman-bench" "${spawn[@]}" --storage "${entry#*|}" --map "bench-$i" \
      --connections "$connections" --subscribers 0 --duration "$duration" --batch 100 ||
      failures=$((failures + 1))
    collect "$label" "$log_dir/$label-$i.log" "${fields[@]}"
  done
done

run restart "$bin/wingman-bench" --mode restart --spawn "$bin/wingman-server" \
  --records "$records" --runs "$runs" --connections "$connections" ||
  failures=$((failures + 1))
collect restart "$log_dir/restart.log" rssAfterLoadKib emptyReadyMs fillOpsPerSec \
  storageOpenMsMedian integrityCheckMsMedian
restart_summary=$(sed -n 's/^SUMMARY //p' "$log_dir/restart.log" | tail -n1)
if [[ -z ${errors[restart]:-} ]]; then
  values[restart.restartMs]=$(grep -o '"restartMs":\[[^]]*\]' <<<"$restart_summary" |
    sed 's/.*\[//; s/\]//; s/,/ /g')
fi

# "min median max count" of space-separated numbers, each divided by $2, printed with format $3;
# "-" when there are none.
summarize() {
  awk -v list="$1" -v scale="$2" -v f="$3" 'BEGIN {
    n = split(list, v, " ")
    if (n == 0) { print "- - - 0"; exit }
    for (i = 1; i <= n; i++) v[i] /= scale
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf f " " f " " f " %d\n", v[1], m, v[n], n
  }'
}

# One line of the table: title, figures key, target ("-" for none), echo figures key ("" for
# none), expected count of figures, then optionally scale and format.
row() {
  local title=$1 key=$2 target=$3 echo_key=$4 expected=$5 scale=${6:-1} format=${7:-%.0f}
  local min median max count met echo_median=- ratio=- label=${2%%.*}
  if [[ -n ${errors[$label]:-} && -z ${values[$key]:-} ]]; then
    printf '%-46s failed: %s\n' "$title" "${errors[$label]}"
    return
  fi
  read -r min median max count < <(summarize "${values[$key]:-}" "$scale" "$format")
  if [[ -n $echo_key ]]; then
    read -r _ echo_median _ _ < <(summarize "${values[$echo_key]:-}" "$scale" "$format")
    if [[ $echo_median != - && $median != - ]]; then
      ratio=$(awk -v a="$median" -v b="$echo_median" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }')
    fi
  fi
  met=$(awk -v m="$median" -v t="$target" 'BEGIN {
    split(t, p, " ")
    if (m == "-" || p[2] == "") print "-"
    else print ((p[1] == ">=" ? m + 0 >= p[2] + 0 : m + 0 <= p[2] + 0) ? "yes" : "no")
  }')
  printf '%-46s %10s %10s %10s %11s %4s %9s %6s %5s\n' "$title" "$min" "$median" "$max" "$target" \
    "$met" "$echo_median" "$ratio" "$count/$expected"
}

b100="B=100 C=$connections S=$subscribers"
b1="B=1 C=$connections S=$subscribers"
echo
echo "== figures (C=$connections, S=$subscribers, window 4, 1 s warm-up + $duration s, $runs runs," \
  "$(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
printf '%-46s %10s %10s %10s %11s %4s %9s %6s %5s\n' measure min median max target met echo \
  ratio runs
if [[ -n ${WINGMAN_TEST_POSTGRES_URL:-} ]]; then
  row "PostgreSQL acked ops/s (B=100 C=$connections S=0)" postgres-S0-batch-100.ackedOpsPerSec \
    '>= 120000' "" "$runs"
fi
row "SQLite acked ops/s (B=100 C=$connections S=0)" sqlite-S0-batch-100.ackedOpsPerSec \
  '>= 150000' "" "$runs"
row "ack latency p99 ms ($b1)" server-batch-1.latencyP99Ms '<= 1.0' baseline-batch-1.latencyP99Ms \
  "$runs" 1 %.3f
row "ack latency p50 ms ($b1)" server-batch-1.latencyP50Ms '<= 0.2' baseline-batch-1.latencyP50Ms \
  "$runs" 1 %.3f
row "LWW B/record over key+value, merged, RSS" crdt.merged.rss '<= 100' "" "$runs"
row "LWW B/record over key+value, merged, malloc" crdt.merged.used '<= 100' "" "$runs"
row "LWW B/record over key+value, loaded, RSS" crdt.loaded.rss '<= 100' "" "$runs"
row "LWW B/record over key+value, loaded, malloc" crdt.loaded.used '<= 100' "" "$runs"
row "restart, $records records, SQLite, ms" restart.restartMs '<= 1000' "" "$runs" 1 %.1f
row "server CPU us per acked op ($b100)" server-batch-100.serverCpuUsPerOp '<= 2.5' \
  baseline-batch-100.serverCpuUsPerOp "$runs" 1 %.3f
row "acked ops/s ($b100)" server-batch-100.ackedOpsPerSec - baseline-batch-100.ackedOpsPerSec \
  "$runs"
row "acked ops/s ($b1)" server-batch-1.ackedOpsPerSec - baseline-batch-1.ackedOpsPerSec "$runs"
row "ack latency p50 ms ($b100)" server-batch-100.latencyP50Ms - baseline-batch-100.latencyP50Ms \
  "$runs" 1 %.3f
row "ack latency p99 ms ($b100)" server-batch-100.latencyP99Ms - baseline-batch-100.latencyP99Ms \
  "$runs" 1 %.3f
row "events/s ($b100)" server-batch-100.eventsPerSec - "" "$runs"
row "events/s ($b1)" server-batch-1.eventsPerSec - "" "$runs"
row "server CPU % ($b100)" server-batch-100.serverCpuPct - baseline-batch-100.serverCpuPct \
  "$runs" 1 %.1f
row "server CPU % ($b1)" server-batch-1.serverCpuPct - baseline-batch-1.serverCpuPct "$runs" 1 %.1f
row "server CPU us per acked op ($b1)" server-batch-1.serverCpuUsPerOp - \
  baseline-batch-1.serverCpuUsPerOp "$runs" 1 %.3f
row "server RSS MiB at the end ($b100)" server-batch-100.serverRssEndKib - "" "$runs" 1024 %.1f
row "client CPU % ($b100)" server-batch-100.clientCpuPct - baseline-batch-100.clientCpuPct \
  "$runs" 1 %.1f
row "SQLite ack latency p50 ms (B=100 S=0)" sqlite-S0-batch-100.latencyP50Ms - "" "$runs" 1 %.3f
row "SQLite ack latency p99 ms (B=100 S=0)" sqlite-S0-batch-100.latencyP99Ms - "" "$runs" 1 %.3f
row "SQLite server CPU us per acked op (B=100 S=0)" sqlite-S0-batch-100.serverCpuUsPerOp - "" \
  "$runs" 1 %.3f
if [[ -n ${WINGMAN_TEST_POSTGRES_URL:-} ]]; then
  row "PostgreSQL ack latency p50 ms (B=100 S=0)" postgres-S0-batch-100.latencyP50Ms - "" \
    "$runs" 1 %.3f
  row "PostgreSQL ack latency p99 ms (B=100 S=0)" postgres-S0-batch-100.latencyP99Ms - "" \
    "$runs" 1 %.3f
fi
row "restart: storage open ms (median of runs)" restart.storageOpenMsMedian - "" 1
row "restart: of which integrity check ms" restart.integrityCheckMsMedian - "" 1
row "restart: server RSS MiB after ready (median)" restart.rssAfterLoadKib - "" 1 1024 %.1f
row "restart: empty database, ms" restart.emptyReadyMs - "" 1 1 %.1f
row "restart: fill, acked ops/s (B=100 SQLite)" restart.fillOpsPerSec - "" 1
row "load average before the run ($b100)" server-batch-100.loadAverage - "" "$runs" 1 %.2f
for label in "${!failed_runs[@]}"; do
  echo "$label: ${failed_runs[$label]} run(s) failed, first: ${errors[$label]}"
done
for row in "${other_rows[@]}"; do echo "$row"; done
echo "(min / median / max over the runs that produced the figure (runs: how many of how many);"
echo " met: the median against the target;"
echo " echo: the median of the same figure against an in-process echo server answering every frame"
echo " with a fixed OP_ACK (its CPU is the echo thread's); ratio: median / echo median. Server CPU"
echo " per op: the server's CPU time in the measured window over the ops acknowledged in it."
echo " LWW rows: bench_crdt, 1M records merged one by one or loaded at once, resident set growth"
echo " and malloc bytes in use per record beyond the keys and values. Restart: wingman-bench --mode"
echo " restart, spawn to the ready line (storage open and every record loaded) on a SQLite database"
echo " filled with $records records, one fill, $runs restarts. Other work on the machine lowers"
echo " every figure)"

exit $((failures > 0))
