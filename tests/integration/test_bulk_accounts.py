"""A province's school accounts never stop the world (issue 24, item 5): the step runs in short
chunks, each its own commit; a crash mid-run, then the same step again, gives every account
exactly once with exactly one link and mail; the CLI prints a bounded summary with one row per
school in a workbook; the web shows the run's progress and its summary; another writer is
never kept waiting past a 1 s busy timeout while it runs."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select, text

from cdsflow.app import wiring
from cdsflow.app.web import routes_accounts
from cdsflow.services import bulk
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.school_accounts import CREATED, create_school_accounts, school_count
from cdsflow.services.units import import_units
from cdsflow.storage.bulk_tables import BulkItem, BulkRun
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Campaign
from cdsflow.storage.web_tables import Account, PasswordToken
from tests.e2e.cli import ROOT, Cli
from tests.factories import calendar, unit_rows
from tests.web_support import build_world

NO_ADDRESS = 30  # schools the unit list gives no address: more than the summary names


def _province(tmp_path, per_bureau: int = 30) -> tuple[str, int, int]:
    """A Sở with two wards of `per_bureau` schools each (the first NO_ADDRESS without an address),
    launched with a campaign per ward: (database url, the Sở's campaign id, schools)."""
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    rows = unit_rows(n_schools_per_bureau=per_bureau, bureaus=2)
    schools = [r for _, r in rows if r["kind"] == "Trường"]
    for r in schools[:NO_ADDRESS]:
        r["emails"] = ""
    with UnitOfWork(engine) as uow:
        import_units(uow, rows)
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(), spawn_children=True)
    with UnitOfWork(engine) as uow:
        campaign_id = uow.session.scalar(select(Campaign.id).where(Campaign.parent_id.is_(None)))
        count = school_count(uow, campaign_id)  # the wards' schools (not those the Sở supervises itself)
    engine.dispose()
    return url, campaign_id, count


def _exactly_once(engine, schools: int) -> None:
    """Two accounts per school with an address, each with one link and one mail; one details line per school."""
    with UnitOfWork(engine) as uow:
        s = uow.session
        accounts = s.scalar(select(func.count()).select_from(Account).where(Account.username.like("%.hieutruong")
                                                                           | Account.username.like("%.thuky")))
        assert accounts == 2 * (schools - NO_ADDRESS)
        assert s.scalar(select(func.count()).select_from(PasswordToken)) == accounts
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == accounts
        per_account = s.execute(select(PasswordToken.account_id, func.count()).group_by(PasswordToken.account_id)
                                .having(func.count() > 1)).all()
        assert per_account == []
        run = s.execute(select(BulkRun).where(BulkRun.kind == "school_accounts").order_by(BulkRun.id.desc())).scalars().first()
        assert run.status == bulk.DONE and run.done == run.total == schools
        assert bulk.counts_of(run)[CREATED] == accounts
        keys = s.scalars(select(BulkItem.key).where(BulkItem.run_id == run.id)).all()
        assert len(keys) == len(set(keys)) == schools


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 7)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 7)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)


def test_a_failure_after_chunk_3_then_the_same_step_again_makes_every_account_once(tmp_path, monkeypatch,
                                                                                    small_chunks):
    wiring.install()
    url, campaign_id, schools = _province(tmp_path)
    engine = make_engine(url)

    def crash(n: int) -> None:
        if n == 3:
            raise RuntimeError("mất điện")

    monkeypatch.setattr(bulk, "after_chunk", crash)
    with pytest.raises(RuntimeError), UnitOfWork(engine) as uow:
        create_school_accounts(uow, campaign_id, base_url="https://cds.example.vn")
    with UnitOfWork(engine) as uow:
        run = uow.session.scalars(select(BulkRun).where(BulkRun.kind == "school_accounts")).one()
        assert (run.status, run.done, run.total) == (bulk.FAILED, 21, schools) and "mất điện" in run.error
        # Three chunks committed, whole: their schools' accounts are there with their links.
        assert uow.session.scalar(select(func.count()).select_from(BulkItem)) == 21
    monkeypatch.setattr(bulk, "after_chunk", None)
    with UnitOfWork(engine) as uow:
        report = create_school_accounts(uow, campaign_id, base_url="https://cds.example.vn")
    assert report.run_id == run.id and report.resumed == 21
    _exactly_once(engine, schools)
    # Once done, the step again is a new run that makes nothing.
    with UnitOfWork(engine) as uow:
        again = create_school_accounts(uow, campaign_id, base_url="https://cds.example.vn")
    assert again.run_id != run.id and again.accounts_created == 0 and again.links_queued == 0
    engine.dispose()


