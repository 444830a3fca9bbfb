"""Benchmark: fan out 54,000 reminders into the outbox and deliver them to a local aiosmtpd server
running in ANOTHER process; compare with a naive path (EmailMessage with str headers and a new
connection per message) on a sample, in the same run.

    .venv/bin/python bench/bench_mail.py [--schools 54000] [--naive-sample 300]

Prints figures and ratios; asserts nothing about time (targets: >= 1,000 msg/s, >= 5x naive).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402
from sqlalchemy import delete, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from cdsflow.notifications.sender import Sender  # noqa: E402
from cdsflow.notifications.settings import load_settings  # noqa: E402
from cdsflow.services.fanout import fan_out_reminder, fan_out_reminder_chunked  # noqa: E402
from cdsflow.storage.db import UnitOfWork, make_engine  # noqa: E402
from cdsflow.storage.notifications_tables import OutboxMessage  # noqa: E402
from cdsflow.storage.schema import metadata  # noqa: E402
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# The receiving server: the project's sink handler with a store that only counts Message-IDs
# (keeping 54k messages in a database would measure that database, not the sending path).
SINK_SCRIPT = r"""
import re, resource, sys, threading
from cdsflow.notifications.sink import start_sink
class Counting:
    def __init__(self):
        self.ids = {}
        self.lock = threading.Lock()
    def save(self, mail_from, rcpt_tos, content):
        m = re.search(rb"^Message-ID: (\S+)", content, re.M | re.I)
        key = m.group(1) if m else b"?"
        with self.lock:
            self.ids[key] = self.ids.get(key, 0) + 1
