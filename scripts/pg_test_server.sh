#!/usr/bin/env bash
# Start or stop a throw-away PostgreSQL 15 cluster for the tests.
#
#   eval "$(scripts/pg_test_server.sh start)"   # exports TEST_DATABASE_URL and PG_TEST_DIR
#   scripts/pg_test_server.sh stop "$PG_TEST_DIR"
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user. It
# listens on 127.0.0.1 on a free port, with its socket in the cluster's own temporary folder.
set -euo pipefail
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

run_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/bash -c "$*"
  else
    bash -c "$*"
  fi
}

case "${1:-}" in
  start)
    if [ ! -x "$PG_BIN/initdb" ]; then
      echo "PostgreSQL server binaries not found in $PG_BIN (apt-get install postgresql)" >&2
      exit 1
    fi
    dir=$(mktemp -d /tmp/network-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run_as_postgres "$PG_BIN/initdb -D $dir/data -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >$dir/initdb.log 2>&1"
    run_as_postgres "$PG_BIN/pg_ctl -D $dir/data -l $dir/server.log -w -t 60 -o \"-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start >/dev/null"
    run_as_postgres "$PG_BIN/createdb -h 127.0.0.1 -p $port -U postgres network_test"
    echo "export PG_TEST_DIR=$dir"
    echo "export TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$port/network_test"
    ;;
  stop)
    dir=${2:-${PG_TEST_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "usage: $0 stop DIR" >&2; exit 1; }
    run_as_postgres "$PG_BIN/pg_ctl -D $dir/data -m immediate -w stop >/dev/null" || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
