"""The dashboard of a campaign whose calendar has relative deadlines (each school's own, from its
history) against the same campaign with fixed deadlines only, in the same run.

A tenth of the schools have been returned for supplement (their own 5-working-day window).
Run: .venv/bin/python bench/bench_relative.py [N]
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, update  # noqa: E402

from bench.national import BUREAUS, national_db  # noqa: E402
from cdsflow.calendars.model import Milestone, RelativeRule  # noqa: E402
from cdsflow.kernel.stages import Actor, Stage  # noqa: E402
from cdsflow.services.campaigns import campaign_status, launch_campaign  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from cdsflow.storage.tables import Assessment, AssessmentEvent  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000
NOW = datetime(2025, 4, 2, tzinfo=UTC)


def world(tmp: Path, name: str, relative: bool):
    engine = national_db(tmp / name, N, BUREAUS)
    cal = calendar()
    if relative:
        resend = Milestone("nop-lai", "Gửi lại trong 5 ngày làm việc sau khi bị trả", Actor.SCHOOL, Stage.PROPOSAL,
                           None, relative=RelativeRule(5, event="returned"))
        cal = dataclasses.replace(cal, milestones=(*cal.milestones, resend))
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", index_set="4725", calendar=cal,
                                 spawn_children=True)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Assessment.id).order_by(Assessment.id)))[::10]
        conn.execute(update(Assessment).where(Assessment.id.in_(ids)).values(state="self_assessment"))
        conn.execute(insert(AssessmentEvent), [
            {"assessment_id": aid, "at": NOW - timedelta(days=3 + aid % 7), "actor": "x",
             "trigger": "return_for_supplement", "from_state": "external_review", "to_state": "self_assessment"}
            for aid in ids])
    return engine, result.campaign_id


def median_status(engine, campaign_id: int) -> tuple[float, int]:
    timings = []
    for _ in range(5):
        with UnitOfWork(engine) as uow:
            t = time.perf_counter()
            status = campaign_status(uow, campaign_id, now=NOW)
            timings.append(time.perf_counter() - t)
    return sorted(timings)[2], status.late_total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fixed, relative = world(Path(tmp), "fixed.db", False), world(Path(tmp), "relative.db", True)
        t_fixed, late_fixed = median_status(*fixed)
        t_rel, late_rel = median_status(*relative)
        print(f"schools: {N:,} in {BUREAUS} child campaigns, {N // 10:,} returned")
        print(f"status, fixed deadlines only  : {t_fixed * 1000:8.1f} ms median of 5 (late {late_fixed:,})")
        print(f"status, with relative deadline: {t_rel * 1000:8.1f} ms median of 5 (late {late_rel:,})")
        print(f"ratio                         : {t_rel / t_fixed:8.1f} ×")


if __name__ == "__main__":
    main()
