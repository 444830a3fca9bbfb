"""A bulk paper run in chunks (issue 24, item 5): a failure after chunk 2, then the same run again,
numbers every school's paper exactly once (no number taken twice, none lost), writes every file
with the hash the register keeps, and lists the skipped schools once; the CLI's list of skipped
schools is bounded."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select

from cdsflow.kernel.stages import Stage
from cdsflow.services import bulk
from cdsflow.services import papers as service
from cdsflow.storage.bulk_tables import BulkRun
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import GeneratedDocument
from tests.papers_world import launch, walk

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
