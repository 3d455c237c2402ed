#!/usr/bin/env bash
# Runs wingman-bench against a three-node loopback cluster (node-b and node-c join through
# node-a; writers and subscribers spread over the nodes: connection i goes to node i % 3) and
# against one node with the same settings, at batches of 100 and of 1, and prints a table: acked
# ops/s, ack latency, and the lag from a write's send to a subscriber's receipt of its event
# (all records, and in the cluster those written through another node than the subscriber's).
# Every run gets fresh servers on OS-assigned loopback ports; they are stopped at the end.
#
# Environment: DURATION (measured seconds per run, 10), CONNECTIONS (writers, 10), SUBSCRIBERS
# (3), STORAGE (memory, or sqlite: a database per node in a temporary directory),
# WINGMAN_BUILD_DIR (build), WINGMAN_BUILD_TYPE (Release; used only when configuring afresh),
# NO_BUILD=1 (run the binaries as they are), KEEP_LOGS=1 (keep the server logs and print where).
# Exit status: non-zero when any run failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_BUILD_DIR:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-10}
subscribers=${SUBSCRIBERS:-3}
storage=${STORAGE:-memory}
[[ $storage == memory || $storage == sqlite ]] || {
  echo "bench-cluster: STORAGE must be memory or sqlite, not '$storage'" >&2
  exit 2
}

if [[ ${NO_BUILD:-0} != 1 ]]; then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${WINGMAN_BUILD_TYPE:-Release}" ||
      exit 1
  fi
  cmake --build "$build_dir" --target wingman-server wingman-bench || exit 1
fi
bin=$build_dir/bin
for binary in wingman-server wingman-bench; do
  [[ -x $bin/$binary ]] || { echo "bench-cluster: $bin/$binary is missing" >&2; exit 1; }
done

work=$(mktemp -d)
jwt_secret=wingman-bench-jwt-secret
cluster_secret=wingman-bench-cluster-secret
# The server refuses WINGMAN_* variables it does not know (such as WINGMAN_BUILD_DIR): the flags
# alone configure it.
clean_env=()
for name in $(compgen -e); do
  [[ $name == WINGMAN_* ]] && clean_env+=(-u "$name")
done

