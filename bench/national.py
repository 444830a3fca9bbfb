"""The national shape (issue 24) and its one table of measures.

    python bench/national.py [--schools 54000] [--wards 3321] [--provinces 34] [--db sqlite|postgresql]
                             [--small-wards 136] [--only status,tick] [--quick] [--requests 100]

The shape: 34 Sở GDĐT (unit kind `department`), the wards spread over them (each ward's Phòng Văn hóa
– Xã hội, kind `bureau`, supervised by its province's Sở), the schools spread over the wards (kind
`school`), with Vietnamese names (search and collation see real diacritics). Every Sở launches its
campaign through the product (`launch_campaign`, one child campaign per ward); the benchmark data
that no use-case writes in bulk (stages spread over the schools, self and review scores, sends) is
then written with plain SQL, as bench_lists.py does. A second world holds the same schools under
`--small-wards` wards (136 by default): the views must cost about the same in both.

Each measure prints one row: the product's figure, its floor measured in the same run (the 136-ward
world, the plain SQL of the same rows, the raw queries of the same page replayed by as many clients
as the page is measured with), the ratio, the target of issue 24 and whether it is met. A measure
that fails prints «lỗi: …» in its row and the run goes on.
Views are measured on the first Sở's campaign (its wards and schools; with `--provinces 1` one Sở
holds every ward, the shape the issue's first figures came from).

PostgreSQL: the DSN in CDSFLOW_BENCH_PG (or TEST_DATABASE_URL); without one, the harness re-runs
itself under scripts/with-postgres.sh (a throw-away server). One database per world.

`national_db(path, schools, bureaus)` (one Sở, N bureaus, schools) is kept for the older benches.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, delete, event, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cdsflow.storage.db import make_engine  # noqa: E402
from cdsflow.storage.schema import metadata  # noqa: E402
from cdsflow.storage.tables import Unit  # noqa: E402

BUREAUS = 34 * 4  # ~4 school-managing units per province, 34 provinces since 7/2025

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 4, 2, 9, 0, tzinfo=VN)  # past the proposal deadline: the late lists are long
PASSWORD = "mat-khau-bench-web"  # bench_web.load logs in with this one
OFFICER = "chuyenvien.so"


def national_db(path: Path, schools: int, bureaus: int = BUREAUS) -> Engine:
    """A fresh SQLite file holding the unit tree, inserted in bulk (one statement per level)."""
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Unit), [{"code": "SGD", "name": "Sở GDĐT", "short_code": "SGDĐT", "kind": "department"}])
        s.execute(insert(Unit), [{"code": f"P{b}", "name": f"Phòng {b}", "short_code": "PGDĐT", "kind": "bureau",
                                  "supervisor_id": 1} for b in range(bureaus)])
        s.execute(insert(Unit), [{"code": f"S{i}", "name": f"Trường Tiểu học số {i}", "short_code": f"TH{i}",
                                  "kind": "school", "education_level": "tieu_hoc", "supervisor_id": 2 + i % bureaus}
                                 for i in range(schools)])
        s.commit()
    return engine


# --- the national shape ------------------------------------------------------------------------

# The 34 provinces and cities since 1/7/2025.
PROVINCES = (
    "Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La", "Lạng Sơn", "Quảng Ninh", "Thanh Hóa", "Nghệ An",
    "Hà Tĩnh", "Cao Bằng", "Tuyên Quang", "Lào Cai", "Thái Nguyên", "Phú Thọ", "Bắc Ninh", "Hưng Yên",
    "Hải Phòng", "Ninh Bình", "Quảng Trị", "Đà Nẵng", "Quảng Ngãi", "Gia Lai", "Khánh Hòa", "Lâm Đồng",
    "Đắk Lắk", "Thành phố Hồ Chí Minh", "Đồng Nai", "Tây Ninh", "Cần Thơ", "Vĩnh Long", "Đồng Tháp", "Cà Mau",
    "An Giang",
)
# Ward names are made of two of these (as most are): 60 × 59 distinct pairs, more than 3,321.
PLACE_WORDS = (
    "An", "Bình", "Phú", "Tân", "Hòa", "Long", "Thạnh", "Đông", "Tây", "Nam", "Bắc", "Trung", "Hưng", "Thịnh",
    "Phước", "Lộc", "Thọ", "Khánh", "Mỹ", "Vĩnh", "Yên", "Quang", "Minh", "Đức", "Hiệp", "Lợi", "Xuân", "Hải",
    "Sơn", "Thủy", "Ngọc", "Kim", "Cẩm", "Châu", "Định", "Điền", "Hồng", "Lạc", "Nghĩa", "Ninh", "Phong",
    "Quý", "Thái", "Thuận", "Tiến", "Trường", "Văn", "Việt", "Ái", "Ông", "Ế", "Đoài", "Gia", "Hà", "Lâm",
    "Mai", "Thanh", "Cát", "Ea", "Ia",
)
# Schools are named after people and places, as they are: the same name recurs in many wards.
NAMESAKES = (
    "Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Lý Thường Kiệt", "Võ Thị Sáu", "Kim Đồng", "Chu Văn An",
    "Lê Quý Đôn", "Nguyễn Du", "Đoàn Thị Điểm", "Phan Bội Châu", "Hoàng Hoa Thám", "Ngô Quyền", "Bế Văn Đàn",
    "Nguyễn Bỉnh Khiêm", "Lương Thế Vinh", "Trưng Vương", "Quang Trung", "Lê Văn Tám", "Nguyễn Văn Trỗi",
    "Đinh Tiên Hoàng", "Hai Bà Trưng", "Tô Hiến Thành", "Phạm Ngũ Lão", "Ái Mộ", "Ỷ Lan", "Âu Cơ", "Ông Ích Khiêm",
)
LEVELS = (("tieu_hoc", "Trường Tiểu học", "TH"), ("thcs", "Trường THCS", "THCS"), ("thpt", "Trường THPT", "THPT"))


def ward_name(i: int) -> str:
    n = len(PLACE_WORDS)
    first, second = PLACE_WORDS[i % n], PLACE_WORDS[(i // n + 1 + i % n) % n]
    kind = "Phường" if i % 3 else "Xã"
    return f"{kind} {first} {second}" + (f" {i // (n * (n - 1)) + 1}" if i >= n * (n - 1) else "")


def unit_rows(schools: int, wards: int, provinces: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(Sở rows, ward rows with `supervisor_code`, school rows with `supervisor_code`): codes SGD01…,
    W0001…, S00001…; ward i belongs to province i % provinces, school j to ward j % wards."""
    sgd = [{"code": f"SGD{p + 1:02d}", "name": f"Sở Giáo dục và Đào tạo {PROVINCES[p % len(PROVINCES)]}"
            + (f" {p // len(PROVINCES) + 1}" if p >= len(PROVINCES) else ""),
            "short_code": "SGDĐT", "kind": "department", "emails": f"sgd{p + 1}@moet.edu.vn"}
           for p in range(provinces)]
    ward = []
    for w in range(wards):
        name = ward_name(w)
        ward.append({"code": f"W{w + 1:04d}", "name": f"Phòng Văn hóa – Xã hội {name}", "short_code": "PVHXH",
                     "kind": "bureau",
                     "place_name": name.split(" ", 1)[1], "emails": f"vhxh{w + 1}@ubnd.gov.vn",
                     "supervisor_code": sgd[w % provinces]["code"]})
    school = []
    for j in range(schools):
        level, prefix, short = LEVELS[j % len(LEVELS)]
        namesake = NAMESAKES[(j // len(LEVELS)) % len(NAMESAKES)]
        w = ward[j % wards]
        school.append({"code": f"S{j + 1:05d}", "name": f"{prefix} {namesake} {w['place_name']}",
                       "short_code": short, "kind": "school", "education_level": level,
                       "emails": f"s{j + 1:05d}@truong.edu.vn", "supervisor_code": w["code"]})
    return sgd, ward, school


def _insert_units(session: Session, rows: list[dict], ids: dict[str, int]) -> None:
    session.execute(insert(Unit), [{k: v for k, v in r.items() if k != "supervisor_code"}
                                   | ({"supervisor_id": ids[r["supervisor_code"]]} if "supervisor_code" in r else {})
                                   for r in rows])
    ids.update(session.execute(select(Unit.code, Unit.id).where(Unit.code.in_([r["code"] for r in rows]))).all())


def _level(total: float) -> int | None:
    return None if total < 25 else 1 if total < 50 else 2 if total <= 75 else 3


def _spread_results(engine: Engine) -> None:
    """Benchmark data only: stages, sends and scores written in bulk (as bench_lists.py does)."""
    import random

    from cdsflow.kernel.stages import STAGE_ORDER, Stage
    from cdsflow.storage.assessment_tables import AssessmentScore
    from cdsflow.storage.tables import Assessment

    rng = random.Random(7)
    rank = {s.value: s.order for s in STAGE_ORDER}
    with engine.begin() as conn:
        for i, stage in enumerate(STAGE_ORDER):
            conn.execute(text("UPDATE assessment SET state = :s WHERE id % 7 = :i"), {"s": stage.value, "i": i})
        conn.execute(text("UPDATE assessment SET proposal_count = 1 + id % 3, proposed_at = :at WHERE state IN "
                          "('proposal','external_review','recognition','published')"),
                     {"at": datetime(2025, 3, 20, 3, 0, tzinfo=UTC)})
        scores = []
        at = datetime(2025, 3, 25, tzinfo=UTC)
        for aid, state in conn.execute(select(Assessment.id, Assessment.state).order_by(Assessment.id)).all():
            phases = (["self"] if rank[state] >= Stage.SELF_ASSESSMENT.order else []) + (
                ["external"] if rank[state] >= Stage.EXTERNAL_REVIEW.order else [])
            for phase in phases:
                g1, g2 = round(rng.uniform(10, 100), 1), round(rng.uniform(10, 80), 1)
                scores.append({"assessment_id": aid, "phase": phase, "index_set_hash": "bench", "group1_total": g1,
                               "group1_level": _level(g1), "group2_total": g2, "group2_level": _level(g2),
                               "total": g1 + g2, "complete": True, "item_points": {}, "summary": {},
                               "scored_at": at + timedelta(seconds=aid)})
        for start in range(0, len(scores), 20_000):
            conn.execute(insert(AssessmentScore), scores[start:start + 20_000])


@dataclass
class World:
    """One database at one shape: its URL, the campaigns launched (one per Sở) and the one measured."""

    url: str
    schools: int
    wards: int
    provinces: int
    campaigns: list[int]
    build_s: float = 0.0

    @property
    def main(self) -> int:
        return self.campaigns[0]

    def engine(self) -> Engine:
        return make_engine(self.url)


def national_world(url: str, schools: int, wards: int, provinces: int) -> World:
    """Build the national shape in the empty database at `url` (see the module's text)."""
    from dataclasses import replace

    from argon2 import PasswordHasher

    from cdsflow.calendars.model import ReminderPolicy
    from cdsflow.services.accounts import create_account, set_password_hasher
    from cdsflow.services.campaigns import launch_campaign
    from cdsflow.services.result_lines import rebuild as rebuild_result_lines
    from cdsflow.storage.db import UnitOfWork
    from tests.factories import calendar

    if not provinces <= wards <= schools:
        raise ValueError(f"cần số tỉnh ≤ số phường/xã ≤ số trường (được {provinces}, {wards}, {schools})")
    t = time.perf_counter()
    engine = make_engine(url)
    metadata.create_all(engine)
    sgd, ward, school = unit_rows(schools, wards, provinces)
    with Session(engine) as s:
        ids: dict[str, int] = {}
        for rows in (sgd, ward, school):
            _insert_units(s, rows, ids)
        s.commit()
    # The test calendar with the default reminder policy on every milestone, as real calendars have.
    cal = calendar()
    cal = replace(cal, milestones=tuple(replace(m, reminders=ReminderPolicy()) for m in cal.milestones))
    campaigns = []
    for row in sgd:  # each Sở launches its own campaign, one child per ward, through the product
        with UnitOfWork(engine) as uow:
            campaigns.append(launch_campaign(uow, issuer_code=row["code"], school_year="2024-2025",
                                             calendar=cal, spawn_children=True,
                                             now=datetime(2024, 12, 1, tzinfo=UTC)).campaign_id)
    _spread_results(engine)
    with Session(engine) as s:  # the list's result lines, as the scoring use-cases keep them
        rebuild_result_lines(s)
        s.commit()
    set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with UnitOfWork(engine) as uow:
        create_account(uow, username=OFFICER, full_name="Nguyễn Thị Chuyên Viên", role="officer",
                       password=PASSWORD, unit_code=sgd[0]["code"])
    if engine.dialect.name == "postgresql":
        # The planner's statistics, as autovacuum keeps them on a server in use: measured before its
        # first pass (a minute after the load), a view's plan depended on when the run got there.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return World(url, schools, wards, provinces, campaigns, time.perf_counter() - t)


# --- databases: SQLite files or PostgreSQL databases, one per world, copies for measures that write --


class Store:
    def __init__(self, kind: str, workdir: Path, pg_url: str | None = None) -> None:
        self.kind, self.workdir, self.pg_url = kind, workdir, pg_url

    def url(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.workdir / (name + '.db')}"
        return self.pg_url.rsplit("/", 1)[0] + "/" + name  # type: ignore[union-attr]

    def _admin(self, sql: str) -> None:
        admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
        with admin.connect() as conn:
            conn.execute(text(sql))
        admin.dispose()

    def new(self, name: str) -> str:
        if self.kind == "sqlite":
            Path(self.url(name)[len("sqlite:///"):]).unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
            self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy(self, world: World, name: str) -> World:
        """A copy of `world` (for a measure that writes), under `name`."""
        if self.kind == "sqlite":
            src = sqlite3.connect(world.url[len("sqlite:///"):])
            dst_path = self.url(name)[len("sqlite:///"):]
            Path(dst_path).unlink(missing_ok=True)
            dst = sqlite3.connect(dst_path)
            src.backup(dst)
            dst.close()
            src.close()
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{world.url.rsplit("/", 1)[1]}"')
        return World(self.url(name), world.schools, world.wards, world.provinces, world.campaigns)


# --- the table ---------------------------------------------------------------------------------


def vn(value: float, digits: int = 0) -> str:
    """A number as Vietnamese writes it: 13.284 and 1,5."""
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


@dataclass
class Row:
    measure: str
    product: float | None = None
    floor: float | None = None
    unit: str = "ms"
    target: float | None = None  # the largest ratio product/floor allowed
    bound: float | None = None  # or the largest product allowed, in `unit`; neither: reported only
    target_text: str = ""
    error: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.product is None or not self.floor:
            return None
        return self.product / self.floor

    def met(self) -> str:
        if self.target is not None:
            return "—" if self.ratio is None else "có" if self.ratio <= self.target else "không"
        if self.bound is not None:
            return "—" if self.product is None else "có" if self.product <= self.bound else "không"
        return "—"

    def cells(self) -> list[str]:
        def fig(v: float | None) -> str:
            return "—" if v is None else f"{vn(v, 0 if v >= 100 else 2)} {self.unit}"

        if self.error:
            return [self.measure, f"lỗi: {self.error}", "—", "—", self.target_text or "—", "—"]
        ratio = self.ratio
        return [self.measure + (f" ({self.note})" if self.note else ""), fig(self.product), fig(self.floor),
                "—" if ratio is None else f"{vn(ratio, 1)}×", self.target_text or "báo cáo", self.met()]


HEADER = ["Phép đo", "Sản phẩm", "Mức sàn (cùng lần chạy)", "Tỉ lệ", "Mục tiêu", "Đạt"]


def print_header() -> None:
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "|".join(" --- " for _ in HEADER) + "|", flush=True)


def print_row(row: Row) -> None:
    print("| " + " | ".join(row.cells()) + " |", flush=True)


def median_ms(fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


# --- the run's context: the worlds, built when a measure first needs them ------------------------


@dataclass
class Context:
    args: argparse.Namespace
    store: Store
    worlds: dict[str, World] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def world(self, which: str) -> World:
        """'big' (the wards asked) or 'small' (the same schools under --small-wards wards)."""
        if which in self.failed:
            raise RuntimeError(f"không dựng được dữ liệu: {self.failed[which]}")
        if which not in self.worlds:
            a = self.args
            wards = a.wards if which == "big" else min(a.small_wards, a.wards)
            try:
                w = national_world(self.store.new(f"national_{which}"), a.schools, wards, a.provinces)
            except Exception as err:
                self.failed[which] = f"{type(err).__name__}: {err}"
                raise
            print(f"(dữ liệu «{which}»: {vn(a.schools)} trường, {vn(wards)} phường/xã, {a.provinces} tỉnh, "
                  f"{vn(len(w.campaigns) + wards)} kế hoạch; dựng trong {vn(w.build_s, 1)} s)", file=sys.stderr, flush=True)
            self.worlds[which] = w
        return self.worlds[which]

    @property
    def repeat(self) -> int:
        return 3 if self.args.quick else 5


def _clear_figures(engine: Engine) -> None:
    # Stored figures would answer from the store: the measure is the computation they replace.
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM campaign_figures"))


def _view_call(name: str, engine: Engine, campaign_id: int) -> tuple[Callable[[], Any], Callable[[], Any] | None]:
    """(the service call a view makes, what to do before each call)."""
    from cdsflow.services.campaigns import campaign_status
    from cdsflow.services.listing import ListQuery, dashboard_figures, province_view, school_list
    from cdsflow.storage.db import UnitOfWork

    def with_uow(fn: Callable[[UnitOfWork], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with UnitOfWork(engine) as uow:
                return fn(uow)
        return call

    clear = lambda: _clear_figures(engine)  # noqa: E731
    calls: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]] = {
        "status": (with_uow(lambda u: campaign_status(u, campaign_id, now=NOW)), None),
        "dashboard": (with_uow(lambda u: dashboard_figures(u, campaign_id, now=NOW)), clear),
        # with_options=False as every door asks it (the ward filter is the picker, never 3,321 options).
        "late": (with_uow(lambda u: school_list(u.session, campaign_id, ListQuery(late=True), now=NOW,
                                                with_options=False)), None),
        "province": (with_uow(lambda u: province_view(u.session, campaign_id, now=NOW)), clear),
        "search": (with_uow(lambda u: school_list(u.session, campaign_id, ListQuery(q="Nguyễn Trãi"), now=NOW,
                                                  with_options=False)), None),
    }
    return calls[name]


VIEW_LABELS = {
    "status": "Tình trạng kế hoạch (campaign status)",
    "dashboard": "Bảng theo dõi (số liệu tính lại)",
    "late": "Danh sách chậm hạn, trang 1",
    "province": "Toàn tỉnh theo phường/xã (tính lại)",
    "search": "Tìm trường «Nguyễn Trãi»",
}


def measure_view(ctx: Context, name: str) -> list[Row]:
    big, small = ctx.world("big"), ctx.world("small")
    figures = []
    for w in (big, small):
        engine = w.engine()
        fn, before = _view_call(name, engine, w.main)
        fn()  # warm-up: connections, caches of the process
        figures.append(median_ms(fn, ctx.repeat, before))
        engine.dispose()
    return [Row(f"{VIEW_LABELS[name]}: {vn(big.wards)} so với {vn(small.wards)} phường/xã", figures[0], figures[1],
                target=2, target_text="≤ 2×")]


def _cli_status(ctx: Context, w: World) -> tuple[float, int]:
    """(median wall ms, lines printed) of `cdsflow campaign status` on the first Sở's campaign, as typed."""
    env = {**os.environ, "DATABASE_URL": w.url, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "cdsflow", "campaign", "status", str(w.main), "--at", f"{NOW:%Y-%m-%dT%H:%M:%S}"]
    times, lines = [], 0
    for _ in range(3):  # each run starts Python: a few seconds on a loaded 2-core machine
        t = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=ctx.store.workdir, capture_output=True, text=True, timeout=600)
        times.append((time.perf_counter() - t) * 1000)
        if done.returncode != 0:
            raise RuntimeError(f"cdsflow campaign status trả về {done.returncode}: {done.stderr.strip()[-200:]}")
        lines = len(done.stdout.splitlines())
    return statistics.median(times), lines


def measure_cli(ctx: Context) -> list[Row]:
    big, small = ctx.world("big"), ctx.world("small")
    (t_big, n_big), (t_small, n_small) = _cli_status(ctx, big), _cli_status(ctx, small)
    return [Row(f"Lệnh cdsflow campaign status (cả khởi động Python): {vn(big.wards)} so với {vn(small.wards)} phường/xã",
                t_big, t_small, target=2, target_text="≤ 2×", note=f"in {vn(n_big)} so với {vn(n_small)} dòng")]


# --- pages: p95 with 4 clients against `cdsflow serve --workers 2`, vs the DB time of their queries --


def page_paths(campaign_id: int) -> list[tuple[str, str]]:
    return [
        ("Trang kế hoạch (bảng theo dõi)", f"/campaigns/{campaign_id}"),
        ("API bảng theo dõi (JSON)", f"/api/campaigns/{campaign_id}"),
        ("Danh sách chậm hạn", f"/campaigns/{campaign_id}/schools?late=1"),
        ("Tìm kiếm «Nguyễn Trãi»", f"/campaigns/{campaign_id}/schools?q=Nguy%E1%BB%85n+Tr%C3%A3i"),
        ("Toàn tỉnh theo phường/xã", f"/campaigns/{campaign_id}/province"),
    ]


@contextmanager
def served(url: str, workers: int, cwd: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """The real `cdsflow serve` on a free port, stopped when the block ends."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    more = ["--workers", str(workers)] if workers > 1 else []
    server = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0", *more],
                              cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not found:
            raise RuntimeError(f"cdsflow serve không chạy: {line.strip() or server.stdout.read()[-300:]}")  # type: ignore[union-attr]
        base = found.group(0)
        _wait_ready(base)
        yield server, base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("cdsflow serve không trả lời /healthz sau 60 s")


def page_queries(engine: Engine, path: str) -> list[tuple[str, Any]]:
    """The SELECTs the app runs to answer `path` (logged in as the Sở's officer), captured in process."""
    from fastapi.testclient import TestClient

    from cdsflow.app.web.app import create_app

    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    client = TestClient(create_app(engine), raise_server_exceptions=True, follow_redirects=False)
    client.post("/api/login", json={"username": OFFICER, "password": PASSWORD}).raise_for_status()
    client.get(path).raise_for_status()  # warm-up: the app's own caches
    # The query a page needs is the one that computes its figures: a page answered from stored
    # figures must cost at most a few times what computing them costs in the database, not a few
    # times the read of the stored row (HTTP and the template alone are more than that).
    _clear_figures(engine)
    event.listen(engine, "before_cursor_execute", capture)
    try:
        client.get(path).raise_for_status()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return captured


def raw_ms(engine: Engine, queries: list[tuple[str, Any]], repeat: int) -> float:
    """The database's time for the same statements with the same parameters, through the raw driver."""
    raw = engine.raw_connection()
    try:
        def run() -> None:
            cur = raw.cursor()
            for sql, params in queries:
                cur.execute(sql, params)
                cur.fetchall()
            cur.close()
        run()
        return median_ms(run, repeat)
    finally:
        raw.close()


def shared_load(requests: int, concurrency: int, session: Callable[[], Any],
                limit: float | None = None) -> list[tuple[float, Any]]:
    """`concurrency` threads share `requests` calls: each opens `session()` (a context manager giving
    the call to time), warms up once, then takes calls until none is left or `limit` seconds have
    passed. Returns (ms, what the call returned) per call."""
    done: list[tuple[float, Any]] = []
    lock = threading.Lock()
    left = [requests]
    deadline = time.perf_counter() + (limit if limit is not None else float("inf"))

    def worker() -> None:
        with session() as call:
            call()  # warm-up, not counted
            while time.perf_counter() < deadline:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                t = time.perf_counter()
                out = call()
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    done.append((dt, out))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return done


def _p95_p50(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p95": ms[int(0.95 * (len(ms) - 1))], "p50": statistics.median(ms)}


def raw_load(engine: Engine, queries: list[tuple[str, Any]], requests: int, concurrency: int) -> dict[str, float]:
    """The same statements replayed through the raw driver by `concurrency` threads, each on its own
    connection, `requests` replays in all (after one warm-up each): p95 and median in ms. This is the
    page's database time under the load the page is measured with: four clients on two cores queue
    behind each other even when the page is nothing but its SQL, and that queueing is the floor's as
    much as the page's."""
    @contextmanager
    def session() -> Iterator[Callable[[], None]]:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()

            def run() -> None:
                for sql, params in queries:
                    cur.execute(sql, params)
                    cur.fetchall()
            yield run
        finally:
            raw.close()

    return _p95_p50([ms for ms, _ in shared_load(requests, concurrency, session)])


LOAD_LIMIT = 120.0  # seconds per page, whatever the count: a slow page still gets its row


def load(base: str, path: str, requests: int, concurrency: int) -> dict[str, Any]:
    """In a second process: one client alone first (15 requests: the page's own time), then
    `concurrency` clients, each logged in as the officer, share `requests` requests (after one
    warm-up each) within LOAD_LIMIT seconds; latencies in ms."""
    import httpx

    @contextmanager
    def session() -> Iterator[Callable[[], httpx.Response]]:
        with httpx.Client(base_url=base, timeout=120) as c:
            c.post("/api/login", json={"username": OFFICER, "password": PASSWORD}).raise_for_status()
            yield lambda: c.get(path)

    alone = [ms for ms, _ in shared_load(15, 1, session)]
    done = shared_load(requests, concurrency, session, LOAD_LIMIT)
    if not done:
        raise RuntimeError(f"không yêu cầu nào xong trong {LOAD_LIMIT:.0f} s")
    statuses: dict[int, int] = {}
    for _, r in done:
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    return {**_p95_p50([ms for ms, _ in done]), "statuses": statuses,
            "bytes": max(len(r.content) for _, r in done), "alone": statistics.median(alone)}


def measure_pages(ctx: Context) -> list[Row]:
    big = ctx.world("big")
    engine = big.engine()
    rows = []
    floors = {}
    alone = {}
    for _, path in page_paths(big.main):
        try:
            queries = page_queries(engine, path)
            alone[path] = raw_ms(engine, queries, ctx.repeat)
            floors[path] = raw_load(engine, queries, ctx.args.requests, 4)["p95"]
        except Exception as err:  # the page's own row says so; the others go on
            floors[path] = err
    engine.dispose()
    with ProcessPoolExecutor(max_workers=1) as pool, served(big.url, 2, ctx.store.workdir) as (_, base):
        for label, path in page_paths(big.main):
            # Issue 24 sets the pages' target on PostgreSQL; on SQLite the same rows are reported.
            on_pg = ctx.args.db == "postgresql"
            row = Row(f"{label}: p95, 4 luồng, serve --workers 2, {vn(big.wards)} phường/xã",
                      target=3 if on_pg else None,
                      target_text="≤ 3× thời gian CSDL cùng tải" if on_pg else "báo cáo (mục tiêu ≤ 3× đặt cho PostgreSQL)")
            try:
                r = pool.submit(load, base, path, ctx.args.requests, 4).result()
                if set(r["statuses"]) != {200}:
                    raise RuntimeError(f"mã trả về {r['statuses']}")
                if isinstance(floors[path], Exception):
                    raise floors[path]
                row.product, row.floor = r["p95"], floors[path]
                row.note = (f"trang {vn(r['bytes'] / 1024)} KB; một luồng: trang {vn(r['alone'], 1)} ms, "
                            f"CSDL {vn(alone[path], 1)} ms")
            except Exception as err:
                row.error = _describe(err)
            rows.append(row)
    return rows


# --- the day's reminder fan-out vs a plain insert of the same outbox rows ------------------------


def _outbox_rows(engine: Engine) -> list[dict[str, Any]]:
    from cdsflow.storage.notifications_tables import OutboxMessage

    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [{k: v for k, v in r._mapping.items() if k != "id"} for r in conn.execute(select(table))]


def plain_insert_ms(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> float:
    """Delete `rows`' table content, then time inserting them back with one executemany (the floor)."""
    with engine.begin() as conn:
        conn.execute(delete(table))
    t = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(table), rows[start:start + 10_000])
    return (time.perf_counter() - t) * 1000


# The to-trinh milestone is due Monday 31/3/2025: its "3 working days before" reminder falls on 26/3.
FANOUT_DAY = datetime(2025, 3, 26, 18, 0, tzinfo=VN)


def measure_fanout(ctx: Context) -> list[Row]:
    from cdsflow.scheduler.ticker import run_due_reminders
    from cdsflow.storage.notifications_tables import OutboxMessage

    w = ctx.store.copy(ctx.world("big"), "national_fanout")
    engine = w.engine()
    run_due_reminders(engine, FANOUT_DAY - timedelta(days=1))  # earlier points, not measured
    with engine.begin() as conn:
        conn.execute(delete(OutboxMessage.__table__))  # type: ignore[attr-defined]
    t = time.perf_counter()
    result = run_due_reminders(engine, FANOUT_DAY)
    product = (time.perf_counter() - t) * 1000
    rows = _outbox_rows(engine)
    if not rows:
        raise RuntimeError(f"không có thư nhắc nào đến hạn ngày {FANOUT_DAY:%d/%m/%Y}")
    floor = plain_insert_ms(engine, OutboxMessage.__table__, rows)  # type: ignore[attr-defined]
    engine.dispose()
    return [Row(f"Nhắc hạn trong ngày: {vn(result.written)} thư, {vn(len(result.ran))} lượt, {vn(w.wards)} phường/xã",
                product, floor, target=3, target_text="≤ 3× chèn thẳng")]


# --- a tick with nothing due: 3,321 vs 136 campaigns ---------------------------------------------

QUIET_DAY = datetime(2024, 12, 10, 9, 0, tzinfo=VN)  # launched, first reminder weeks away


def _tick_in_fresh_process(url: str) -> tuple[float, float, int]:
    """(first tick ms, next tick ms, points run) in this (fresh) process: the first one computes every point."""
    from cdsflow.scheduler.ticker import run_due_reminders

    engine = make_engine(url)
    t = time.perf_counter()
    first = run_due_reminders(engine, QUIET_DAY)
    cold = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    run_due_reminders(engine, QUIET_DAY + timedelta(seconds=30))
    warm = (time.perf_counter() - t) * 1000
    engine.dispose()
    return cold, warm, len(first.ran) + len(first.too_late)


def measure_tick(ctx: Context) -> list[Row]:
    figures = []
    for which in ("big", "small"):
        w = ctx.world(which)
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            figures.append(pool.submit(_tick_in_fresh_process, w.url).result())
    (cold, warm, due), (cold_s, warm_s, _) = figures
    big, small = ctx.worlds["big"], ctx.worlds["small"]
    n_big, n_small = len(big.campaigns) + big.wards, len(small.campaigns) + small.wards
    label = f"{vn(n_big)} so với {vn(n_small)} kế hoạch"
    rows = [Row(f"Lượt quét không có gì đến hạn, lần đầu: {label}", cold, cold_s, target=2, target_text="≤ 2×"),
            Row(f"Lượt quét không có gì đến hạn, các lần sau: {label}", warm, warm_s, target=2, target_text="≤ 2×")]
    if due:
        rows[0].note = f"{due} lượt đến hạn"
    return rows


# --- bulk accounts: the longest wait of another writer, and the total vs a plain insert ------------


class WriterProbe:
    """Another writer (as a web request would be) committing one tiny row every 20 ms on its own
    connection; `worst` is its longest wait while the bulk step runs."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_probe (at FLOAT)"))
        self.worst, self._stop = 0.0, threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            with self.engine.begin() as conn:
                conn.execute(text("INSERT INTO bench_probe VALUES (:at)"), {"at": t0})
            self.worst = max(self.worst, time.perf_counter() - t0)
            time.sleep(0.02)

    def __enter__(self) -> WriterProbe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


def _ids(engine: Engine, tables: list[Any]) -> list[set[Any]]:
    # Sets, not a largest id: a set-password token's key is its hash (text).
    with engine.connect() as conn:
        return [set(conn.scalars(select(t.c.id))) for t in tables]


def measure_accounts(ctx: Context) -> list[Row]:
    from cdsflow.app import wiring
    from cdsflow.services.school_accounts import create_school_accounts
    from cdsflow.storage.db import UnitOfWork
    from cdsflow.storage.notifications_tables import OutboxMessage
    from cdsflow.storage.web_tables import Account, PasswordToken

    wiring.install()  # the set-password mails are written by the event's handler, as in the CLI and web
    w = ctx.store.copy(ctx.world("big"), "national_accounts")
    engine = w.engine()
    tables = [m.__table__ for m in (Account, PasswordToken, OutboxMessage)]  # in foreign-key order
    before = _ids(engine, tables)
    created = 0
    t = time.perf_counter()
    with WriterProbe(w.url) as probe:
        for cid in w.campaigns:  # every Sở creates its schools' accounts
            with UnitOfWork(engine) as uow:
                created += len(create_school_accounts(uow, cid, base_url="http://127.0.0.1:8000").created)
    product = time.perf_counter() - t
    # The floor: the same rows (accounts, set-password tokens, mails) deleted, then inserted back plainly.
    with engine.connect() as conn:
        rows = [[dict(r._mapping) for r in conn.execute(select(tb)) if r.id not in b]
                for tb, b in zip(tables, before, strict=True)]
    with engine.begin() as conn:
        for tb, part in reversed(list(zip(tables, rows, strict=True))):
            ids = [r["id"] for r in part]
            for start in range(0, len(ids), 10_000):
                conn.execute(delete(tb).where(tb.c.id.in_(ids[start:start + 10_000])))
    t = time.perf_counter()
    with engine.begin() as conn:
        for tb, part in zip(tables, rows, strict=True):
            for start in range(0, len(part), 10_000):
                conn.execute(insert(tb), part[start:start + 10_000])
    floor = time.perf_counter() - t
    engine.dispose()
    what = " + ".join(f"{vn(len(r))} {n}" for r, n in zip(rows, ("tài khoản", "mã đặt mật khẩu", "thư"), strict=True))
    return [Row(f"Tài khoản hàng loạt ({vn(created)} tài khoản): chờ lâu nhất của một lượt ghi khác", probe.worst,
                None, "s", bound=1, target_text="≤ 1 s"),
            Row(f"Tài khoản hàng loạt: tổng thời gian so với chèn thẳng {what}", product, floor, "s")]


# --- relative vs fixed deadlines for the same schools ---------------------------------------------


def measure_relative(ctx: Context) -> list[Row]:
    """Every Sở's campaign status once (the whole country's schools), with fixed deadlines only and then
    with a relative one added, a tenth of the schools returned for supplement in both."""
    from cdsflow.calendars.model import RelativeRule
    from cdsflow.services.campaigns import campaign_status
    from cdsflow.storage.db import UnitOfWork
    from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CampaignMilestone

    w = ctx.store.copy(ctx.world("big"), "national_relative")
    engine = w.engine()
    with Session(engine) as s:  # benchmark data, in bulk
        ids = list(s.scalars(select(Assessment.id).order_by(Assessment.id)))
        every = list(s.scalars(select(Campaign.id)))
    returned = ids[::10]
    with engine.begin() as conn:
        for start in range(0, len(returned), 10_000):
            part = returned[start:start + 10_000]
            conn.execute(Assessment.__table__.update().where(Assessment.id.in_(part)).values(state="self_assessment"))
        conn.execute(insert(AssessmentEvent), [
            {"assessment_id": aid, "at": NOW - timedelta(days=3 + aid % 7), "actor": "x",
             "trigger": "return_for_supplement", "from_state": "external_review", "to_state": "self_assessment"}
            for aid in returned])

    def status() -> None:
        for cid in w.campaigns:
            with UnitOfWork(engine) as uow:
                campaign_status(uow, cid, now=NOW)

    status()
    fixed = median_ms(status, ctx.repeat)
    # The same calendar plus "resend within 5 working days of a return", on every campaign (the row
    # launch_campaign writes for such a milestone, inserted here in bulk).
    with engine.begin() as conn:
        conn.execute(insert(CampaignMilestone), [
            {"campaign_id": cid, "position": 9, "key": "nop-lai", "title": "Gửi lại trong 5 ngày làm việc sau khi bị trả",
             "actor": "school", "stage": "proposal", "due_at": None, "counts": "last", "documents": [],
             "reminders": {}, "relative": RelativeRule(5, event="returned").to_dict()} for cid in every])
    status()
    relative = median_ms(status, ctx.repeat)
    engine.dispose()
    return [Row(f"Hạn tương đối so với hạn cố định: tình trạng {len(w.campaigns)} kế hoạch của Sở ({vn(len(ids))} trường, "
                f"{vn(len(returned))} bị trả)", relative, fixed, target=3, target_text="≤ 3×")]


# --- memory: serve and worker RSS --------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            out += _tree(int(kid))
    return out


def _rss_peak_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the process and its children, summed, from /proc (no psutil here)."""
    total = 0
    for p in _tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) if found else 0
    return total / 1024


def _serve_rss(ctx: Context, w: World) -> float:
    import httpx

    with served(w.url, 2, ctx.store.workdir) as (server, base):
        # Both workers should answer: several clients, each page a few times.
        def visit() -> None:
            with httpx.Client(base_url=base, timeout=120) as c:
                c.post("/api/login", json={"username": OFFICER, "password": PASSWORD}).raise_for_status()
                for _ in range(2):
                    for _, path in page_paths(w.main):
                        c.get(path).raise_for_status()
        threads = [threading.Thread(target=visit) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return _rss_peak_mb(server.pid)


WORKER_WRAP = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _worker_rss(ctx: Context, w: World, name: str) -> float:
    copy = ctx.store.copy(w, name)
    env = {**os.environ, "DATABASE_URL": copy.url, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", WORKER_WRAP, sys.executable, "-m", "cdsflow", "worker", "--once",
                          "--no-sink"], env=env, cwd=ctx.store.workdir, capture_output=True, text=True, timeout=1800)
    code, kb = out.stdout.split()[-2:]
    if code != "0":
        raise RuntimeError(f"cdsflow worker --once trả về {code}")
    return int(kb) / 1024


def measure_rss(ctx: Context) -> list[Row]:
    big, small = ctx.world("big"), ctx.world("small")
    rows = []
    for label, fn in (("cdsflow serve --workers 2 (tổng các tiến trình, sau khi mở các trang)", _serve_rss),
                      ("cdsflow worker --once", None)):
        row = Row(f"Bộ nhớ (RSS đỉnh) {label}: {vn(big.wards)} so với {vn(small.wards)} phường/xã", unit="MB")
        try:
            if fn is not None:
                row.product, row.floor = fn(ctx, big), fn(ctx, small)
            else:
                row.product, row.floor = _worker_rss(ctx, big, "national_w_big"), _worker_rss(ctx, small, "national_w_small")
        except Exception as err:
            row.error = _describe(err)
        rows.append(row)
    return rows


# --- the run -----------------------------------------------------------------------------------

MEASURES: dict[str, Callable[[Context], list[Row]]] = {
    "status": lambda c: measure_view(c, "status"),
    "dashboard": lambda c: measure_view(c, "dashboard"),
    "late": lambda c: measure_view(c, "late"),
    "province": lambda c: measure_view(c, "province"),
    "search": lambda c: measure_view(c, "search"),
    "cli": measure_cli,
    "pages": measure_pages,
    "fanout": measure_fanout,
    "tick": measure_tick,
    "accounts": measure_accounts,
    "relative": measure_relative,
    "rss": measure_rss,
}
LABELS = {**VIEW_LABELS, "cli": "Lệnh cdsflow campaign status",
          "pages": "Các trang qua HTTP", "fanout": "Nhắc hạn trong ngày", "tick": "Lượt quét",
          "accounts": "Tài khoản hàng loạt", "relative": "Hạn tương đối", "rss": "Bộ nhớ"}


def _describe(err: BaseException) -> str:
    text_ = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text_}"[:200]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Bảng đo ở quy mô toàn quốc (issue 24).")
    ap.add_argument("--schools", type=int, default=54_000, help="số trường (mặc định 54.000)")
    ap.add_argument("--wards", type=int, default=3_321, help="số phường/xã (mặc định 3.321)")
    ap.add_argument("--provinces", type=int, default=34, help="số tỉnh/thành (mặc định 34)")
    ap.add_argument("--small-wards", type=int, default=BUREAUS,
                    help="số phường/xã của dữ liệu so sánh, cùng số trường (mặc định 136)")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--only", default="", help=f"chỉ các phép đo này, cách nhau bởi dấu phẩy: {', '.join(MEASURES)}")
    ap.add_argument("--requests", type=int, default=100, help="số yêu cầu mỗi trang khi đo qua HTTP")
    ap.add_argument("--quick", action="store_true", help="quy mô nhỏ (600 trường, 40 phường/xã, 4 tỉnh): chạy thử")
    args = ap.parse_args(argv)
    if args.quick:
        args.schools, args.wards, args.provinces, args.small_wards = 600, 40, 4, 8
        args.requests = min(args.requests, 20)
    unknown = [n for n in args.only.split(",") if n and n not in MEASURES]
    if unknown:
        ap.error(f"phép đo không có: {', '.join(unknown)} (có: {', '.join(MEASURES)})")
    return args


