#!/usr/bin/env bash
# Sets everything up and runs cdsflow on its embedded defaults: the data home is var/ of this
# checkout (CDSFLOW_HOME: SQLite database, uploads, papers), a demo campaign (Ba Đình-like
# bureau, ~30 schools) with one login per role, the worker in the background (in-process
# scheduler, mail sender, local mail sink: `.venv/bin/cdsflow mail list` or the administrator's
# "Hộp thư" page), then the web app, whose address is printed.
# Extra arguments go to `cdsflow serve` (e.g. --port 8080). Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")"
export CDSFLOW_HOME="${CDSFLOW_HOME:-$PWD/var}"
[ -x .venv/bin/python ] || python3 -m venv .venv
# Exact versions from the lock file (scripts/lock.sh refreshes it).
.venv/bin/pip install -q --disable-pip-version-check -c requirements.lock -e '.[postgres,pdf]'
# The mails' links must point where `serve` listens: read --host/--port from the extra arguments.
if [ -z "${CDSFLOW_BASE_URL:-}" ]; then
  host=127.0.0.1; port=8000; prev=""
  for arg in "$@"; do
    case "$prev" in --port) port="$arg" ;; --host) host="$arg" ;; esac
    case "$arg" in --port=*) port="${arg#--port=}" ;; --host=*) host="${arg#--host=}" ;; esac
    prev="$arg"
  done
  if [ "$host" = "0.0.0.0" ]; then host=127.0.0.1; fi
  if [ "$port" != 0 ]; then export CDSFLOW_BASE_URL="http://$host:$port"; fi
fi
.venv/bin/cdsflow init
.venv/bin/cdsflow demo
.venv/bin/cdsflow account demo   # one login per role, with its demo password
echo "Dữ liệu ở $CDSFLOW_HOME. Thư gửi đi được giữ trong hộp thư cục bộ: .venv/bin/cdsflow mail list"
# The worker is restarted whenever it dies (crash, kill, out of memory); its loops already
# survive database and mail-server faults on their own, so this is the last line of defence.
keep_worker_running() {
  local child=""
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    .venv/bin/cdsflow worker & child=$!
    code=0; wait "$child" || code=$?
    echo "Tiến trình nền đã dừng (mã $code); khởi động lại sau 5 giây." >&2
    sleep 5 & wait $!
  done
}
keep_worker_running &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
.venv/bin/cdsflow serve "$@"
