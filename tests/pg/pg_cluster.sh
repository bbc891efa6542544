#!/bin/sh
# A throwaway PostgreSQL cluster for the tests (issue 13): `make test` needs
# nothing running beforehand.
#
#   tests/pg/pg_cluster.sh start STATE_DIR   # prints and writes STATE_DIR/url
#   tests/pg/pg_cluster.sh stop STATE_DIR
#
# start: initdb in a fresh temporary directory, then pg_ctl start on a free
# loopback port (127.0.0.1 only, a Unix socket inside that directory, trust
# authentication for the role "chat", fsync off: the data is thrown away).
# Run as root it runs the server as `nobody` (PostgreSQL refuses root) from a
# directory chowned to it; otherwise as the caller. The binaries come from
# `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin (Debian puts
# them there; /usr/local/bin links are not to be relied on). It writes
# STATE_DIR/url (postgresql://chat@127.0.0.1:PORT/postgres) and
# STATE_DIR/cluster (what stop needs). A cluster still recorded in STATE_DIR
# (a run that was killed) is stopped first. Each build tree has its own
# STATE_DIR, hence its own cluster and port: the Release and the ASan trees
# never collide.
#
# stop: pg_ctl stop (fast), then SIGKILL to the postmaster's PID if it is still
# there, then removes the temporary directory and the state files. Stopping a
# cluster that is not running succeeds.
#
# Exit status: 0 on success, 1 on failure (the server log is printed).
set -eu

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
state=$2

find_bindir() {
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  echo "pg_cluster: no PostgreSQL server binaries (initdb, pg_ctl) found; install the Debian package postgresql (scripts/install-deps.sh)" >&2
  return 1
}

# Runs "$@" as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
    echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
}

stop_cluster() {
  [ -f "$state/cluster" ] || return 0
  dir=
  bindir=
  pid=
  # shellcheck disable=SC1091
  . "$state/cluster"
  if [ -n "$dir" ] && [ -d "$dir/data" ] && [ -n "$bindir" ]; then
    (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1) || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  case "$dir" in
    */chat-pg-*) rm -rf "$dir" ;;
  esac
  rm -f "$state/cluster" "$state/url"
}

start_cluster() {
  mkdir -p "$state"
  stop_cluster
  bindir=$(find_bindir)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/chat-pg-XXXXXX")
  chmod 700 "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown nobody "$dir"; fi
  # Recorded before anything runs, so that stop cleans up after any failure.
  printf 'dir=%s\nbindir=%s\npid=\n' "$dir" "$bindir" >"$state/cluster"
  locale=C.UTF-8
  locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || locale=C
  if ! (cd "$dir" && as_owner "$bindir/initdb" -D "$dir/data" -U chat --auth=trust -E UTF8 --locale="$locale" \
          --no-sync >"$dir/initdb.log" 2>&1); then
    cat "$dir/initdb.log" >&2
    stop_cluster
    return 1
  fi
  tries=0
  while :; do
    port=$(free_port)
    if (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
          -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c full_page_writes=off -c max_connections=300" \
          start >/dev/null 2>&1); then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 5 ]; then
      echo "pg_cluster: the server did not start:" >&2
      cat "$dir/server.log" >&2 || true
      stop_cluster
      return 1
    fi
  done
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  printf 'dir=%s\nbindir=%s\npid=%s\n' "$dir" "$bindir" "$pid" >"$state/cluster"
  url="postgresql://chat@127.0.0.1:$port/postgres"
  printf '%s\n' "$url" >"$state/url"
  echo "$url"
}

case "$action" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