KILLED = """
import os
from cdsflow.app import wiring
from cdsflow.services import bulk
from cdsflow.services.school_accounts import create_school_accounts
bulk.FIRST_CHUNK = bulk.MAX_CHUNK = 5
bulk.after_chunk = lambda n: os._exit(9) if n == 2 else None  # killed: no cleanup, no rollback handler
wiring.install()
with wiring.uow() as uow:
    create_school_accounts(uow, {campaign_id})
"""


def test_a_killed_run_is_resumed_by_the_cli_with_a_bounded_summary_and_one_row_per_school(tmp_path):
    url, campaign_id, schools = _province(tmp_path, per_bureau=40)
    cli = Cli(tmp_path, url)
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED.format(campaign_id=campaign_id))],
                            cwd=ROOT, env=cli.env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:
        run = uow.session.scalars(select(BulkRun).where(BulkRun.kind == "school_accounts")).one()
        assert (run.status, run.done) == (bulk.RUNNING, 10)  # left running by a process that is gone
    out = cli("accounts", "schools", str(campaign_id)).stdout
    assert f"Tiếp tục lần chạy số {run.id} đã dừng giữa chừng: 10 trường đã xong từ trước." in out
    assert f"Đã tạo {2 * (schools - NO_ADDRESS)} tài khoản" in out
    assert f"{NO_ADDRESS} trường chưa có địa chỉ thư" in out and f"… và {NO_ADDRESS - 20} trường khác" in out
    assert len(out.splitlines()) <= 200 and "hieutruong" not in out  # a summary, not a line per account
    _exactly_once(engine, schools)
    book = load_workbook(tmp_path / f"tai-khoan-truong-ke-hoach-{campaign_id}.xlsx").active
    rows = list(book.iter_rows(min_row=3, values_only=True))
    assert len(rows) == schools and len({r[1] for r in rows}) == schools  # one row per school
    by_code = {r[1]: r for r in rows}
    assert by_code["P1S1"][3] == "Chưa có địa chỉ thư trong danh sách đơn vị: chưa tạo"
    assert by_code["P2S40"][3] == "Đã tạo tài khoản"
    assert by_code["P2S40"][4] == "p2s40.hieutruong → p2s40@hanoi.edu.vn; p2s40.thuky → p2s40@hanoi.edu.vn"
    engine.dispose()


