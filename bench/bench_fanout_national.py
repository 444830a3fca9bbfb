"""Issue 24, items 3, 4 and 6 at the national shape: a Sở's plan with one child plan per ward.

1. fan-out: the scheduler tick that writes one day's reminders for every school of every ward
   (one point per ward campaign) against the floor, the same outbox rows inserted with plain
   sqlite3 `executemany` in one transaction, measured in the same run on the same file;
2. tick with nothing due: the worker's steady tick over all the ward campaigns against the same
   tick over 136 ward campaigns holding the same schools;
3. relative deadlines: every school's own deadlines (a tenth of them returned for supplement,
   5 working days from the return) against the same schools with fixed deadlines only.

Each prints the product's figure, its floor and the ratio (targets: ≤ 3×, ≤ 2×, ≤ 3×).

    .venv/bin/python bench/bench_fanout_national.py                 # reduced: 5,400 schools, 332 wards
    .venv/bin/python bench/bench_fanout_national.py --full          # 54,000 schools, 3,321 wards
    .venv/bin/python bench/bench_fanout_national.py --schools 13284 --wards 3321
"""
from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text, update  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.national import national_db  # noqa: E402
from cdsflow.calendars import timeutil  # noqa: E402
from cdsflow.calendars.model import Milestone, RelativeRule, ReminderPolicy  # noqa: E402
from cdsflow.kernel.stages import Actor, Stage  # noqa: E402
from cdsflow.scheduler import ticker  # noqa: E402
from cdsflow.services import deadlines, planner  # noqa: E402
from cdsflow.services.campaigns import launch_campaign  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from cdsflow.storage.notifications_tables import OutboxMessage  # noqa: E402
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign  # noqa: E402
from tests.factories import calendar  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAUNCHED = datetime(2025, 1, 6, 8, 0, tzinfo=VN)
# "hoi-dong" (31/1/2025, in Tết) overdue-2: every school still at plan_issued is reminded, every ward
# gets its digest; the earlier points are folded into it.
FIRE = datetime(2025, 2, 4, 7, 0, tzinfo=VN)
RETURNED_AT = datetime(2025, 3, 20, 9, 0, tzinfo=VN)


def world(path: Path, schools: int, wards: int, *, relative: bool = False) -> tuple[Engine, int]:
    """The unit tree, mail addresses, and the Sở's plan launched with one child plan per ward."""
    engine = national_db(path, schools, wards)
    with engine.begin() as conn:
        conn.execute(text("UPDATE unit SET emails = lower(code) || '@example.edu.vn'"))
    # The calendar's default reminder policy on every milestone (the test calendar asks for none).
    cal = calendar()
    cal = dataclasses.replace(cal, milestones=tuple(dataclasses.replace(m, reminders=ReminderPolicy())
                                                    for m in cal.milestones))
    if relative:
        resend = Milestone("nop-lai", "Gửi lại trong 5 ngày làm việc sau khi bị trả", Actor.SCHOOL, Stage.PROPOSAL,
                           None, relative=RelativeRule(5, event="returned"), reminders=ReminderPolicy())
        cal = dataclasses.replace(cal, milestones=(*cal.milestones, resend))
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", index_set="4725", calendar=cal,
                                 spawn_children=True, now=LAUNCHED)
    if relative:  # a tenth of the files returned for supplement, on a handful of different days
        with engine.begin() as conn:
            ids = list(conn.scalars(select(Assessment.id).order_by(Assessment.id)))[::10]
            conn.execute(update(Assessment).where(Assessment.id.in_(ids)).values(state="self_assessment"))
            conn.execute(insert(AssessmentEvent), [
                {"assessment_id": aid, "at": RETURNED_AT - timedelta(days=aid % 7, minutes=aid % 600), "actor": "x",
                 "trigger": "return_for_supplement", "from_state": "external_review", "to_state": "self_assessment"}
                for aid in ids])
    return engine, result.campaign_id


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def median(fn: Callable[[], object], runs: int = 5, *, cpu: bool = False) -> float:
    return statistics.median(timed(fn)[1 if cpu else 0] for _ in range(runs))


