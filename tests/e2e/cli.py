"""Runs the real `cdsflow` command in a subprocess against a database of the test's own."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.cwd = tmp_path
        self.env = {**os.environ, "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'cds.db'}",
                    "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"}

    def on(self, day: datetime) -> Cli:
        """The same command with its clock shifted to `day` (ticking; tests/e2e/fakeclock), for a
        step a rule dates against today (forming the 2024-2025 review team before its period ends)."""
        shifted = Cli(self.cwd, self.env["DATABASE_URL"])
        shifted.env.update({"PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "e2e" / "fakeclock"), str(ROOT)]),
                            "CDSFLOW_TEST_CLOCK_OFFSET": str((day - datetime.now(UTC)).total_seconds())})
        return shifted

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cdsflow", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if ok and done.returncode != 0:
            raise AssertionError(f"cdsflow {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done
