"""Web latency with 54,000 schools: the dashboard and a school's page under concurrent load.

The server is the real `cdsflow serve` (uvicorn, one process); the load comes from a second process
on 127.0.0.1 (threads, each with its own logged-in session), bounded by a request count and a time
limit. In the same run, a naive baseline (ORM rows counted in Python for the dashboard; the whole
subtree as the scope check of a school page) is timed in-process for comparison.
Run: /work/main/.venv/bin/python bench/bench_web.py [N_SCHOOLS] [REQUESTS] [CONCURRENCY]
Targets: dashboard p95 < 300 ms, school page p95 < 100 ms.
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.national import BUREAUS, national_db  # noqa: E402
from cdsflow.kernel.stages import STAGE_ORDER  # noqa: E402
from cdsflow.services.accounts import create_account, set_password_hasher  # noqa: E402
from cdsflow.services.campaigns import launch_campaign  # noqa: E402
from cdsflow.services.units import descendant_ids  # noqa: E402
from cdsflow.storage.db import UnitOfWork, make_engine  # noqa: E402
from cdsflow.storage.tables import Assessment, Campaign, Unit  # noqa: E402
from tests.factories import calendar  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 54_000
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
CONCURRENCY = int(sys.argv[3]) if len(sys.argv) > 3 else 4
TIME_LIMIT = 60.0  # seconds per scenario, whatever the count
PASSWORD = "mat-khau-bench-web"


def build(db: Path) -> tuple[int, int]:
    engine = national_db(db, N, BUREAUS)
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(), spawn_children=True)
    with engine.begin() as conn:  # spread the schools over the stages (benchmark data only)
        for i, stage in enumerate(STAGE_ORDER):
            conn.execute(text("UPDATE assessment SET state = :s WHERE id % 7 = :i"), {"s": stage.value, "i": i})
    set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with UnitOfWork(engine) as uow:
        create_account(uow, username="chuyenvien.so", full_name="Chuyên viên Sở", role="officer", password=PASSWORD,
                       unit_code="SGD")
        create_account(uow, username="truong", full_name="Hiệu trưởng", role="school_head", password=PASSWORD,
                       unit_code=f"S{N // 2}")
        school_aid = uow.session.execute(
            select(Assessment.id).join(Unit, Unit.id == Assessment.school_id).where(Unit.code == f"S{N // 2}")
        ).scalar_one()
    engine.dispose()
    return result.campaign_id, school_aid


def load(base: str, username: str, path: str, requests: int, concurrency: int) -> dict:
    """Runs in the second process: `concurrency` threads, each logged in, until the count or time is spent."""
    import httpx

    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    left = [requests]
    deadline = time.perf_counter() + TIME_LIMIT

    def worker():
        with httpx.Client(base_url=base, timeout=30) as c:
            c.post("/api/login", json={"username": username, "password": PASSWORD}).raise_for_status()
            c.get(path)  # warm-up, not counted
            while time.perf_counter() < deadline:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                t = time.perf_counter()
                r = c.get(path)
                dt = time.perf_counter() - t
                with lock:
                    latencies.append(dt)
                    statuses[r.status_code] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    latencies.sort()
    return {"n": len(latencies), "rps": len(latencies) / wall, "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(0.95 * (len(latencies) - 1))] * 1000, "statuses": dict(statuses)}


def naive_dashboard(engine, campaign_id: int) -> float:
    """ORM rows of the whole campaign tree, counted in Python: what the GROUP BY replaces."""
    t = time.perf_counter()
    with Session(engine) as s:
        ids = [campaign_id, *s.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id)).scalars()]
        counts = Counter(a.state for a in s.execute(select(Assessment).where(Assessment.campaign_id.in_(ids))).scalars())
    assert sum(counts.values()) == N
    return time.perf_counter() - t


def naive_scope(engine, school_id: int) -> float:
    """The officer's whole subtree as the scope check of one school page (instead of the school's chain)."""
    t = time.perf_counter()
    with UnitOfWork(engine) as uow:
        assert school_id in set(descendant_ids(uow, 1))
    return time.perf_counter() - t


def start_server(db: Path, cwd: str, cached: bool, workers: int = 1):
    # `cached` is kept for the callers: the web app no longer caches the dashboard in the process.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    more = ["--workers", str(workers)] if workers > 1 else []
    server = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0", *more],
                              cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return server, re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline()).group(0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        campaign_id, school_aid = build(db)
        print(f"Dữ liệu: {N} trường, {BUREAUS} Phòng, kế hoạch số {campaign_id} ({time.perf_counter() - t:.1f} s)")
        scenarios = [
            ("Bảng theo dõi (Sở, 54.000 trường)", "chuyenvien.so", f"/campaigns/{campaign_id}", 300, True),
            ("Bảng theo dõi, API JSON", "chuyenvien.so", f"/api/campaigns/{campaign_id}", 300, True),
            ("Bảng theo dõi, API JSON, không bộ đệm", "chuyenvien.so", f"/api/campaigns/{campaign_id}", 300, False),
            ("Trang một trường (hiệu trưởng)", "truong", f"/assessments/{school_aid}", 100, True),
            ("Trang một trường (chuyên viên Sở)", "chuyenvien.so", f"/assessments/{school_aid}", 100, True),
        ]
        results = {}
        with ProcessPoolExecutor(max_workers=1) as pool:  # the load generator: a second process
            for cached in (True, False):
                server, base = start_server(db, tmp, cached)
                try:
                    for label, user, path, target, with_cache in scenarios:
                        if with_cache != cached:
                            continue
                        r = pool.submit(load, base, user, path, REQUESTS, CONCURRENCY).result()
                        results[label] = r
                        verdict = "đạt" if r["p95"] < target else "CHƯA ĐẠT"
                        print(f"{label}: {r['n']} yêu cầu, {CONCURRENCY} luồng, {r['rps']:.1f} yêu cầu/s, "
                              f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms (mục tiêu p95 < {target} ms: {verdict}) "
                              f"mã trả về {r['statuses']}")
                finally:
                    server.terminate()
                    server.wait(timeout=10)
        engine = make_engine(f"sqlite:///{db}")
        with Session(engine) as s:
            school_id = s.get(Assessment, school_aid).school_id
        naive_d = statistics.median(naive_dashboard(engine, campaign_id) for _ in range(3)) * 1000
        naive_s = statistics.median(naive_scope(engine, school_id) for _ in range(5)) * 1000
        dash = results["Bảng theo dõi, API JSON, không bộ đệm"]["p50"]
        page = results["Trang một trường (chuyên viên Sở)"]["p50"]
        print(f"Cách làm ngây thơ (trong tiến trình, chưa tính HTTP): đếm bằng Python {naive_d:.1f} ms "
              f"= {naive_d / dash:.1f}× p50 của API bảng theo dõi không bộ đệm; kiểm tra phạm vi bằng cả cây đơn vị "
              f"{naive_s:.1f} ms = {naive_s / page:.1f}× p50 của cả trang một trường.")


if __name__ == "__main__":
    main()