def plain_insert(path: Path) -> tuple[float, float, int]:
    """The floor: take the outbox rows the product wrote, empty the table, insert them again with
    plain sqlite3 executemany in one transaction."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cols = [c.name for c in OutboxMessage.__table__.columns if c.name != "id"]
    rows = conn.execute(f"SELECT {', '.join(cols)} FROM outbox_message ORDER BY id").fetchall()
    conn.execute("DELETE FROM outbox_message")
    conn.commit()
    sql = f"INSERT INTO outbox_message ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    t, cpu = time.perf_counter(), time.process_time()
    conn.executemany(sql, rows)
    conn.commit()
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    conn.close()
    return took, cpu, len(rows)


def line(name: str, product: float, floor: float, unit: str = "s", note: str = "") -> None:
    scale = 1000 if unit == "ms" else 1
    print(f"{name:<40} {product * scale:10.3f} {floor * scale:10.3f} {unit:<3} {product / floor:7.2f} ×  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=5_400)
    parser.add_argument("--wards", type=int, default=332)
    parser.add_argument("--few-wards", type=int, default=136, help="the tick's floor: the same schools in fewer wards")
    parser.add_argument("--full", action="store_true", help="54,000 schools in 3,321 wards")
    parser.add_argument("--parts", default="fanout,tick,relative", help="which measures (comma-separated)")
    args = parser.parse_args()
    if args.full:
        args.schools, args.wards = 54_000, 3_321
    print(f"schools: {args.schools:,} in {args.wards:,} ward campaigns (tick floor: {args.few_wards} wards), SQLite")
    print(f"{'measure':<40} {'product':>10} {'floor':>10} {'':<3} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        parts = set(args.parts.split(","))
        # 1. the day's fan-out, from the tick the worker runs
        engine, _ = world(tmp_path / "many.db", args.schools, args.wards)
        planner._POINTS.clear()  # a cold cache, as a freshly started worker has
        timeutil.is_working_day(FIRE.date())  # the worker has loaded the holiday tables long before
        wall, cpu, result = timed(lambda: ticker.run_due_reminders(engine, FIRE))
        written = result.written  # type: ignore[attr-defined]
        floor, floor_cpu, rows = plain_insert(tmp_path / "many.db")
        assert rows == written, (rows, written)
        if "fanout" in parts:
            line("fan-out: first tick, wall", wall, floor, note=f"{written:,} outbox rows")
            # The machine is shared: CPU time is the steadier figure when others load it.
            line("fan-out: first tick, CPU", cpu, floor_cpu)
        # 2. a tick with nothing due (the worker's steady state), many wards against few
        later = FIRE + timedelta(minutes=1)
        if "tick" in parts:
            few, _ = world(tmp_path / "few.db", args.schools, args.few_wards)
            ticker.run_due_reminders(few, FIRE)
            # Milliseconds on a shared machine: CPU time (a wall clock counts the other users' turns).
            t_many = median(lambda: ticker.run_due_reminders(engine, later), 21, cpu=True)
            t_few = median(lambda: ticker.run_due_reminders(few, later), 21, cpu=True)
            line(f"tick, nothing due, CPU ({args.wards} vs {args.few_wards})", t_many, t_few, "ms", "median of 21")
            few.dispose()
        engine.dispose()
        if "relative" not in parts:
            return
        # 3. every school's own deadlines: relative against fixed, the same schools
        fixed, _ = world(tmp_path / "fixed.db", args.schools, args.wards)
        rel, _ = world(tmp_path / "relative.db", args.schools, args.wards, relative=True)

        def all_deadlines(e: Engine) -> Callable[[], object]:
            def run() -> object:
                with Session(e) as s:
                    cids = list(s.scalars(select(Campaign.id)))
                    return deadlines.deadlines_of(s, cids)
            return run

        t_fixed, t_rel = median(all_deadlines(fixed), cpu=True), median(all_deadlines(rel), cpu=True)
        line("relative vs fixed deadlines, CPU", t_rel, t_fixed, "ms", f"{args.schools // 10:,} returned, median of 5")


if __name__ == "__main__":
    main()
