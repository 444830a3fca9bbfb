"""Runs the real `cdsflow` command in a subprocess against a database of the test's own."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.cwd = tmp_path
        self.env = {**os.environ, "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'cds.db'}",
                    "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"}

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cdsflow", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=120)
        if ok and done.returncode != 0:
            raise AssertionError(f"cdsflow {' '.join(args)} → {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done
