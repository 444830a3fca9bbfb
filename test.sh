#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: the linter (ruff), then unit, integration
# (SQLite and a throw-away PostgreSQL), end to end (CLI, browser, the built wheel, the production
# topology). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
# Exact versions from the lock file (scripts/lock.sh refreshes it).
.venv/bin/pip install -q --disable-pip-version-check -c requirements.lock -e '.[test]'
echo "== ruff"
.venv/bin/ruff check .
bash scripts/system-packages.sh
# One pytest worker per core (pytest-xdist), a test file kept on one worker so its module-scoped
# worlds are built once; each worker has a PostgreSQL database of its own (tests/conftest.py).
# CDSFLOW_TEST_WORKERS=0 runs in one process.
exec bash scripts/with-postgres.sh .venv/bin/python -m pytest -n "${CDSFLOW_TEST_WORKERS:-auto}" --dist loadfile "$@"
