"""A bulk paper run in chunks (issue 24, item 5): a failure after chunk 2, then the same run again,
numbers every school's paper exactly once (no number taken twice, none lost), writes every file
with the hash the register keeps, and lists the skipped schools once; the web numbers a big
campaign behind a progress page."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cdsflow.app.web import documents
from cdsflow.kernel.stages import Stage
from cdsflow.services import bulk
from cdsflow.services import papers as service
from cdsflow.storage.bulk_tables import BulkRun
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.schema import metadata
from tests.papers_world import launch, walk
from tests.web_support import build_world

FORMED = ("P1S1", "P1S2", "P1S3", "P1S4", "P1S5")


def test_a_paper_run_failed_after_chunk_2_is_finished_by_the_same_run_numbering_each_school_once(
        sqlite_engine, tmp_path, monkeypatch):
    engine = sqlite_engine
    w = launch(engine, schools=6)
    for code in FORMED:
        walk(engine, w, code, Stage.COMMITTEE_FORMED)
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 2)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 2)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(bulk, "after_chunk", lambda n: (_ for _ in ()).throw(RuntimeError("mất điện"))
                        if n == 2 else None)
    out = tmp_path / "van-ban"
    with pytest.raises(RuntimeError):
        service.generate_for_campaign(engine, "qd_hoi_dong", w.campaign_id, out, workers=1,
                                      issued_on=date(2024, 11, 5))
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(GeneratedDocument)) > 0  # chunks 1–2 kept
        assert uow.session.scalars(select(BulkRun.status).where(BulkRun.kind == "papers")).all() == [bulk.FAILED]
    monkeypatch.setattr(bulk, "after_chunk", None)
    result = service.generate_for_campaign(engine, "qd_hoi_dong", w.campaign_id, out, workers=1,
                                           issued_on=date(2024, 11, 5))
    with UnitOfWork(engine) as uow:
        docs = uow.session.execute(select(GeneratedDocument).order_by(GeneratedDocument.id)).scalars().all()
        assert uow.session.scalars(select(BulkRun.status).where(BulkRun.kind == "papers")).all() == [bulk.DONE]
    assert sorted(d.school_id for d in docs) == sorted({d.school_id for d in docs}) and len(docs) == len(FORMED)
    assert all(d.number == 1 for d in docs)  # each school's own series: first paper, number 1, never 2
    assert len(result.paths) == len(FORMED) and {p.name.split("-")[0] for p in result.paths} == \
           set(FORMED)
    by_id = {d.id: d for d in docs}
    for path in result.paths:
        doc = by_id[int(path.stem.rsplit("-", 1)[1])]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == doc.content_sha256
    skipped = [c for c, _ in result.skipped]
    assert sorted(skipped) == sorted(set(skipped)) and "P1S6" in skipped  # listed once, not per attempt


def test_the_web_numbers_a_big_campaign_behind_its_progress_page(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    monkeypatch.setattr(documents, "INLINE_SCHOOLS", 0)  # this small campaign as a big one runs
    monkeypatch.setattr(bulk, "FIRST_CHUNK", 1)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 1)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(bulk, "after_chunk", lambda n: (_ for _ in ()).throw(RuntimeError("máy chủ khởi động lại"))
                        if n == 2 else None)
    officer = world.client("officer")
    form = {"csrf_token": officer.headers.pop("X-CSRF-Token"), "doc_type": "qd_hoi_dong"}
    started = officer.post(f"/campaigns/{world.campaign_id}/documents", data=form)
    run_page = f"/campaigns/{world.campaign_id}/documents/qd_hoi_dong/run"
    assert started.status_code == 303 and started.headers["location"] == run_page
    page = officer.get(run_page).text
    total = page.split("đã xét 2/")[1].split(" ")[0]
    assert "dừng vì lỗi" in page and "máy chủ khởi động lại" in page and "Chạy tiếp" in page
    assert "Bỏ qua 2 trường chưa đủ điều kiện" in page  # no committee yet: said per school
    monkeypatch.setattr(bulk, "after_chunk", None)
    officer.post(f"/campaigns/{world.campaign_id}/documents", data=form)
    page = officer.get(run_page).text
    assert f"đã xét {total}/{total} trường" in page and f"Bỏ qua {total} trường" in page and "Chạy tiếp" not in page
    sheet = officer.get(run_page + ".xlsx")
    (tmp_path / "d.xlsx").write_bytes(sheet.content)
    rows = list(load_workbook(tmp_path / "d.xlsx").active.iter_rows(min_row=3, values_only=True))
    assert len(rows) == int(total) and all(r[3] == "Bỏ qua: chưa đủ điều kiện" for r in rows)
    assert world.client("officer2").get(run_page).status_code in (403, 404)  # another ward's campaign
    engine.dispose()
