#!/usr/bin/env bash
# Sets everything up and runs cdsflow on its embedded defaults (SQLite file in var/, in-process
# scheduler, local mail sink) with a living demo campaign.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
.venv/bin/cdsflow init
exec .venv/bin/cdsflow demo "$@"
