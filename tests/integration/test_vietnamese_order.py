"""Issue 26, item 1: one Vietnamese collation and a search without marks or case, on SQLite and on
PostgreSQL (ICU `vi`), entered where the officer enters: the schools list, its API, the accounts list
and the register of papers."""
from __future__ import annotations

import re

from sqlalchemy import select, update

from cdsflow.kernel.text import search_fold, sort_key
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import Campaign, Unit
from cdsflow.workflow.document_types import document_types
from tests.web_support import build_world

NAMES = {"P1S1": "Trường Tiểu học Đông Hải", "P1S2": "Trường Tiểu học Dương Nội", "P1S3": "Trường Tiểu học Zen",
         "P2S1": "Trường Tiểu học Ánh Dương", "P2S2": "Trường Tiểu học Âu Cơ", "P2S3": "Trường Tiểu học Bạch Đằng",
         "THPT1": "Trường Tiểu học Anh Sơn"}
EXPECTED = ["Ánh Dương", "Anh Sơn",  # letters first over the whole name, tones only break ties
            "Âu Cơ", "Bạch Đằng", "Dương Nội", "Đông Hải", "Zen"]


def test_the_sort_key_follows_the_vietnamese_alphabet_then_tones():
    names = ["Zen", "Đông Hải", "Dung", "ân", "Ăn", "Anh", "Ánh", "Ảnh", "số 25", "số 5"]
    assert sorted(names, key=sort_key) == ["Anh", "Ảnh", "Ánh", "Ăn", "ân", "Dung", "Đông Hải", "số 5", "số 25", "Zen"]
    assert search_fold("  ĐÔNG   hải ") == search_fold("dong hai") == "dong hai"


def _world(engine, tmp_path):
    w = build_world(engine, tmp_path)
    with UnitOfWork(engine) as uow:
        for code, name in NAMES.items():
            uow.session.execute(update(Unit).where(Unit.code == code).values(name=name))
        w.parent = uow.session.get(Campaign, w.campaign_id).parent_id
        p1 = uow.session.execute(select(Unit.id).where(Unit.code == "P1")).scalar_one()
        uow.session.add(GeneratedDocument(unit_id=p1, doc_type=next(iter(document_types())), year=2025, number=3,
                                          number_line="Số: 03/QĐ-PGDĐT", issued_on="2025-03-01", template_hash="t",
                                          context={"subject": "Về việc công nhận mức độ chuyển đổi số"}))
        uow.commit()
    return w


def test_lists_sort_in_vietnamese_order_and_search_without_marks_or_case(engine, tmp_path):
    w = _world(engine, tmp_path)
    dept = w.client("dept")
    api = dept.get(f"/api/campaigns/{w.parent}/schools", params={"sort": "name"})
    assert api.status_code == 200, api.text
    assert [r["school_name"].removeprefix("Trường Tiểu học ") for r in api.json()] == EXPECTED
    down = dept.get(f"/api/campaigns/{w.parent}/schools", params={"sort": "name", "dir": "desc"}).json()
    assert [r["school_name"].removeprefix("Trường Tiểu học ") for r in down] == EXPECTED[::-1]
    base = f"/campaigns/{w.parent}/schools"
    for typed in ("dong hai", "đông hải", "ĐÔNG HẢI", "Đông Hải"):
        page = dept.get(base, params={"q": typed}).text
        assert "<strong>1</strong> cơ sở" in page and "Đông Hải" in page, typed
    assert "<strong>2</strong> cơ sở" in dept.get(base, params={"q": "duong"}).text  # Dương Nội, Ánh Dương
    # People and the register's trích yếu are searched the same way.
    accounts = w.client("admin").get("/accounts", params={"q": "tran minh tuan"}).text
    assert "<strong>1</strong> dòng" in accounts and "Trần Minh Tuấn" in accounts
    register = w.client("clerk").get("/documents", params={"q": "cong nhan muc do"}).text
    assert "<strong>1</strong> dòng" in register and re.search(r"03", register)
