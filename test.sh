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
echo "== mypy"; .venv/bin/mypy
echo "== lint-imports"; .venv/bin/lint-imports
bash scripts/system-packages.sh
# pytest-xdist: one worker more than the cores (a fifth of the time a worker waits on a CLI or web
# process it started: 13 min instead of 15 on 2 cores), a test file kept on one worker so its
# module-scoped worlds are built once; each worker has a PostgreSQL database of its own
# (tests/conftest.py). CDSFLOW_TEST_WORKERS=0 runs in one process.
workers="${CDSFLOW_TEST_WORKERS:-$(( $(nproc) + 1 ))}"
exec bash scripts/with-postgres.sh .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