def _postgres_url() -> str | None:
    url = os.environ.get("CDSFLOW_BENCH_PG") or os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    script = ROOT / "scripts" / "with-postgres.sh"
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        raise SystemExit("Không có PostgreSQL: đặt CDSFLOW_BENCH_PG=postgresql+psycopg://… hoặc cài PostgreSQL")
    # A throw-away server for this run: the script sets TEST_DATABASE_URL and runs us again.
    os.execvp("bash", ["bash", str(script), sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])
    return None


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    pg_url = _postgres_url() if args.db == "postgresql" else None
    names = [n for n in args.only.split(",") if n] or list(MEASURES)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cdsflow-national-") as tmp:
        ctx = Context(args, Store(args.db, Path(tmp), pg_url))
        print(f"Quy mô: {vn(args.schools)} trường, {vn(args.wards)} phường/xã (so với {vn(min(args.small_wards, args.wards))}), "
              f"{args.provinces} tỉnh; CSDL {args.db}; {os.cpu_count()} lõi, tải 1 phút {vn(os.getloadavg()[0], 1)}; "
              f"{date.today():%d/%m/%Y}", flush=True)
        print_header()
        for name in names:
            try:
                rows = MEASURES[name](ctx)
            except Exception as err:
                traceback.print_exc(file=sys.stderr)
                rows = [Row(LABELS[name], error=_describe(err))]
            for row in rows:
                print_row(row)
        if args.db == "sqlite":
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Thời gian chạy: {vn(time.perf_counter() - started)} s; tải 1 phút lúc kết thúc {vn(os.getloadavg()[0], 1)}",
          flush=True)


if __name__ == "__main__":
    main()
