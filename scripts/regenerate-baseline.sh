#!/usr/bin/env bash
# Founding phase only (nothing deployed yet): rebuild the single baseline migration from the models.
# Once a release is out, add revisions with `cdsflow.storage.migrate.new_revision` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f cdsflow/storage/migrations/versions/*.py
db=$(mktemp -u /tmp/cdsflow-baseline.XXXXXX.db)
.venv/bin/python -c "
from cdsflow.storage.db import make_engine
from cdsflow.storage.migrate import new_revision
new_revision('baseline schema', make_engine('sqlite:///$db'))
"
rm -f "$db"
