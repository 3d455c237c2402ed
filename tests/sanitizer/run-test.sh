#!/usr/bin/env bash
# Runs one test of the sanitized build (cmake/Sanitizers.cmake):
#
#   tests/sanitizer/run-test.sh build-asan/bin/tst_foo [argument...]
#
# The sanitizer reports of the test and of every process it starts (the wingman-server children
# of ServerProcess) are written to files in a temporary directory instead of stderr, so that a
# report from a child the test never checks, or one printed while the test reads the child's
# output, still fails the test. Each report is printed, and any report makes the status non-zero.
set -uo pipefail

if (($# == 0)); then
  echo "usage: $0 test-binary [argument...]" >&2
  exit 2
fi

reports=$(mktemp -d "${TMPDIR:-/tmp}/wingman-sanitizer.XXXXXX") || exit 1
trap 'rm -rf "$reports"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$reports/report"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$reports/report"

"$@"
status=$?

for report in "$reports"/report*; do
  [[ -e $report ]] || continue
  echo "run-test: sanitizer report ${report##*/} (the number is the process id):"
  cat "$report"
  ((status != 0)) || status=1
done
exit "$status"
