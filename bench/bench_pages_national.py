"""Page sizes and CLI output at the national shape (issue 24): the same schools split over a few or
over many wards, a Sở campaign with one child per ward. What the Sở's officer downloads (the
dashboard, the late list, the province view, the ward picker's answer) and how many lines
`cdsflow campaign status` prints should not grow with the number of wards.

Prints one table: each measure at the small and the large shape and their ratio (the floor is the
small shape measured in the same run; a bounded output stays near 1×).

Run (reduced sizes by default; --full: 13,284 schools over 136 vs 3,321 wards, as the issue measured):
    .venv/bin/python bench/bench_pages_national.py [--schools N] [--small W] [--large W] [--full]
    .venv/bin/python bench/bench_pages_national.py --code DIR   # the same, with the cdsflow of DIR
                                                                # (a checkout of main: "before")
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=3_321)
    ap.add_argument("--small", type=int, default=136, help="wards of the small shape")
    ap.add_argument("--large", type=int, default=1_000, help="wards of the large shape")
    ap.add_argument("--full", action="store_true", help="13,284 schools over 136 vs 3,321 wards")
    ap.add_argument("--code", type=Path, default=ROOT, help="the tree whose cdsflow is measured")
    a = ap.parse_args()
    if a.full:
        a.schools, a.small, a.large = 13_284, 136, 3_321
    return a


ARGS = _args()
sys.path.insert(0, str(ARGS.code.resolve()))

from argon2 import PasswordHasher  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import cdsflow  # noqa: E402
from bench.national import national_db  # noqa: E402
from cdsflow.app.web.app import create_app  # noqa: E402
from cdsflow.services.accounts import create_account, set_password_hasher  # noqa: E402
from cdsflow.services.campaigns import launch_campaign  # noqa: E402
from cdsflow.storage.db import UnitOfWork  # noqa: E402
from tests.factories import calendar  # noqa: E402

PASSWORD = "mat-khau-bench-pages"


def measure(tmp: Path, schools: int, wards: int) -> dict[str, float]:
    db = tmp / f"pages-{wards}.db"
    engine = national_db(db, schools, wards)
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(),
                              spawn_children=True).campaign_id
    set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with UnitOfWork(engine) as uow:
        create_account(uow, username="chuyenvien.so", full_name="Chuyên viên Sở", role="officer", password=PASSWORD,
                       unit_code="SGD")
    client = TestClient(create_app(engine, uploads_dir=tmp / "uploads"), raise_server_exceptions=True)
    client.post("/api/login", json={"username": "chuyenvien.so", "password": PASSWORD}).raise_for_status()
    out: dict[str, float] = {}
    for name, path in (("dashboard (KB)", f"/campaigns/{cid}"),
                       ("late list (KB)", f"/campaigns/{cid}/schools?late=1"),
                       ("province view (KB)", f"/campaigns/{cid}/province"),
                       ("ward picker answer (KB)", f"/api/campaigns/{cid}/wards?q=phong+1")):
        r = client.get(path)
        out[name] = len(r.content) / 1024 if r.status_code == 200 else float("nan")  # nan: no such page
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(ARGS.code.resolve()),
           "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "cdsflow", "campaign", "status", str(cid)], env=env,
                          capture_output=True, text=True, timeout=600, check=True, cwd=tmp)  # cwd: not this tree
    out["campaign status (lines)"] = len(done.stdout.splitlines())
    engine.dispose()
    return out


def main() -> None:
    print(f"cdsflow from {Path(cdsflow.__file__).parent.parent}; {ARGS.schools:,} schools; "
          f"{ARGS.small:,} vs {ARGS.large:,} wards")
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(Path(tmp), ARGS.schools, ARGS.small)
        large = measure(Path(tmp), ARGS.schools, ARGS.large)
    print(f"| measure | {ARGS.small:,} wards (floor) | {ARGS.large:,} wards | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for key in small:
        ratio = large[key] / small[key] if small[key] else float("nan")
        fmt = "{:,.0f}" if "lines" in key else "{:,.1f}"
        print(f"| {key} | {fmt.format(small[key])} | {fmt.format(large[key])} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
