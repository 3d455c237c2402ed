#!/usr/bin/env bash
# Builds Wingman with AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer into
# build-asan/ and runs the whole suite there:
#
#   scripts/sanitize.sh              # configure, build, run every test
#   scripts/sanitize.sh -R tst_foo   # extra arguments go to ctest
#
# Debug with -O1: assertions stay on and the sanitized suite runs several times faster than at
# -O0. -g1 keeps the line tables, which is all a report's stack trace needs (function, file,
# line), without the rest of the debug information, which doubles the build's size.
# Every finding ends the process that made it, so the test fails; the runtime options and
# the third-party leak suppressions come from the build (cmake/Sanitizers.cmake). Set
# WINGMAN_ASAN_BUILD_DIR to build elsewhere. Run scripts/setup.sh first on a fresh machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_ASAN_BUILD_DIR:-$root/build-asan}

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

start=$SECONDS
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DWINGMAN_SANITIZE=address,undefined -DWINGMAN_BUILD_MONITOR=ON "${launcher[@]}"
# The suite's executables and the server they start; benchmarks and the monitor app are left out.
cmake --build "$build_dir" --target wingman-tests
echo "sanitize: build took $((SECONDS - start)) s"

start=$SECONDS
status=0
"$root/scripts/with-postgres.sh" ctest --test-dir "$build_dir" --output-on-failure -j2 "$@" || status=$?
echo "sanitize: tests took $((SECONDS - start)) s"
exit "$status"
