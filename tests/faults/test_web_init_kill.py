"""`cdsflow init` on SQLite killed at any instant: the next `cdsflow init` always finishes the job."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from cdsflow.storage.migrate import head_revision
from tests.e2e.cli import Cli

pytestmark = pytest.mark.faults


def _state(db) -> tuple[str | None, int]:
    if not db.exists():
        return None, 0
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rev = conn.execute("SELECT version_num FROM alembic_version").fetchone() if "alembic_version" in tables else None
    finally:
        conn.close()
    return (rev[0] if rev else None), len(tables)


def test_init_killed_at_many_points_is_repaired_by_the_next_init(tmp_path):
    cli = Cli(tmp_path)
    cli("init")
    complete = _state(tmp_path / "cds.db")
    assert complete[0] == head_revision()
    outcomes = []
    for n, delay in enumerate([0.3, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2, 3.8, 4.5]):
        db = tmp_path / f"k{n}.db"
        env = {**cli.env, "DATABASE_URL": f"sqlite:///{db}"}
        proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "init"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        after_kill = _state(db)
        # Never half-made: either nothing (or the untouched file) or the finished schema.
        assert after_kill in ((None, 0), complete), (delay, after_kill)
        outcomes.append(after_kill == complete)
        done = subprocess.run([sys.executable, "-m", "cdsflow", "init"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert _state(db) == complete
        assert not list(tmp_path.glob(f"k{n}.db.*"))  # no copy left beside it
    print(f"\n{len(outcomes)} kills: {outcomes.count(False)} before the move, {outcomes.count(True)} after; "
          "every next init finished")


def test_a_half_made_database_from_the_old_init_is_rebuilt(tmp_path):
    db = tmp_path / "cds.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE unit (id INTEGER PRIMARY KEY); CREATE TABLE alembic_version "
                       "(version_num VARCHAR(32) NOT NULL);")
    conn.close()
    cli = Cli(tmp_path)
    out = cli("init").stdout
    assert "Đã khởi tạo" in out
    assert _state(db)[0] == head_revision()


def test_a_database_with_data_but_no_version_is_left_alone_with_a_message(tmp_path):
    db = tmp_path / "cds.db"
    conn = sqlite3.connect(db)
    conn.executescript("CREATE TABLE unit (id INTEGER PRIMARY KEY); INSERT INTO unit VALUES (1);")
    conn.close()
    before = db.read_bytes()
    done = Cli(tmp_path)("init", ok=False)
    assert done.returncode == 2 and "khôi phục từ bản sao lưu" in " ".join(done.stderr.split())
    assert db.read_bytes() == before
