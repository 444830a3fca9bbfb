"""Runs the real `cdsflow` command with the clock moved by FAULT_CLOCK_OFFSET seconds (freezegun,
ticking): the fault suite's way to start a worker "on a Wednesday morning of March 2025".

    FAULT_CLOCK_OFFSET=-52000000 python -m tests.faults.frozen_worker worker --poll 0.1
"""
from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

if __name__ == "__main__":
    offset = float(os.environ.get("FAULT_CLOCK_OFFSET", "0"))
    with freeze_time(datetime.now(UTC) + timedelta(seconds=offset), tick=True):
        from cdsflow.app.cli import main

        sys.argv = ["cdsflow", *sys.argv[1:]]
        main()
