#!/usr/bin/env bash
# Sets everything up and runs cdsflow on its embedded defaults (SQLite file in var/, in-process
# scheduler, local mail sink) with a living demo campaign, then starts the web app and prints
# the address to open. Extra arguments go to `cdsflow serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
.venv/bin/cdsflow init
.venv/bin/cdsflow demo
.venv/bin/cdsflow account demo   # one login per role, with its demo password
# The worker holds the reminder scheduler, the mail sender and the local mail sink (port 8025).
.venv/bin/cdsflow worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
.venv/bin/cdsflow serve "$@"
