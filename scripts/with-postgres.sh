#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server for the PostgreSQL storage tests:
#
#   scripts/with-postgres.sh ctest --test-dir build --output-on-failure -j2
#
# Installs the postgresql package if it is missing, creates a cluster in a temporary directory
# (as a non-root user: PostgreSQL refuses to run as root), starts it on a free loopback port with
# a password-protected role that may create databases, exports
# WINGMAN_TEST_POSTGRES_URL=postgres://wingman:<password>@127.0.0.1:<port>/wingman, runs the
# command, then stops the cluster and removes the directory. Exits with the command's status.
# When PostgreSQL cannot be installed or started it says why, exports
# WINGMAN_TEST_POSTGRES_UNAVAILABLE=<reason> instead, and still runs the command, so that the
# PostgreSQL suite skips with that reason and everything else runs.
set -uo pipefail

if (($# == 0)); then
  echo "usage: $0 command [argument...]" >&2
  exit 2
fi

work_dir=""
pg_bin=""
run_as=()

log() { echo "with-postgres: $*" >&2; }

cleanup() {
  if [[ -n $work_dir && -d $work_dir ]]; then
    if [[ -f $work_dir/data/postmaster.pid ]]; then
      "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work_dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    rm -rf "$work_dir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_without_postgres() {
  log "PostgreSQL is unavailable: $1; the PostgreSQL suite will skip"
  export WINGMAN_TEST_POSTGRES_UNAVAILABLE="$1"
  "${command[@]}"
  exit $?
}

find_pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]] && echo "$dir"
}

install_postgres() {
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || return 1
    sudo="sudo -n"
  fi
  log "installing postgresql"
  $sudo apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      postgresql >&2
}

# True when something accepts connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

command=("$@")

pg_bin=$(find_pg_bin)
if [[ -z $pg_bin ]]; then
  install_postgres || run_without_postgres "the postgresql package could not be installed"
  pg_bin=$(find_pg_bin)
  [[ -n $pg_bin ]] || run_without_postgres "no initdb under /usr/lib/postgresql after installing"
fi

# /tmp rather than $TMPDIR: the PostgreSQL user must be able to reach it.
work_dir=$(mktemp -d /tmp/wingman-pg.XXXXXX) ||
  run_without_postgres "cannot create a temporary directory"
if [[ $(id -u) -eq 0 ]]; then
  user=postgres
  if ! id -u "$user" >/dev/null 2>&1; then
    user=wingman-pg
    id -u "$user" >/dev/null 2>&1 ||
      useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
      run_without_postgres "cannot create the user $user to run PostgreSQL as"
  fi
  chown "$user" "$work_dir"
  run_as=(runuser -u "$user" --)
fi

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" >"$work_dir/admin-password"
[[ ${#run_as[@]} -eq 0 ]] || chown "$user" "$work_dir/admin-password"
if ! "${run_as[@]}" "$pg_bin/initdb" -D "$work_dir/data" -U wingman_admin -E UTF8 \
  --locale=C --auth-local=trust --auth-host=scram-sha-256 \
  --pwfile="$work_dir/admin-password" >"$work_dir/initdb.log" 2>&1; then
  run_without_postgres "initdb failed: $(tail -n3 "$work_dir/initdb.log" | tr '\n' ' ')"
fi

started=""
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  port_in_use "$port" && continue
  if "${run_as[@]}" "$pg_bin/pg_ctl" -D "$work_dir/data" -l "$work_dir/postgres.log" -w -t 60 \
    -o "-p $port -k $work_dir -c listen_addresses=127.0.0.1" start >/dev/null 2>&1; then
    started=$port
    break
  fi
done
[[ -n $started ]] ||
  run_without_postgres "the server did not start: $(tail -n3 "$work_dir/postgres.log" 2>/dev/null | tr '\n' ' ')"

psql=("${run_as[@]}" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$work_dir" -p "$started"
  -U wingman_admin -d postgres)
if ! "${psql[@]}" -c "CREATE ROLE wingman LOGIN CREATEDB PASSWORD '$password'" >&2 ||
  ! "${psql[@]}" -c "CREATE DATABASE wingman OWNER wingman" >&2; then
  run_without_postgres "cannot create the test role and database"
fi

export WINGMAN_TEST_POSTGRES_URL="postgres://wingman:$password@127.0.0.1:$started/wingman"
log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$started" \
  "(cluster in $work_dir)"
"${command[@]}"
status=$?
exit $status