def test_the_web_runs_a_big_campaign_behind_its_progress_page(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    monkeypatch.setattr(routes_accounts, "INLINE_SCHOOLS", 0)  # this small campaign as a big one runs
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 1)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 1)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(bulk, "after_chunk", lambda n: (_ for _ in ()).throw(RuntimeError("máy chủ khởi động lại"))
                        if n == 2 else None)
    admin = world.client("admin")
    token = admin.headers.pop("X-CSRF-Token")
    form = {"csrf_token": token, "campaign_id": world.campaign_id, "confirm": "1"}
    started = admin.post("/accounts/schools", data=form)
    assert started.status_code == 303 and started.headers["location"] == f"/accounts/schools/{world.campaign_id}/run"
    page = admin.get(started.headers["location"])
    total = page.text.split("đã xong 2/")[1].split(" ")[0]
    assert page.status_code == 200 and "dừng vì lỗi" in page.text and "máy chủ khởi động lại" in page.text
    assert '<progress max="' + total + '" value="2">' in page.text and "Chạy tiếp" in page.text
    monkeypatch.setattr(bulk, "after_chunk", None)
    again = admin.post("/accounts/schools", data=form)
    page = admin.get(again.headers["location"])
    assert f"đã xong {total}/{total} trường" in page.text and "đã xong</strong>" in page.text
    assert "Chạy tiếp" not in page.text and 'http-equiv="refresh"' not in page.text
    with UnitOfWork(engine) as uow:
        made = uow.session.scalar(select(func.count()).select_from(Account).where(Account.username.like("%.thuky")))
        run_id = uow.session.scalar(select(func.max(BulkRun.id)).where(BulkRun.kind == "school_accounts"))
    assert f"Đã tạo {made * 2} tài khoản" in page.text
    sheet = admin.get(f"/accounts/schools/runs/{run_id}.xlsx")
    assert sheet.status_code == 200
    (tmp_path / "d.xlsx").write_bytes(sheet.content)
    rows = list(load_workbook(tmp_path / "d.xlsx").active.iter_rows(min_row=3, values_only=True))
    assert len(rows) == int(total) and all(r[3] == "Đã tạo tài khoản" for r in rows)
    # Someone else's run page in progress: it refreshes itself.
    with UnitOfWork(engine) as uow:
        uow.session.add(BulkRun(kind="school_accounts", subject=f"campaign:{world.campaign_id}", title="Đang chạy",
                                total=10, done=3, started_at=datetime.now(UTC), beat_at=datetime.now(UTC),
                                owner="may-khac:1"))
        uow.commit()
    page = admin.get(f"/accounts/schools/{world.campaign_id}/run")
    assert "đang chạy" in page.text and 'http-equiv="refresh"' in page.text and "Chạy tiếp" not in page.text
    busy = admin.post("/accounts/schools", data=form)
    assert busy.status_code == 422 and "đang được chạy" in busy.text
    engine.dispose()


def test_another_writer_never_waits_past_a_one_second_busy_timeout_while_the_accounts_run(tmp_path, monkeypatch):
    wiring.install()
    url, campaign_id, schools = _province(tmp_path, per_bureau=150)
    monkeypatch.setattr(bulk, "CHUNK_SECONDS", 0.05)  # several chunks from a test-sized province
    writer_engine = make_engine(url)

    @event.listens_for(writer_engine, "connect")
    def _short_wait(dbapi_conn, _record) -> None:  # after the product's pragmas: a web write gives up after 1 s
        dbapi_conn.execute("PRAGMA busy_timeout=1000")

    stop = threading.Event()
    seen: list[int] = []
    errors: list[Exception] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                with UnitOfWork(writer_engine) as uow:
                    uow.session.execute(text("INSERT INTO web_login_throttle (key, tries, window_start, last_client) "
                                             "VALUES (:k, 1, :w, '')"),
                                        {"k": f"addr:{n}", "w": datetime.now(UTC).replace(tzinfo=None)})
                    seen.append(uow.session.scalar(select(func.coalesce(func.max(BulkRun.done), -1))
                                                   .where(BulkRun.kind == "school_accounts")))
                    uow.commit()
            except Exception as err:  # noqa: BLE001 - the test is that there is none
                errors.append(err)
            stop.wait(0.02)

    engine = make_engine(url)
    thread = threading.Thread(target=write)
    thread.start()
    try:
        with UnitOfWork(engine) as uow:
            create_school_accounts(uow, campaign_id, base_url="https://cds.example.vn")
    finally:
        stop.set()
        thread.join()
    assert errors == []  # never "database is locked"
    assert any(0 < done < schools for done in seen)  # and it wrote between the chunks, not only before or after
    _exactly_once(engine, schools)
    engine.dispose()
    writer_engine.dispose()
