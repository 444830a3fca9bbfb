"""Launch a campaign over Vietnam's 54,000 schools and query its status.

Prints time and peak memory of the project's path and, in the same run, of a naive baseline
(one transitions.Machine per row, session.add per row). Run: .venv/bin/python bench/bench_campaign.py [N]
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402
from transitions import Machine  # noqa: E402

from bench.national import BUREAUS, national_db  # noqa: E402
from cdsflow.kernel.stages import STAGE_ORDER  # noqa: E402
from cdsflow.services.campaigns import campaign_status, launch_campaign  # noqa: E402
from cdsflow.storage.db import UnitOfWork, make_engine  # noqa: E402
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000


def fresh_db(tmp: Path, name: str):
    return national_db(tmp / name, N, BUREAUS)


def _run(name: str, db: str):
    # In its own process, so peak RSS belongs to this path alone (tracemalloc would triple the time).
    engine = make_engine(f"sqlite:///{db}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    result = {"project": project_launch, "naive": naive_launch}[name](engine)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return result, elapsed, peak / 1024


def measure(name: str, db: Path):
    with ProcessPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run, name, str(db)).result()


def project_launch(engine):
    with UnitOfWork(engine) as uow:
        return launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", index_set="4725",
                               calendar=calendar(), spawn_children=True)


def naive_launch(engine):
    """What a first attempt looks like: a Machine per school, an ORM object per row."""
    states = [s.value for s in STAGE_ORDER]
    with Session(engine) as s:
        campaign = Campaign(issuer_id=1, school_year="2024-2025", title="naive", index_set_code="4725", status="launched")
        s.add(campaign)
        s.flush()
        machines = []
        for school_id in range(2 + BUREAUS, 2 + BUREAUS + N):
            a = Assessment(campaign_id=campaign.id, school_id=school_id, state="plan_issued")
            holder = type("Row", (), {})()  # SQLModel objects refuse the attributes Machine adds
            machines.append(Machine(model=holder, states=states, initial="plan_issued", auto_transitions=False))
            s.add(a)
            s.flush()
            s.add(AssessmentEvent(assessment_id=a.id, at=datetime.now(UTC), actor="x", trigger="launch",
                                  to_state="plan_issued"))
        s.commit()
        return campaign.id


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        e1, _e2 = fresh_db(tmp, "project.db"), fresh_db(tmp, "naive.db")
        result, t_proj, m_proj = measure("project", tmp / "project.db")
        _, t_naive, m_naive = measure("naive", tmp / "naive.db")
        now = datetime(2025, 4, 2, tzinfo=UTC)
        timings = []
        for _ in range(5):
            with UnitOfWork(e1) as uow:
                t = time.perf_counter()
                status = campaign_status(uow, result.campaign_id, now=now)
                timings.append(time.perf_counter() - t)
        print(f"schools: {N:,} in {BUREAUS} child campaigns")
        print(f"launch, project path : {t_proj:7.2f} s   peak RSS +{m_proj:6.1f} MiB")
        print(f"launch, naive path   : {t_naive:7.2f} s   peak RSS +{m_naive:6.1f} MiB")
        print(f"speed-up             : {t_naive / t_proj:7.1f} ×  (target ≥ 10×, launch ≤ 3 s)")
        print(f"campaign status      : {sorted(timings)[2] * 1000:7.1f} ms median of 5 "
              f"(total {status.total:,}, late {status.late_total:,}; target ≤ 200 ms)")


if __name__ == "__main__":
    main()
