"""The read models at the national shape: the same N schools under one Sở split over 136 and over
3,321 ward campaigns, each view timed at both, with its raw-query floor measured in the same run.

Views (the services the web pages, the JSON API and the CLI call): campaign status, the dashboard
(computed, and read back from its stored figures), the late list (page 1), the province view
(computed and stored) and a search in the schools list. The floor of each is the plain SQL of the
same figures (one GROUP BY or one page query over the Sở's schools, reached through the campaign
tree), timed on the same database.

Target (issue 24): each view at 3,321 wards costs at most 2× its cost at 136 wards.
Run: .venv/bin/python bench/bench_views_national.py [N_SCHOOLS] [WARDS_SMALL] [WARDS_LARGE] [REPEATS]
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.national import national_db  # noqa: E402
from cdsflow.kernel.stages import STAGE_ORDER, Stage  # noqa: E402
from cdsflow.services.campaigns import campaign_status, launch_campaign  # noqa: E402
from cdsflow.services.listing import ListQuery, dashboard_figures, province_view, school_list  # noqa: E402
from cdsflow.services.result_lines import rebuild as rebuild_result_lines  # noqa: E402
from cdsflow.storage.assessment_tables import AssessmentScore  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from cdsflow.storage.tables import Assessment  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000
SMALL = int(sys.argv[2]) if len(sys.argv) > 2 else 136
LARGE = int(sys.argv[3]) if len(sys.argv) > 3 else 3_321
REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
NOW = datetime(2025, 4, 15, 3, 0, tzinfo=UTC)  # committee and proposal deadlines passed: a long late list
TARGET = 2.0


def _level(total: float) -> int | None:
    return None if total < 25 else 1 if total < 50 else 2 if total <= 75 else 3


def build(db: Path, wards: int) -> tuple[Engine, int]:
    """One Sở, `wards` wards, N schools (bench/national.py's tree), a Sở campaign with one child per
    ward, stages spread, self and review scores written in bulk as bench_lists does."""
    engine = national_db(db, N, wards)
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(),
                              spawn_children=True, now=datetime(2024, 9, 5, tzinfo=UTC)).campaign_id
    rng = random.Random(7)
    rank = {s.value: s.order for s in STAGE_ORDER}
    with engine.begin() as conn:
        for i, stage in enumerate(STAGE_ORDER):
            conn.execute(text("UPDATE assessment SET state = :s WHERE id % 7 = :i"), {"s": stage.value, "i": i})
        scores = []
        for aid, state in conn.execute(select(Assessment.id, Assessment.state)).all():
            phases = (["self"] if rank[state] >= Stage.SELF_ASSESSMENT.order else []) + (
                ["external"] if rank[state] >= Stage.EXTERNAL_REVIEW.order else [])
            for phase in phases:
                g1, g2 = round(rng.uniform(10, 100), 1), round(rng.uniform(10, 80), 1)
                scores.append({"assessment_id": aid, "phase": phase, "index_set_hash": "bench", "group1_total": g1,
                               "group1_level": _level(g1), "group2_total": g2, "group2_level": _level(g2),
                               "total": g1 + g2, "complete": True, "item_points": {}, "summary": {},
                               "scored_at": NOW - timedelta(days=30)})
        conn.execute(insert(AssessmentScore), scores)
    with Session(engine) as s:
        rebuild_result_lines(s)
        s.commit()
    return engine, cid


def _forget(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM campaign_figures"))


def views(engine: Engine, cid: int) -> dict[str, Callable[[], object]]:
    def status() -> object:
        with UnitOfWork(engine) as uow:
            return campaign_status(uow, cid, now=NOW)

    def dashboard(fresh: bool) -> Callable[[], object]:
        def run() -> object:
            if fresh:
                _forget(engine)
            with UnitOfWork(engine) as uow:
                return dashboard_figures(uow, cid, now=NOW)
        return run

    def province(fresh: bool) -> Callable[[], object]:
        def run() -> object:
            if fresh:
                _forget(engine)
            with Session(engine) as s:
                return province_view(s, cid, now=NOW)
        return run

    def listing(params: dict[str, str]) -> Callable[[], object]:
        query = ListQuery.from_params(params)

        def run() -> object:
            with Session(engine) as s:
                return school_list(s, cid, query, now=NOW)
        return run

    return {
        "Tình trạng kế hoạch (campaign status)": status,
        "Bảng theo dõi, tính lại": dashboard(True),
        "Bảng theo dõi, số liệu đã lưu": dashboard(False),
        "Danh sách chậm hạn, trang 1": listing({"late": "1"}),
        "Toàn tỉnh theo xã/phường, tính lại": province(True),
        "Toàn tỉnh theo xã/phường, số liệu đã lưu": province(False),
        "Tìm «số 123»": listing({"q": "số 123"}),
    }


FAMILY = "(SELECT id FROM campaign WHERE id = :c OR parent_id = :c)"


def floors(engine: Engine, cid: int) -> dict[str, Callable[[], object]]:
    """The plain SQL of each view's figures (no service, no Python per row)."""
    def sql(*statements: str) -> Callable[[], object]:
        def run() -> object:
            with engine.connect() as conn:
                return [conn.execute(text(s), {"c": cid}).all() for s in statements]
        return run

    counts = f"SELECT campaign_id, state, count(*) FROM assessment WHERE campaign_id IN {FAMILY} GROUP BY 1, 2"
    late = (f"SELECT count(*) FROM assessment WHERE campaign_id IN {FAMILY} AND state IN "
            "('plan_issued','committee_formed','self_assessment')")
    late_page = (f"SELECT a.id, u.code, u.name FROM assessment a JOIN unit u ON u.id = a.school_id WHERE a.campaign_id "
                 f"IN {FAMILY} AND a.state IN ('plan_issued','committee_formed','self_assessment') ORDER BY u.code LIMIT 50")
    charts = (f"SELECT s.phase, s.group1_level, s.group2_level, count(*) FROM assessment_score s JOIN assessment a "
              f"ON a.id = s.assessment_id WHERE a.campaign_id IN {FAMILY} GROUP BY 1, 2, 3")
    province = (f"SELECT u.supervisor_id, count(*), sum(a.state IN ('proposal','external_review')), sum(r.level1 = 1), "
                f"sum(r.level2 = 1) FROM assessment a JOIN unit u ON u.id = a.school_id LEFT JOIN assessment_result r "
                f"ON r.assessment_id = a.id WHERE a.campaign_id IN {FAMILY} GROUP BY u.supervisor_id")
    search = (f"SELECT a.id, u.code, u.name FROM assessment a JOIN unit u ON u.id = a.school_id WHERE a.campaign_id "
              f"IN {FAMILY} AND vi_fold(u.name) LIKE '%so 123%' ORDER BY u.code LIMIT 50")
    search_count = (f"SELECT count(*) FROM assessment a JOIN unit u ON u.id = a.school_id WHERE a.campaign_id "
                    f"IN {FAMILY} AND vi_fold(u.name) LIKE '%so 123%'")
    stored = "SELECT payload FROM campaign_figures WHERE campaign_id = :c"
    return {
        "Tình trạng kế hoạch (campaign status)": sql(counts, late_page),
        "Bảng theo dõi, tính lại": sql(counts, late_page, charts),
        "Bảng theo dõi, số liệu đã lưu": sql(stored),
        "Danh sách chậm hạn, trang 1": sql(late, late_page),
        "Toàn tỉnh theo xã/phường, tính lại": sql(province),
        "Toàn tỉnh theo xã/phường, số liệu đã lưu": sql(stored),
        "Tìm «số 123»": sql(search_count, search),
    }


def timed(run: Callable[[], object]) -> float:
    run()  # warm: caches, the stored figures of the "stored" variants
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1000)
    return median(times)


