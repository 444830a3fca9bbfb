#!/usr/bin/env bash
# Sets everything up and runs cdsflow on its embedded defaults: SQLite file in var/, a demo
# campaign (Ba Đình-like bureau, ~30 schools), then the worker: in-process scheduler, mail sender
# and local mail sink (read what was sent with `.venv/bin/cdsflow mail list`). Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
.venv/bin/cdsflow init
.venv/bin/cdsflow demo
echo "Thư gửi đi được giữ trong hộp thư cục bộ: .venv/bin/cdsflow mail list"
exec .venv/bin/cdsflow worker "$@"
