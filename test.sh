#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: unit, integration (SQLite and a throw-away
# PostgreSQL), end to end. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
bash scripts/system-packages.sh
exec bash scripts/with-postgres.sh .venv/bin/python -m pytest "$@"
