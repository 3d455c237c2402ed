#!/usr/bin/env bash
# Proves the README on a machine where nothing was installed by hand: a minimal Debian 12 root
# (debootstrap --variant=minbase) gets the checkout, runs scripts/setup.sh, and the built
# wingman-server must reach its ready line. The same root then builds the Debian packages, and a
# second, untouched root installs them (apt resolves their Depends) and starts the installed
# server once as the unit does. Needs root. Prints how long each stage took.
#
# The base tree is cached in $WINGMAN_ROOT_CACHE (default /var/cache/wingman-ci), keyed by the
# mirror; each run unpacks fresh copies, so nothing carries over between runs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${WINGMAN_ROOT_CACHE:-/var/cache/wingman-ci}
suite=bookworm
work=$(mktemp -d /var/tmp/wingman-clean-root.XXXXXX)
mounted=()

log() { printf 'clean-root: %s\n' "$*"; }
die() { log "FAILED: $*"; exit 1; }

cleanup() {
  local m
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  # Only remove the roots once nothing is mounted inside them.
  if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; else log "left $work (still mounted)"; fi
}
trap cleanup EXIT

stage_start=0
stage() { stage_start=$SECONDS; log "stage $1 ..."; }
stage_done() { log "stage $1 took $((SECONDS - stage_start)) s"; timings+=("$1 $((SECONDS - stage_start)) s"); }
timings=()

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot)"

