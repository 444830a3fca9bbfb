"""A database refusal reaches the web as the kernel's storage error: the unit of work translates it,
the page and the API say it in Vietnamese with the status of old (409 clash, 503 busy)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from cdsflow.app.web import actions
from cdsflow.kernel.errors import StorageConflict, StorageUnavailable
from cdsflow.notifications.dbretry import describe, is_transient
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Unit
from tests.web_support import build_world


def test_the_unit_of_work_says_a_clash_as_a_kernel_error(engine):
    with UnitOfWork(engine) as uow:
        uow.session.execute(insert(Unit).values(code="TH-A", name="Trường A", kind="school", short_code="X"))
        uow.commit()
    with pytest.raises(StorageConflict) as err, UnitOfWork(engine) as uow:
        uow.session.execute(insert(Unit).values(code="TH-A", name="Trường A lần hai", kind="school", short_code="X"))
    assert err.value.message.startswith("Dữ liệu trùng") and "mã" in err.value.message
    assert isinstance(err.value.__cause__, IntegrityError)
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(func.count()).where(Unit.code == "TH-A")) == 1


def _clash_while_listing(monkeypatch):
    """A race the use-case did not foresee: another unit P1 is written while the list is read."""
    def clashing(uow, **_):
        uow.session.execute(insert(Unit).values(code="P1", name="Phòng trùng", kind="bureau", short_code="PT"))
        return []

    monkeypatch.setattr(actions.campaign_svc, "list_campaigns", clashing)


def test_a_clash_reads_as_409_on_the_page_and_in_the_api(sqlite_engine, tmp_path, monkeypatch):
    world = build_world(sqlite_engine, tmp_path)
    officer = world.client("officer")
    _clash_while_listing(monkeypatch)

    r = officer.get("/api/campaigns")
    assert r.status_code == 409, r.text
    assert r.json()["error"].startswith("Dữ liệu trùng (mã)")
    assert r.json()["error"].endswith("Dữ liệu của bạn không bị thay đổi.")

    page = officer.get("/campaigns")
    assert page.status_code == 409 and "Dữ liệu trùng (mã)" in page.text and "Traceback" not in page.text
    with UnitOfWork(sqlite_engine) as uow:  # nothing was written
        assert uow.session.scalar(select(func.count()).where(Unit.code == "P1")) == 1


def test_a_busy_database_reads_as_503(sqlite_engine, tmp_path, monkeypatch):
    world = build_world(sqlite_engine, tmp_path)
    officer = world.client("officer")

    def busy(uow, **_):
        raise OperationalError("UPDATE campaign", {}, Exception("database is locked"))

    monkeypatch.setattr(actions.campaign_svc, "list_campaigns", busy)
    r = officer.get("/api/campaigns")
    assert r.status_code == 503
    assert r.json()["error"].startswith("Cơ sở dữ liệu đang bận")


def test_storage_errors_are_kernel_errors_with_the_cli_exit_code():
    assert StorageConflict("x").exit_code == StorageUnavailable("x").exit_code == 7


def test_a_lock_leaving_a_unit_of_work_is_still_waited_out_by_the_worker(sqlite_engine):
    with pytest.raises(StorageUnavailable) as err, UnitOfWork(sqlite_engine):
        raise OperationalError("UPDATE outbox_message", {}, Exception("database is locked"))
    assert is_transient(err.value) and describe(err.value) == "Exception: database is locked"