def measure(wards: int, tmp: str) -> tuple[dict[str, float], dict[str, float]]:
    t = time.perf_counter()
    engine, cid = build(Path(tmp) / f"views-{wards}.db", wards)
    print(f"Dữ liệu: {N} trường, {wards} xã/phường, kế hoạch số {cid} ({time.perf_counter() - t:.1f} s)", flush=True)
    product = {label: timed(run) for label, run in views(engine, cid).items()}
    floor = {label: timed(run) for label, run in floors(engine, cid).items()}
    engine.dispose()
    return product, floor


def main() -> None:
    print(f"Tải máy lúc bắt đầu (load average 1 phút, 2 lõi): {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        small, small_floor = measure(SMALL, tmp)
        large, large_floor = measure(LARGE, tmp)
    print(f"\n| Màn hình | {SMALL} xã (ms) | {LARGE} xã (ms) | tỉ lệ {LARGE}/{SMALL} (mục tiêu ≤ {TARGET:g}) "
          f"| sàn SQL {SMALL} / {LARGE} (ms) | sản phẩm / sàn ở {LARGE} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label in small:
        ratio = large[label] / small[label]
        verdict = "đạt" if ratio <= TARGET else "CHƯA ĐẠT"
        print(f"| {label} | {small[label]:.1f} | {large[label]:.1f} | {ratio:.2f} ({verdict}) "
              f"| {small_floor[label]:.1f} / {large_floor[label]:.1f} | {large[label] / large_floor[label]:.1f}× |")
    print(f"Tải máy lúc kết thúc: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
