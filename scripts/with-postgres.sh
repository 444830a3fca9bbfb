#!/usr/bin/env bash
# Runs "$@" with a throw-away PostgreSQL server on 127.0.0.1 and TEST_DATABASE_URL pointing at it.
# Without PostgreSQL binaries it runs "$@" alone (the postgres tests then skip, or fail under CI).
set -uo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  exec "$@"
fi
data=$(mktemp -d /tmp/cdsflow-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$data"
  run_as=(runuser -u postgres --)
fi
"${run_as[@]}" "$bindir/initdb" -D "$data/db" -U postgres -A trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/log" -w \
  -o "-h 127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
stop() { "${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1; rm -rf "$data"; }
trap stop EXIT
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres cdsflow_test
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/cdsflow_test"
"$@"
