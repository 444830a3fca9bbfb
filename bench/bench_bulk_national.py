"""Bulk school accounts at the national shape while the web keeps writing (issue 24, item 5).

Product: `create_school_accounts` for N schools (two accounts each, a set-password link and its
mail each) in this process, while another process makes a web-like write every 50 ms (a login
throttle row, in its own short transaction through the product's engine: busy_timeout as the
web has it). Printed: the longest wait of that writer (the target: under 1 s, never "database is
locked"), its writes and failures, and the bulk's total time against its floor measured in the
same run: a plain insert of the very same rows (accounts, links, outbox mails) in one
transaction with sqlite3's executemany, nobody else writing.

Run: .venv/bin/python bench/bench_bulk_national.py [SCHOOLS]   (the full shape: 54000)
"""
from __future__ import annotations

import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text, update  # noqa: E402

from bench.national import national_db  # noqa: E402
from cdsflow.app import wiring  # noqa: E402
from cdsflow.services.campaigns import launch_campaign  # noqa: E402
from cdsflow.services.school_accounts import create_school_accounts  # noqa: E402
from cdsflow.storage.db import UnitOfWork, make_engine  # noqa: E402
from cdsflow.storage.notifications_tables import OutboxMessage  # noqa: E402
from cdsflow.storage.tables import Campaign, Unit  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
EVERY = 0.05  # the writer's pace
TABLES = ("web_account", "web_password_token", "outbox_message")


def writer(url: str, stop, ready, out) -> None:
    """A web-like writer: one small transaction every 50 ms; each write's duration kept."""
    engine = make_engine(url)
    waits: list[float] = []
    errors: list[str] = []
    ready.set()
    n = 0
    while not stop.is_set():
        n += 1
        t = time.perf_counter()
        try:
            with UnitOfWork(engine) as uow:
                uow.session.execute(text(
                    "INSERT INTO web_login_throttle (key, tries, window_start, last_client) "
                    "VALUES (:k, 1, :w, '') ON CONFLICT (key) DO UPDATE SET tries = tries + 1"),
                    {"k": f"addr:bench{n % 50}", "w": datetime.now(UTC).replace(tzinfo=None)})
                uow.commit()
            waits.append(time.perf_counter() - t)
        except Exception as err:  # noqa: BLE001 - counted and printed: the figure this bench is about
            errors.append(f"{type(err).__name__}: {err}"[:200])
        time.sleep(EVERY)
    out.put((waits, errors))


def floor(db: Path, rows: dict[str, tuple[list[str], list[tuple]]]) -> float:
    """The same rows inserted plainly into an empty copy of the schema, one transaction."""
    con = sqlite3.connect(db)
    for table in TABLES:
        con.execute(f"DELETE FROM {table}")
    con.commit()
    t = time.perf_counter()
    for table, (cols, data) in rows.items():
        con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", data)
    con.commit()
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed


def main() -> None:
    wiring.install()  # the set-password mails are written by the event's handler, as in the CLI and web
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bulk.db"
        engine = national_db(path, N, bureaus=max(1, N // 16))
        with UnitOfWork(engine) as uow:
            uow.session.execute(update(Unit).where(Unit.kind == "school")
                                .values(emails=func.lower(Unit.code) + "@truong.edu.vn"))
            uow.commit()
            launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", index_set="4725", calendar=calendar(),
                            spawn_children=False)
        with UnitOfWork(engine) as uow:
            campaign_id = uow.session.scalar(select(Campaign.id))
        ctx = mp.get_context("spawn")
        stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=writer, args=(f"sqlite:///{path}", stop, ready, out))
        proc.start()
        ready.wait()
        time.sleep(0.3)  # the writer at its pace before the bulk starts
        t = time.perf_counter()
        with UnitOfWork(engine) as uow:
            report = create_school_accounts(uow, campaign_id, base_url="http://127.0.0.1:8000")
        product = time.perf_counter() - t
        time.sleep(0.3)
        stop.set()
        waits, errors = out.get()
        proc.join()
        with UnitOfWork(engine) as uow:
            mails = uow.session.scalar(select(func.count()).select_from(OutboxMessage))
        engine.dispose()
        con = sqlite3.connect(path)
        rows = {}
        for table in TABLES:
            cur = con.execute(f"SELECT * FROM {table}")
            rows[table] = ([d[0] for d in cur.description], cur.fetchall())
        con.close()
        base = floor(path, rows)

    accounts = len(rows["web_account"][1])
    print(f"{N} trường: {accounts} tài khoản, {mails} thư đặt mật khẩu, {len(report.created)} tạo trong lần chạy")
    print(f"  bulk accounts (product):   {product:8.2f} s")
    print(f"  plain insert (floor):      {base:8.2f} s   ratio {product / base:.1f}×")
    print(f"  writer every {EVERY * 1000:.0f} ms:     {len(waits)} writes, longest wait {max(waits, default=0):.3f} s, "
          f"{sum(w > 1 for w in waits)} over 1 s, {len(errors)} failed")
    for e in sorted(set(errors))[:5]:
        print(f"    {e}")


if __name__ == "__main__":
    main()