# The Debian mirror and security archive the machine's own apt sources name.
apt_uris() {
  { cat /etc/apt/sources.list 2>/dev/null || true
    cat /etc/apt/sources.list.d/*.list 2>/dev/null || true
  } | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }'
}
mirror=$(apt_uris | grep -E '/debian/?$' | head -n 1 || true)
security=$(apt_uris | grep -E '/debian-security/?$' | head -n 1 || true)
mirror=${WINGMAN_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
mirror=${mirror%/}
log "mirror $mirror${security:+, security ${security%/}}"

write_sources() {
  local root=$1
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    if [[ -n $security ]]; then echo "deb ${security%/} $suite-security main"; fi
  } > "$root/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  # No services start inside the root (postinst scripts of packages ask this).
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
}

new_root() {
  local root=$1
  mkdir -p "$root"
  tar -C "$root" -xf "$base_tar"
  write_sources "$root"
  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
}

root_env=(/usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
in_root() {
  local root=$1; shift
  chroot "$root" "${root_env[@]}" "$@"
}

# Starts a server inside a root and waits for its ready line; then SIGTERM and a clean exit.
serve_once() {
  local root=$1 dir=$2; shift 2
  local out=$work/server-$RANDOM.log
  # A plain command, not in_root: in the background a function would run in a subshell, and $!
  # would be that shell's pid instead of the server's.
  chroot "$root" "${root_env[@]}" /bin/sh -c "cd $dir && exec \"\$@\"" sh "$@" > "$out" 2>&1 &
  local pid=$! waited=0
  until grep -q "ready: client port [0-9]*, cluster port [0-9]*" "$out"; do
    if ! kill -0 "$pid" 2>/dev/null || ((waited >= 600)); then
      cat "$out"; kill "$pid" 2>/dev/null || true; die "the server did not reach its ready line"
    fi
    sleep 0.1; waited=$((waited + 1))
  done
  # chroot, env, sh and setpriv all exec: the pid is the server's own.
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  sed 's/^/    /' "$out" | tail -n 3
  [[ $status -eq 0 ]] || { cat "$out"; die "the server exited $status on SIGTERM"; }
}

# --- base tree --------------------------------------------------------------------------------
stage base
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
key=$(printf '%s %s' "$mirror" "$suite" | sha256sum | cut -c1-12)
base_tar=$cache/$suite-minbase-$key.tar
if [[ ! -s $base_tar ]]; then
  mkdir -p "$cache"
  debootstrap --variant=minbase "$suite" "$work/base" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log"; die "debootstrap"; }
  tar -C "$work/base" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  rm -rf "$work/base"
  log "cached the base tree in $base_tar"
else
  log "base tree from $base_tar"
fi
stage_done base

# --- README set-up on the clean root ----------------------------------------------------------
stage setup
build_root=$work/build-root
new_root "$build_root"
mkdir -p "$build_root/src/wingman"
git -C "$repo" archive HEAD | tar -x -C "$build_root/src/wingman"
in_root "$build_root" /bin/bash -c 'cd /src/wingman && scripts/setup.sh' > "$work/setup.log" 2>&1 \
  || { tail -n 60 "$work/setup.log"; die "scripts/setup.sh on the clean root"; }
grep -E "^setup: installing" "$work/setup.log" | cut -c1-300 || true
stage_done setup

stage ready
mkdir -p "$build_root/run"
serve_once "$build_root" /run /src/wingman/build/bin/wingman-server --port 0 --cluster-port 0
stage_done ready

# --- packages ---------------------------------------------------------------------------------
stage package
in_root "$build_root" /bin/bash -c 'cd /src/wingman && WINGMAN_BUILD_DIR=/src/wingman/build scripts/package.sh' \
  > "$work/package.log" 2>&1 || { tail -n 60 "$work/package.log"; die "scripts/package.sh"; }
mkdir -p "$work/debs"
cp "$build_root"/src/wingman/build/packages/*.deb "$work/debs/"
for deb in "$work"/debs/*.deb; do
  log "$(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
done
stage_done package

# --- install on an untouched root and start once ----------------------------------------------
stage install
install_root=$work/install-root
new_root "$install_root"
mkdir -p "$install_root/tmp/debs"
cp "$work"/debs/*.deb "$install_root/tmp/debs/"
# systemd comes first, as on any server, so that the unit can be verified against it below.
in_root "$install_root" /bin/bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd && apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb' \
  > "$work/install.log" 2>&1 || { tail -n 40 "$work/install.log"; die "installing the packages"; }
for file in /usr/bin/wingman-server /usr/bin/wingman-monitor /etc/wingman/wingman.ini \
  /usr/lib/systemd/system/wingman-server.service /usr/share/applications/wingman-monitor.desktop \
  /usr/share/icons/hicolor/scalable/apps/wingman-monitor.svg; do
  [[ -e $install_root$file ]] || die "the packages did not install $file"
done
in_root "$install_root" /usr/bin/env QT_QPA_PLATFORM=offscreen wingman-monitor --version \
  || die "the installed wingman-monitor does not start"
# As the unit runs it: --production and the shipped config, unprivileged, in its state directory.
mkdir -p "$install_root/var/lib/wingman"
chown 65534:65534 "$install_root/var/lib/wingman"
status=0
refusal=$(in_root "$install_root" setpriv --reuid=65534 --regid=65534 --clear-groups \
  /usr/bin/wingman-server --production --config /etc/wingman/wingman.ini 2>&1) || status=$?
[[ $status -eq 2 ]] || die "--production with the development secret exited $status: $refusal"
log "without a secret (exit 2): $refusal"
serve_once "$install_root" /var/lib/wingman setpriv --reuid=65534 --regid=65534 --clear-groups \
  /usr/bin/env WINGMAN_JWT_SECRET=clean-root-check-secret \
  /usr/bin/wingman-server --port 0 --cluster-port 0 --production --config /etc/wingman/wingman.ini
[[ -s $install_root/var/lib/wingman/wingman-data/wingman.db ]] || die "no database in /var/lib/wingman"
stage_done install

# --- the unit ---------------------------------------------------------------------------------
stage unit
unit=/usr/lib/systemd/system/wingman-server.service
in_root "$install_root" systemd-analyze verify "$unit" > "$work/verify.log" 2>&1 \
  || { cat "$work/verify.log"; die "systemd-analyze verify"; }
[[ ! -s $work/verify.log ]] || { cat "$work/verify.log"; die "systemd-analyze verify complained"; }
log "systemd-analyze verify: clean"
in_root "$install_root" systemd-analyze security --offline=true "$unit" | tail -n 1 | sed 's/^/    /'
stage_done unit

log "all stages passed"
printf 'clean-root: %s\n' "${timings[@]}"
