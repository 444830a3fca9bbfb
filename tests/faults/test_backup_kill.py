"""`cdsflow backup` killed (SIGKILL) at several moments, then restored: the real commands, SQLite home.

Promises: a killed backup never leaves a file under the archive's name that restore would take
(it is written as FILE.part and renamed when whole); the source data is untouched; the next
backup restores into an empty home with every row once (nothing lost, nothing doubled).
"""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.e2e.test_backup_cli import HomeCli

pytestmark = pytest.mark.faults

TABLES = ("campaign", "assessment", "unit", "generated_document", "outbox_message", "web_account")


def _counts(db) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def _whole(archive: Path) -> bool:
    """A gzip'd tar that reads to its end and holds the database."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return any(m.name.endswith(".db") or "database" in m.name for m in tar.getmembers())
    except (tarfile.TarError, EOFError, OSError):
        return False


def test_backup_killed_midway_leaves_no_archive_and_the_next_one_restores_every_row_once(tmp_path):
    a = HomeCli(tmp_path, tmp_path / "home-a")
    a("init")
    a("demo")
    a("account", "demo")
    source = tmp_path / "home-a" / "cdsflow.db"
    before = _counts(source)
    archive = tmp_path / "sao-luu.tar.gz"
    kills = 0
    for delay in (0.5, 1.2, 2.0):  # the command's start, the copy, the packing
        proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "backup", str(archive)], cwd=a.cwd, env=a.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        if proc.returncode == -signal.SIGKILL:
            # The archive is renamed into place only when whole: a kill that lands after the rename
            # (while the process exits) leaves a complete archive, never a partial one.
            assert not archive.exists() or _whole(archive), f"a killed backup (after {delay} s) left a partial archive"
        archive.unlink(missing_ok=True)
        for part in tmp_path.glob("sao-luu.tar.gz.part"):
            part.unlink()  # what a killed run leaves: never taken for an archive
    print(f"\nFAULT kill during backup: {kills} runs killed midway")
    assert kills >= 1
    assert _counts(source) == before  # the source is untouched
    a("backup", str(archive))
    b = HomeCli(tmp_path, tmp_path / "home-b")
    b("restore", str(archive))
    after = _counts(tmp_path / "home-b" / "cdsflow.db")
    print(f"FAULT backup then restore: rows {sum(before.values())} before, {sum(after.values())} after")
    assert after == before  # nothing lost, nothing doubled
