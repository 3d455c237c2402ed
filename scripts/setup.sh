#!/usr/bin/env bash
# Installs the Debian 12 packages Wingman needs (only those missing), then configures and builds
# into build/. Safe to run again: it does only what is left to do.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_BUILD_DIR:-$root/build}
build_type=${WINGMAN_BUILD_TYPE:-RelWithDebInfo}

packages=(
  cmake ninja-build g++ pkg-config
  qt6-base-dev qt6-base-dev-tools qt6-websockets-dev qt6-httpserver-dev qt6-declarative-dev
  qt6-charts-dev libqt6opengl6-dev
  libqt6sql6-sqlite libqt6sql6-psql libsqlite3-dev libpq-dev
  libmsgpack-cxx-dev libjwt-dev libssl-dev libicu-dev libre2-dev libsystemd-dev
  qtkeychain-qt6-dev
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# WINGMAN_CMAKE_ARGS: extra configure arguments (scripts/package.sh sets the install prefix).
# shellcheck disable=SC2086
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${WINGMAN_CMAKE_ARGS:-}
cmake --build "$build_dir"
