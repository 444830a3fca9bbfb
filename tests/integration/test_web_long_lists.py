"""The long lists besides the schools list (accounts, the register, the review team's schedule, the
mailbox) searched, filtered, sorted and paged through the web pages, with more rows than a page
holds. One world for the module (SQLite); the extra rows are written straight to the tables."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.web_tables import Account
from cdsflow.workflow.document_types import document_types
from tests.web_support import build_world

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("long-lists")
    engine = make_engine(f"sqlite:///{tmp / 'long.db'}")
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    types = list(document_types())[:2]
    with UnitOfWork(engine) as uow:
        s = uow.session
        unit = dict(s.execute(select(Unit.code, Unit.id)).all())
        for i in range(120):  # accounts: more than two pages of 50
            s.add(Account(username=f"gv{i:03d}", full_name=f"Giáo viên số {i:03d}", role="committee",
                          unit_id=unit["P1S2"], password_hash="x", active=i % 10 != 0, email=f"gv{i:03d}@truong.edu.vn"))
        for i in range(60):  # the register: 55 papers of P1 (two types), 5 of P2
            issuer = "P1" if i < 55 else "P2"
            s.add(GeneratedDocument(unit_id=unit[issuer], doc_type=types[i % 2], year=2025, number=i + 1,
                                    number_line=f"Số: {i + 1}/{issuer}-GDĐT", issued_on=f"2025-03-{1 + i % 28:02d}",
                                    template_hash="t", context={"subject": f"Văn bản {i + 1}"},
                                    status="voided" if i == 7 else "issued"))
        for i in range(70):  # the mail queue: 60 sent, 10 failed
            s.add(OutboxMessage(dedup_key=f"t:test:{i}", kind="transactional", recipient=f"nguoi{i:02d}@truong.edu.vn",
                                status="failed" if i >= 60 else "sent", subject=f"Thư số {i:02d}", body_text="…",
                                next_attempt_at=T0, created_at=T0 + timedelta(minutes=i), attempts=1 + i % 3))
        s.execute(update(Assessment).where(Assessment.campaign_id == s.get(Assessment, w.p1s1).campaign_id)
                  .values(state="proposal"))
        uow.commit()
    w.types = types
    yield w
    engine.dispose()


def rows(html: str, table_id: str) -> list[str]:
    body = re.search(rf'id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r"<tr.*?</tr>", body, re.S)


def test_accounts_are_searched_filtered_sorted_and_paged(world):
    admin = world.client("admin")
    first = admin.get("/accounts")
    assert first.status_code == 200
    assert len(rows(first.text, "accounts")) == 50 and "trang 1/3" in first.text
    assert 'data-label="Tên đăng nhập"' in first.text and 'data-label="Thao tác"' in first.text  # phone cards
    last = admin.get("/accounts?page=3").text
    assert len(rows(last, "accounts")) == 129 - 100  # 120 + the world's 9
    found = admin.get("/accounts", params={"q": "số 007"}).text
    assert [r for r in rows(found, "accounts") if "gv007" in r] and len(rows(found, "accounts")) == 1
    disabled = admin.get("/accounts", params={"disabled": "1"}).text
    assert "<strong>12</strong> dòng" in disabled  # gv000, gv010 … gv110
    desc = admin.get("/accounts", params={"role": "committee", "unit": "P1S2", "sort": "username", "dir": "desc"}).text
    assert "<strong>120</strong> dòng" in desc and "gv119" in rows(desc, "accounts")[0]
    bad = admin.get("/accounts", params={"role": "vua"})
    assert bad.status_code == 422 and "Giá trị lọc không rõ" in bad.text


def test_the_register_is_searched_filtered_sorted_and_paged_within_scope(world):
    clerk = world.client("clerk")  # a clerk of P1: P2's papers are not in scope
    page = clerk.get("/documents")
    assert page.status_code == 200 and "<strong>55</strong> dòng" in page.text
    assert len(rows(page.text, "register")) == 50 and ">55<" in rows(page.text, "register")[0]  # newest first
    second = clerk.get("/documents?page=2").text
    assert len(rows(second, "register")) == 5 and "P2-GDĐT" not in second
    oldest = clerk.get("/documents", params={"sort": "number", "dir": "asc"}).text
    assert 'data-label="Số">01<' in rows(oldest, "register")[0]
    typed = clerk.get("/documents", params={"type": world.types[1]}).text
    assert "<strong>27</strong> dòng" in typed  # the odd papers among 0…54
    assert "<strong>1</strong> dòng" in clerk.get("/documents", params={"status": "voided"}).text
    assert "<strong>1</strong> dòng" in clerk.get("/documents", params={"q": "Số: 42/"}).text
    dept = world.client("dept")  # the Sở sees both bureaus' papers
    assert "<strong>5</strong> dòng" in dept.get("/documents", params={"unit": "P2"}).text


def test_the_review_team_schedule_is_searched_sorted_and_paged(world):
    officer = world.client("officer")
    path = f"/campaigns/{world.campaign_id}/team"
    with UnitOfWork(world.engine) as uow:
        codes = sorted(uow.session.execute(select(Unit.code).join(Assessment, Assessment.school_id == Unit.id)
                                           .where(Assessment.campaign_id == world.campaign_id)).scalars())
    page = officer.get(path, params={"sort": "code", "per_page": 1})
    assert page.status_code == 200, page.text
    assert f"<strong>{len(codes)}</strong> dòng" in page.text and f"trang 1/{len(codes)}" in page.text
    assert 'rel="next"' in page.text
    last = officer.get(path, params={"sort": "name", "dir": "desc", "per_page": 1, "page": 99}).text
    assert f"Trang {len(codes)}/{len(codes)}" in last
    one = officer.get(path, params={"q": codes[0]}).text
    assert "<strong>1</strong> dòng" in one
    assert "<strong>0</strong> dòng" in officer.get(path, params={"visit": "1"}).text  # nothing scheduled yet


def test_the_mail_queue_is_filtered_by_status_searched_sorted_and_paged(world):
    admin = world.client("admin")
    page = admin.get("/mailbox")
    assert page.status_code == 200 and "<strong>70</strong> dòng" in page.text
    first = rows(page.text, "queue-table")
    assert len(first) == 50 and "Thư số 69" in first[0]  # newest first
    failed = admin.get("/mailbox", params={"status": "failed", "sort": "recipient"}).text
    assert "<strong>10</strong> dòng" in failed and "nguoi60@" in rows(failed, "queue-table")[0]
    assert "<strong>1</strong> dòng" in admin.get("/mailbox", params={"q": "nguoi05@"}).text
    assert len(rows(admin.get("/mailbox?page=2").text, "queue-table")) == 20
    assert admin.get("/mailbox", params={"status": "lost"}).status_code == 422