pids=()
declare -A client_port cluster_port metrics_port
stop_servers() {
  local pid i
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  stop_servers
  if [[ ${KEEP_LOGS:-0} == 1 ]]; then
    echo "bench-cluster: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_node RUN NAME [server args...]: starts a node, waits for its ready line (at most 15 s)
# and records its ports.
start_node() {
  local run=$1 name=$2
  shift 2
  local log=$work/$run-$name.log storage_url=memory:
  if [[ $storage == sqlite ]]; then
    mkdir -p "$work/$run-$name-data"
    storage_url=sqlite:$work/$run-$name-data/wingman.db
  fi
  env "${clean_env[@]}" QT_FORCE_STDERR_LOGGING=1 "$bin/wingman-server" --host 127.0.0.1 \
    --port 0 --cluster-port 0 --metrics-port 0 --node-id "$name" --jwt-secret "$jwt_secret" \
    --cluster-secret "$cluster_secret" --storage "$storage_url" \
    --outbound-budget-bytes=536870912 "$@" >/dev/null 2>"$log" &
  local pid=$!
  pids+=("$pid")
  local i line
  for ((i = 0; i < 150; i++)); do
    line=$(grep -o -m1 'ready: client port [0-9]*, cluster port [0-9]*, metrics port [0-9]*' "$log" 2>/dev/null)
    if [[ -n $line ]]; then
      local client cluster metrics
      read -r client cluster metrics <<<"$(tr -cs '0-9' ' ' <<<"$line")"
      client_port[$name]=$client
      cluster_port[$name]=$cluster
      metrics_port[$name]=$metrics
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-cluster: $name did not log its ready line; its log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# wait_for_mesh RUN NAMES...: every node logged a partition table over all of NAMES (at most 20 s).
wait_for_mesh() {
  local run=$1
  shift
  local members name i missing
  members=$(IFS=,; echo "$*")
  for ((i = 0; i < 200; i++)); do
    missing=
    for name in "$@"; do
      grep -Eq "partition table [0-9]+ from [^:]*: $members\$" "$work/$run-$name.log" 2>/dev/null ||
        missing+=" $name"
    done
    [[ -z $missing ]] && return 0
    sleep 0.1
  done
  echo "bench-cluster: no partition table over $members on:$missing within 20 s" >&2
  return 1
}

# The value of a top-level number field of a flat JSON object, or "-".
json_number() {
  local value
  value=$(grep -o "\"$2\":[-0-9.eE+]*" <<<"$1" | head -n1 | cut -d: -f2)
  echo "${value:--}"
}

# A counter summed over the nodes' /metrics, or "-".
metric_sum() {
  local metric=$1 name sum=0 value
  shift
  for name in "$@"; do
    value=$(curl -s --max-time 2 "http://127.0.0.1:${metrics_port[$name]}/metrics" |
      awk -v m="$metric" '$1 == m { print $2 }')
    [[ -z $value ]] && { echo -; return; }
    sum=$(awk -v a="$sum" -v b="$value" 'BEGIN { print a + b }')
  done
  echo "$sum"
}

failures=0
rows=()
# run_case NODES BATCH: fresh servers, one wingman-bench run, one row of the table.
run_case() {
  local nodes=$1 batch=$2
  local run=n$nodes-b$batch
  local names=(node-a) urls=() name ok=1
  ((nodes == 3)) && names=(node-a node-b node-c)
  echo
  echo "== $nodes node(s), batch $batch"
  start_node "$run" node-a || ok=0
  if ((ok && nodes == 3)); then
    for name in node-b node-c; do
      start_node "$run" "$name" --peers "127.0.0.1:${cluster_port[node-a]}" || ok=0
    done
    ((ok)) && { wait_for_mesh "$run" "${names[@]}" || ok=0; }
  fi
  local summary=
  if ((ok)); then
    for name in "${names[@]}"; do urls+=(--url "ws://127.0.0.1:${client_port[$name]}/"); done
    local pid_args=()
    ((nodes == 1)) && pid_args=(--server-pid "${pids[0]}")
    echo "$bin/wingman-bench ${urls[*]} --secret $jwt_secret --connections $connections" \
      "--subscribers $subscribers --duration $duration --batch $batch ${pid_args[*]}"
    "$bin/wingman-bench" "${urls[@]}" --secret "$jwt_secret" --connections "$connections" \
      --subscribers "$subscribers" --duration "$duration" --batch "$batch" "${pid_args[@]}" \
      2>&1 | tee "$work/$run.bench.log"
    ((PIPESTATUS[0] == 0)) || ok=0
    summary=$(sed -n 's/^SUMMARY //p' "$work/$run.bench.log" | tail -n1)
  fi
  local degraded=-
  ((nodes == 3)) && degraded=$(metric_sum wingman_cluster_acks_degraded_total "${names[@]}")
  local logs=() problems
  for name in "${names[@]}"; do logs+=("$work/$run-$name.log"); done
  problems=$(cat "${logs[@]}" 2>/dev/null | grep -ciE 'warning|error|critical|fatal')
  stop_servers
  ((ok)) || failures=$((failures + 1))
  if [[ -z $summary || $(json_number "$summary" exitCode) != 0 ]]; then
    local error
    error=$(sed -n 's/^wingman-bench: error: //p' "$work/$run.bench.log" 2>/dev/null | head -n1)
    rows+=("$(printf '%-9s %5s   failed: %s' "$batch" "$nodes" "${error:-no summary}")")
    return
  fi
  local cross_p50=- cross_p99=-
  if ((nodes == 3)); then
    cross_p50=$(json_number "$summary" crossNodeLagP50Ms)
    cross_p99=$(json_number "$summary" crossNodeLagP99Ms)
  fi
  local errors
  errors=$(($(json_number "$summary" errors) + $(json_number "$summary" rejectedOps) +
    $(json_number "$summary" failedResults)))
  rows+=("$(printf '%-9s %5s %12s %9s %9s %9s %9s %9s %9s %10s %7s %9s %8s %8s' "$batch" "$nodes" \
    "$(json_number "$summary" ackedOpsPerSec)" "$(json_number "$summary" latencyP50Ms)" \
    "$(json_number "$summary" latencyP99Ms)" "$(json_number "$summary" lagP50Ms)" \
    "$(json_number "$summary" lagP99Ms)" "$cross_p50" "$cross_p99" \
    "$(json_number "$summary" eventsPerSec)" "$errors" "$(json_number "$summary" unmatchedAcks)" \
    "$degraded" "$problems")")
}

for batch in 100 1; do
  run_case 1 "$batch"
  run_case 3 "$batch"
done

echo
echo "== cluster vs one node (C=$connections writers, S=$subscribers subscribers, window 4," \
  "1 s warm-up + $duration s, storage $storage, $(nproc) cores, load average" \
  "$(cut -d' ' -f1 /proc/loadavg))"
printf '%-9s %5s %12s %9s %9s %9s %9s %9s %9s %10s %7s %9s %8s %8s\n' batch nodes \
  'acked ops/s' 'ack p50' 'ack p99' 'lag p50' 'lag p99' 'xlag p50' 'xlag p99' 'events/s' 'errors' \
  'unmatched' 'degraded' 'log warn'
for row in "${rows[@]}"; do echo "$row"; done
echo "(ms throughout. lag: a subscriber's receipt of a SERVER_EVENT record minus the millis its"
echo " writer stamped when sending the batch, wall clock, whole-ms stamps (up to 1 ms high); xlag:"
echo " records written through another node than the subscriber's. errors: ERRORs, OP_REJECTED"
echo " and failed ack results; unmatched: OP_ACKs for batches a later ack already covered"
echo " (acks out of order); degraded: acks_degraded_total over the nodes; log warn: server log"
echo " lines saying warning/error/critical. All processes share the machine's cores)"

exit $((failures > 0))
