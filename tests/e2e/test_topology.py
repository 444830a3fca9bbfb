"""The production topology on one machine: PostgreSQL, two web processes (`serve --workers 2`),
two mail workers (one leads the scheduler, one stands by), a campaign launched through the API,
reminders delivered exactly once to a real SMTP server, the leader killed and the standby taking over.

Every process runs on one shifted clock (tests/e2e/fakeclock): a minute before the calendar's
07:00 reminder of a working day, so the scheduled reminders fire during the test.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cdsflow.calendars.catalog import find_calendar
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.reminders import reminder_points
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from tests.conftest import fresh_postgres_database
from tests.e2e.cli import ROOT
from tests.e2e.served import login, served

pytestmark = [pytest.mark.postgres, pytest.mark.topology]
CDSFLOW = [sys.executable, "-m", "cdsflow"]
CALENDAR = "hanoi/ba-dinh-2024-2025"
MILESTONE = "truong-tu-danh-gia-to-trinh"
LEAD_SECONDS = 40  # fake time from the start of the test to the reminder (a late start is caught up)


def _reminder_instant() -> datetime:
    """07:00 of 26/3/2025 (three working days before the schools' 31/3 deadline), from the calendar itself."""
    milestone = next(m for m in load_calendar(find_calendar(CALENDAR)).milestones if m.key == MILESTONE)
    return next(p.at for p in reminder_points(milestone) if p.offset_key == "before-3")


class Worker:
    """`cdsflow worker` with its output collected line by line."""

    def __init__(self, env: dict, cwd: Path) -> None:
        self.proc = subprocess.Popen([*CDSFLOW, "worker", "--no-sink", "--poll", "0.5"], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            assert self.proc.poll() is None, "".join(self.lines)
            time.sleep(0.2)
        raise AssertionError(f"no «{pattern}» in:\n{''.join(self.lines)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _leader(workers: list[Worker], timeout: float = 60) -> Worker:
    """The worker that took the scheduler (whichever started first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            if any("Tiến trình này giữ bộ lập lịch" in line for line in list(w.lines)):
                return w
        time.sleep(0.2)
    raise AssertionError("no worker took the scheduler:\n" + "\n---\n".join("".join(w.lines) for w in workers))


def _mail(store: MemorySinkStore) -> list[tuple[str, str]]:
    out = []
    for _, rcpts, raw in list(store.messages):
        # The Message-ID is one per outbox row (school, milestone, offset, recipient): the same one
        # twice is the same reminder delivered twice.
        message_id = message_from_bytes(raw)["Message-ID"]
        out.extend((r.lower(), message_id) for r in rcpts)
    return out


def _settled(store: MemorySinkStore, at_least: int, timeout: float) -> list[tuple[str, str]]:
    """The mail received once at least `at_least` arrived and nothing more came for 3 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(store.messages)
        if n != last:
            last, since = n, time.monotonic()
        elif n >= at_least and time.monotonic() - since > 3:
            return _mail(store)
        time.sleep(0.2)
    raise AssertionError(f"{len(store.messages)} thư, cần ít nhất {at_least}")


def _sessions(url: str) -> str:
    """Who holds the scheduler's advisory lock, and every session: for a failed takeover's message."""
    probe = create_engine(url)
    with probe.connect() as conn:
        locks = conn.execute(text("SELECT l.pid, a.state, a.backend_start FROM pg_locks l "
                                  "JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'")).all()
        sessions = conn.execute(text("SELECT pid, state, left(query, 80) FROM pg_stat_activity "
                                     "WHERE datname = current_database()")).all()
    probe.dispose()
    return f"advisory locks: {locks}\nsessions: {sessions}"


def test_two_web_two_workers_reminders_once_and_takeover(tmp_path):
    # A database of its own: the scheduler's advisory lock is per database, and other tests of the
    # session may hold it in theirs.
    url = fresh_postgres_database("cdsflow_topology")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        smtp_port = s.getsockname()[1]
    store = MemorySinkStore()
    sink = start_sink(store, port=smtp_port)
    env = {**os.environ, "DATABASE_URL": url, "CDSFLOW_HOME": str(tmp_path / "home"), "COLUMNS": "200",
           "NO_COLOR": "1", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "e2e" / "fakeclock"), str(ROOT)]),
           "CDSFLOW_SMTP_HOST": "127.0.0.1", "CDSFLOW_SMTP_PORT": str(smtp_port)}

    def cli(*args: str) -> str:
        done = subprocess.run([*CDSFLOW, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    cli("init")
    cli("units", "import", str(ROOT / "cdsflow" / "demo" / "units.csv"))
    cli("account", "create", "chuyenvien", "--name", "Trần Minh Tuấn", "--role", "officer", "--unit", "DEMO-PGD-BD",
        "--password", "mat-khau-chuyen-vien")
    emails = {row[0]: row[7].lower() for row in
              (line.split(",") for line in (ROOT / "cdsflow" / "demo" / "units.csv").read_text().splitlines()[1:])}

    reminder = _reminder_instant()
    env["CDSFLOW_TEST_CLOCK_OFFSET"] = str((reminder - datetime.now(UTC)).total_seconds() - LEAD_SECONDS)
    workers: list[Worker] = []
    try:
        with served(CDSFLOW, env, tmp_path, "--workers", "2") as base:
            officer = login(base, "chuyenvien", "mat-khau-chuyen-vien")
            r = officer.post("/api/campaigns", json={"school_year": "2024-2025", "index_set": "4725", "calendar": CALENDAR})
            assert r.status_code == 201, r.text
            campaign = r.json()["campaign_id"]
            codes = [row["school_code"] for page in (1, 2, 3)
                     for row in officer.get(f"/api/campaigns/{campaign}/schools?page={page}").json()]
            schools = {emails[c] for c in codes}
            seen = {officer.get(f"/api/campaigns/{campaign}").json()["total"] for _ in range(6)}
            assert seen == {len(codes)} and len(schools) > 20  # both web processes read the same database

            workers = [Worker(env, tmp_path), Worker(env, tmp_path)]
            try:
                leader = _leader(workers)
            except AssertionError as err:
                raise AssertionError(f"{err}\n{_sessions(url)}") from None
            standby = workers[1 - workers.index(leader)]
            standby.wait_for("Một tiến trình khác đang giữ bộ lập lịch")

            # 07:00: the leader's scheduler writes one reminder per late school; both senders drain.
            first = _settled(store, at_least=len(schools), timeout=LEAD_SECONDS + 90)
            assert schools <= {rcpt for rcpt, _ in first}
            assert not [k for k, n in Counter(first).items() if n > 1], "a reminder went out twice"

            # The leader dies without a goodbye; the standby takes the scheduler over and replans
            # without sending the 07:00 reminders again.
            leader.proc.send_signal(signal.SIGKILL)
            leader.proc.wait(timeout=10)
            try:
                standby.wait_for("Tiến trình này giữ bộ lập lịch", timeout=90)
            except AssertionError as err:
                raise AssertionError(f"{err}\n{_sessions(url)}") from None
            # An officer's nudge now goes out through the survivor, once.
            r = officer.post(f"/api/campaigns/{campaign}/remind", json={"milestone": MILESTONE})
            assert r.status_code == 200, r.text
            queued = r.json()["queued"]
            assert queued > 0
            final = _settled(store, at_least=len(first) + queued, timeout=60)
            later = final[len(first):]  # the nudge (and any later point of the calendar now due)
            assert len(later) >= queued and {rcpt for rcpt, _ in later} <= schools
            assert not [k for k, n in Counter(final).items() if n > 1], "a reminder or nudge went out twice"
    finally:
        for w in workers:
            w.stop()
        sink.stop()
    assert standby.proc.returncode == 0 and "Đã dừng tiến trình nền" in "".join(standby.lines)
