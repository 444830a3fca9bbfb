"""Processes and counting for the fault suite (no tests here).

The worker runs as `cdsflow worker` in its own process (through `frozen_worker`, which moves its
clock to a fixed morning of March 2025 and lets it tick); the SMTP server is `smtp_counter` in
another. A tally counts, per (school, milestone, offset) that should have been reminded, how
many times the server accepted it: once, never (lost) or more (duplicated).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdsflow.storage.notifications_tables import OutboxMessage, ReminderRun

ROOT = Path(__file__).resolve().parents[2]
VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Wednesday 26 March 2025, 09:00 in Hà Nội: the milestone `to_trinh` is due on Monday 31 March;
# its before-7 (20 March) and before-3 (26 March, 07:00) points have passed, before-1 is ahead.
MORNING = datetime(2025, 3, 26, 9, 0, tzinfo=VN)
DUE = datetime(2025, 3, 31, 23, 59, tzinfo=VN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"quá {timeout:.0f} s mà chưa thấy: {what}")
        time.sleep(every)


@dataclass
class Tally:
    once: int = 0
    lost: list[tuple] = field(default_factory=list)
    duplicated: dict[tuple, int] = field(default_factory=dict)
    message_ids_per_key: dict[tuple, int] = field(default_factory=dict)

    def row(self) -> tuple[int, int, int]:
        return self.once, len(self.lost), len(self.duplicated)


class Rig:
    """One database, one counting SMTP server, any number of worker processes."""

    def __init__(self, engine, tmp_path: Path, *, clock_at: datetime = MORNING, **settings: str) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self.tmp = tmp_path
        self.port = free_port()
        self.log = tmp_path / "smtp.log"
        self.log.touch()
        self.offset = (clock_at - datetime.now(UTC)).total_seconds()
        self.smtp: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": self.url, "NO_COLOR": "1", "COLUMNS": "200",
            "CDSFLOW_SMTP_HOST": "127.0.0.1", "CDSFLOW_SMTP_PORT": str(self.port),
            "CDSFLOW_SMTP_CONNECTIONS": "2", "CDSFLOW_SMTP_TIMEOUT": "2", "CDSFLOW_MAIL_LEASE": "4",
            "CDSFLOW_MAIL_BATCH_SECONDS": "2", "CDSFLOW_MAIL_BACKOFF_BASE": "0.2", "CDSFLOW_MAIL_BACKOFF_MAX": "1",
            "CDSFLOW_FANOUT_CHUNK": "40", "FAULT_CLOCK_OFFSET": str(self.offset), **settings,
        }

    def now(self) -> datetime:
        """The moved clock the workers see."""
        return datetime.fromtimestamp(time.time() + self.offset, UTC)

    def move_clock(self, seconds: float) -> None:
        """Workers started from now on see a clock `seconds` further on (a long downtime)."""
        self.offset += seconds
        self.env["FAULT_CLOCK_OFFSET"] = str(self.offset)

    # -- processes ------------------------------------------------------------------------------
    def start_smtp(self, delay: float = 0.0) -> None:
        self.smtp = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.smtp_counter", str(self.port), str(self.log), "--delay", str(delay)],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True)
        assert self.smtp.stdout.readline().strip() == "ready"

    def stop_smtp(self) -> None:
        if self.smtp is not None and self.smtp.poll() is None:
            self.smtp.terminate()
            self.smtp.wait(10)
        self.smtp = None

    def refuse(self, on: bool) -> None:
        flag = Path(str(self.log) + ".refuse")
        flag.touch() if on else flag.unlink(missing_ok=True)

    def start_worker(self, *args: str) -> subprocess.Popen:
        n = len(self.workers)
        out = (self.tmp / f"worker{n}.out").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.frozen_worker", "worker", "--no-sink", "--poll", "0.1",
             "--tick", "0.2", "--beat", "0.3", *args],
            cwd=self.tmp, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for p in self.workers:
            if p.poll() is None:
                p.terminate()
        for p in self.workers:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.stop_smtp()

    def output(self, n: int = 0) -> str:
        return (self.tmp / f"worker{n}.out").read_text()

    # -- counting ---------------------------------------------------------------------------------
    def received(self) -> Counter:
        return Counter(line for line in self.log.read_text().splitlines() if line)

    def outbox_count(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage)) or 0

    def statuses(self) -> Counter:
        with Session(self.engine) as s:
            return Counter(s.scalars(select(OutboxMessage.status)))

    def ran_points(self) -> set[tuple[int, str, str]]:
        with Session(self.engine) as s:
            return {(r.campaign_id, r.milestone_key, r.offset_key)
                    for r in s.scalars(select(ReminderRun).where(ReminderRun.note == ""))}

    def tally(self, schools: list[int], points: set[tuple[int, str, str]]) -> Tally:
        """Per (school, milestone, offset) expected: how often the server accepted its reminder."""
        with Session(self.engine) as s:
            rows = s.execute(select(OutboxMessage.id, OutboxMessage.unit_id, OutboxMessage.campaign_id,
                                    OutboxMessage.milestone_key, OutboxMessage.offset_key)
                             .where(OutboxMessage.kind == "reminder")).all()
        key_of = {f"<outbox-{r.id}@cdsflow.local>": (r.unit_id, r.campaign_id, r.milestone_key, r.offset_key)
                  for r in rows}
        counts: Counter = Counter()
        ids: dict[tuple, set[str]] = defaultdict(set)
        for mid, n in self.received().items():
            key = key_of.get(mid)
            if key is not None:
                counts[key] += n
                ids[key].add(mid)
        tally = Tally()
        for school in schools:
            for campaign, milestone, offset in points:
                key = (school, campaign, milestone, offset)
                n = counts.get(key, 0)
                if n == 0:
                    tally.lost.append(key)
                elif n == 1:
                    tally.once += 1
                else:
                    tally.duplicated[key] = n
                tally.message_ids_per_key[key] = len(ids.get(key, ()))
        return tally
