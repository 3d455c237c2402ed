#!/usr/bin/env bash
# Builds the Debian packages wingman-server and wingman-monitor into <build>/packages/.
# Runs scripts/setup.sh first (packages, configure, build), configured for /usr so the files land
# where Debian keeps them (/usr/bin, /etc/wingman, /usr/lib/systemd/system).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${WINGMAN_BUILD_DIR:-$root/build-package}

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
# dpkg-shlibdeps computes each package's Depends from the libraries its binaries link; CPack
# finds the binaries with file(1).
if ! command -v dpkg-shlibdeps >/dev/null || ! command -v file >/dev/null; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends dpkg-dev file
fi

WINGMAN_BUILD_DIR=$build_dir WINGMAN_BUILD_TYPE=${WINGMAN_BUILD_TYPE:-RelWithDebInfo} \
  WINGMAN_CMAKE_ARGS="-DCMAKE_INSTALL_PREFIX=/usr ${WINGMAN_CMAKE_ARGS:-}" "$root/scripts/setup.sh"
rm -rf "$build_dir/packages"
(cd "$build_dir" && cpack --config CPackConfig.cmake)
ls -1 "$build_dir"/packages/*.deb