store = Counting()
controller = start_sink(store, port=int(sys.argv[1]))
print("ready", flush=True)
sys.stdin.read()  # runs until the benchmark closes our stdin
controller.stop()
total = sum(store.ids.values())
dupes = sum(1 for n in store.ids.values() if n > 1)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"{total} {len(store.ids)} {dupes} {ru.ru_utime + ru.ru_stime:.3f}", flush=True)
"""


class WriterProbe:
    """Another writer (as a web request would be) committing one tiny row every 20 ms; `worst`
    is its longest wait for SQLite's write lock while the fan-out runs."""

    def __init__(self, path: Path) -> None:
        self.path, self.worst, self._stop = path, 0.0, threading.Event()

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), timeout=120, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS bench_probe (at REAL)")
        while not self._stop.is_set():
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_probe VALUES (?)", (t0,))
            conn.execute("COMMIT")
            self.worst = max(self.worst, time.perf_counter() - t0)
            time.sleep(0.02)
        conn.close()

    def __enter__(self) -> WriterProbe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(engine, schools: int) -> int:
    per_bureau = 100
    with Session(engine) as s:
        bureaus = [{"code": f"PGD{b:04d}", "name": f"Phòng GD&ĐT số {b}", "short_code": "PGDĐT", "kind": "bureau",
                    "emails": f"pgd{b}@example.edu.vn"} for b in range(schools // per_bureau + 1)]
        s.execute(insert(Unit), bureaus)
        bureau_ids = list(s.scalars(select(Unit.id).where(Unit.kind == "bureau").order_by(Unit.id)))
        s.execute(insert(Unit), [
            {"code": f"TH{i:06d}", "name": f"Trường Tiểu học Nguyễn Văn Trỗi số {i}", "short_code": "THNVT",
             "kind": "school", "supervisor_id": bureau_ids[i // per_bureau],
             "emails": f"truong{i}@example.edu.vn"}
            for i in range(schools)
        ])
        campaign = Campaign(issuer_id=bureau_ids[0], school_year="2024-2025", status="launched",
                            index_set_code="4725", title="Kế hoạch số 330/KH-SGDĐT ngày 05/2/2025 của Sở GDĐT Hà Nội")
        s.add(campaign)
        s.flush()
        s.add(CampaignMilestone(campaign_id=campaign.id, key="to_trinh", title="Gửi tờ trình đề nghị đánh giá ngoài",
                                actor="school", stage="proposal", due_at=datetime(2025, 3, 31, 23, 59, tzinfo=VN)))
        school_ids = list(s.scalars(select(Unit.id).where(Unit.kind == "school")))
        s.execute(insert(Assessment), [{"campaign_id": campaign.id, "school_id": sid, "state": "self_assessment"}
                                       for sid in school_ids])
        s.commit()
        return campaign.id


async def naive_send(rows, settings) -> None:
    """What one writes first: EmailMessage with Vietnamese str headers, one connection per mail."""
    for r in rows:
        msg = EmailMessage()
        msg["Subject"] = r.subject
        msg["From"] = formataddr((settings.from_name, settings.from_addr))
        msg["To"] = r.recipient
        msg["Date"] = format_datetime(datetime.now(VN))
        msg["Message-ID"] = f"<naive-{r.id}@cdsflow.local>"
        msg.set_content(r.body_text)
        msg.add_alternative(r.body_html, subtype="html")
        await aiosmtplib.send(msg, hostname=settings.host, port=settings.port, start_tls=False,
                              local_hostname=settings.local_hostname)


def bench_tick(campaigns: int) -> None:
    """The scheduler's tick over many campaigns of 10 milestones (nothing due): the first tick
    computes every reminder point (working days, holidays), later ones reuse them."""
    from cdsflow.scheduler import ticker

    tmp = Path(tempfile.mkdtemp(prefix="cdsflow-bench-tick-"))
    engine = make_engine(f"sqlite:///{tmp / 'tick.db'}")
    metadata.create_all(engine)
    with Session(engine) as s:
        unit = Unit(code="SGD", name="Sở GD&ĐT", short_code="SGDĐT", kind="department")
        s.add(unit)
        s.flush()
        s.execute(insert(Campaign), [{"issuer_id": unit.id, "school_year": f"{i}", "status": "launched",
                                      "index_set_code": "4725", "title": f"Kế hoạch {i}", "dossier": []}
                                     for i in range(campaigns)])
        ids = list(s.scalars(select(Campaign.id)))
        s.execute(insert(CampaignMilestone), [
            {"campaign_id": c, "position": k, "key": f"m{k}", "title": "Mốc", "actor": "school", "stage": "proposal",
             "due_at": datetime(2025, 3, 3, 23, 59, tzinfo=VN) + timedelta(days=7 * k), "counts": "last",
             "documents": []}
            for c in ids for k in range(10)])
        s.commit()
    at = datetime(2025, 1, 10, 9, 0, tzinfo=VN)
    ticker._POINTS.clear()
    t = time.perf_counter()
    ticker.run_due_reminders(engine, at)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    ticker.run_due_reminders(engine, at + timedelta(seconds=30))
    warm = time.perf_counter() - t
    print(f"scheduler tick over {campaigns} campaigns x 10 milestones: first {cold:.2f} s (computes every point), "
          f"then {warm:.2f} s per tick (points reused while the milestones are unchanged): {cold / warm:.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=54_000)
    ap.add_argument("--naive-sample", type=int, default=300)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--tick-campaigns", type=int, default=700)
    args = ap.parse_args()
    bench_tick(args.tick_campaigns)

    tmp = Path(tempfile.mkdtemp(prefix="cdsflow-bench-mail-"))
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    metadata.create_all(engine)
    t = time.perf_counter()
    campaign_id = seed(engine, args.schools)
    print(f"seed: {args.schools} schools + assessments in {time.perf_counter() - t:.1f} s")

    fire = datetime(2025, 3, 26, 7, 0, tzinfo=VN)
    probe = WriterProbe(tmp / "bench.db")
    t = time.perf_counter()
    with probe:
        with UnitOfWork(engine) as uow:
            written = fan_out_reminder(uow.session, campaign_id, "to_trinh", "before-3", fire)
            uow.commit()
    fan_s = time.perf_counter() - t
    first_worst = probe.worst
    print(f"fan-out: {written} outbox rows in one transaction, {fan_s:.1f} s ({written / fan_s:,.0f} rows/s); "
          f"a concurrent one-row writer waited up to {probe.worst:.2f} s")
    probe = WriterProbe(tmp / "bench.db")
    t = time.perf_counter()
    with probe:
        chunked = fan_out_reminder_chunked(engine, campaign_id, "to_trinh", "before-1", fire, chunk=2000)
    chunk_s = time.perf_counter() - t
    print(f"fan-out in chunks of 2,000 (the scheduler's path): {chunked} rows, {chunk_s:.1f} s "
          f"({chunked / chunk_s:,.0f} rows/s); the concurrent writer waited up to {probe.worst:.2f} s "
          f"(ratio of worst waits one transaction/chunks: {first_worst / max(probe.worst, 1e-3):.0f}x)")
    with Session(engine) as s:  # the benchmark sends one reminder per school
        s.execute(delete(OutboxMessage).where(OutboxMessage.offset_key == "before-1"))
        s.commit()
    t = time.perf_counter()
    with UnitOfWork(engine) as uow:
        again = fan_out_reminder(uow.session, campaign_id, "to_trinh", "before-3", fire)
        uow.commit()
    print(f"fan-out re-run: {again} new rows (unique key), {time.perf_counter() - t:.1f} s")

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sink = subprocess.Popen([sys.executable, "-c", SINK_SCRIPT, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert sink.stdout.readline().strip() == "ready"
    settings = replace(load_settings({}), host="127.0.0.1", port=port, connections=args.connections)
    try:
        async def project() -> float:
            # The sender's clock is the morning the reminders were written: at the real date
            # they would be past their deadline and expire instead of going out.
            sender = Sender(engine, settings, clock=lambda: fire)
            t0 = time.perf_counter()
            stats = await sender.drain()
            elapsed = time.perf_counter() - t0
            await sender.aclose()
            assert stats.sent == written, stats
            return elapsed

        cpu0 = time.process_time()
        proj_s = asyncio.run(project())
        proj_cpu = time.process_time() - cpu0
        proj_rate = written / proj_s
        print(f"project path: {written} messages in {proj_s:.1f} s = {proj_rate:,.0f} msg/s wall, "
              f"{written / proj_cpu:,.0f} msg per sender CPU-second "
              f"(direct MIME assembly, {args.connections} reused connections, batch claims and updates)")

        with Session(engine) as s:
            sample = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id).limit(args.naive_sample)))
        t0, cpu0 = time.perf_counter(), time.process_time()
        asyncio.run(naive_send(sample, settings))
        naive_s, naive_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        naive_rate = len(sample) / naive_s
        print(f"naive path:   {len(sample)} messages in {naive_s:.1f} s = {naive_rate:,.0f} msg/s wall, "
              f"{len(sample) / naive_cpu:,.0f} msg per sender CPU-second "
              f"(EmailMessage, str headers, new connection per message)")
    finally:
        out, _ = sink.communicate("", timeout=120)
    fields = out.split()
    total, unique, dupes, sink_cpu = int(fields[0]), int(fields[1]), int(fields[2]), float(fields[3])
    print(f"receiving process: {total} messages, {unique} distinct Message-IDs, {dupes} duplicated; "
          f"{sink_cpu:.1f} CPU-s = {total / sink_cpu:,.0f} msg per receiver CPU-second (the receiver is the bound)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    print(f"ratio project/naive: {proj_rate / naive_rate:.1f}x wall, "
          f"{(written / proj_cpu) / (len(sample) / naive_cpu):.1f}x CPU   target: >= 1,000 msg/s and >= 5x "
          f"-> {'met' if proj_rate >= 1000 and proj_rate / naive_rate >= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
