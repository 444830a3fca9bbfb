"""Issue 24, item 2: the stored figures of a campaign are recomputed after a step of one of its own
schools only, and the read models ask the database the same number of questions for a Sở with 3
ward campaigns as for one with 30."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, insert, select, text
from sqlmodel import Session

from cdsflow.services.campaigns import campaign_status, launch_campaign
from cdsflow.services.listing import ListQuery, dashboard_figures, province_view, school_list
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.listing_tables import CampaignFigures
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, Campaign, Unit
from tests.factories import calendar
from tests.web_support import COMMITTEE, build_world


def _campaign_of(engine, assessment_id: int) -> int:
    with Session(engine) as s:
        return s.get(Assessment, assessment_id).campaign_id


def _stored_at(engine, campaign_id: int, kind: str) -> datetime:
    with Session(engine) as s:
        return s.execute(select(CampaignFigures.computed_at).where(
            CampaignFigures.campaign_id == campaign_id, CampaignFigures.kind == kind)).scalar_one()


def _form_committee(client, engine, assessment_id: int) -> None:
    """The school's head names the committee and records it as formed (two changes of its file)."""
    assert client.put(f"/api/assessments/{assessment_id}/committee",
                      json={"version": 1, "members": COMMITTEE}).status_code == 200
    with Session(engine) as s:
        version = s.get(Assessment, assessment_id).version
    r = client.post(f"/api/assessments/{assessment_id}/transitions", json={"trigger": "form_committee", "version": version})
    assert r.status_code == 200, r.text


def test_a_step_in_one_ward_keeps_the_other_wards_stored_figures(engine, tmp_path):
    w = build_world(engine, tmp_path)
    ward_a, ward_b = _campaign_of(engine, w.p2s1), _campaign_of(engine, w.p1s1)
    with Session(engine) as s:
        root = s.get(Campaign, ward_b).parent_id
    dept = w.client("dept")

    def province_at(cid: int) -> str:
        r = dept.get(f"/api/campaigns/{cid}/province")
        assert r.status_code == 200, r.text
        return r.json()["computed_at"]

    def committee_formed(cid: int) -> int:
        r = dept.get(f"/api/campaigns/{cid}")
        assert r.status_code == 200, r.text
        return next(line["count"] for line in r.json()["stages"] if line["stage"] == "committee_formed")

    with freeze_time("2024-10-01 02:00:00"):  # before the calendar's first deadline (31/01/2025)
        first_a, first_root = province_at(ward_a), province_at(root)
        assert committee_formed(ward_a) == 0 and committee_formed(root) == 0
    dashboard_a = _stored_at(engine, ward_a, "dashboard20")
    with freeze_time("2024-10-02 02:00:00"):
        _form_committee(w.client("head"), engine, w.p1s1)  # a step in ward B (P1)
    with freeze_time("2024-10-03 02:00:00"):
        assert province_at(ward_a) == first_a  # ward A's figures are read back, not recomputed
        assert committee_formed(ward_a) == 0
        assert _stored_at(engine, ward_a, "dashboard20") == dashboard_a
        assert province_at(root) != first_root  # the Sở's family holds ward B: recomputed
        assert committee_formed(root) == 1
    with freeze_time("2024-10-04 02:00:00"):
        _form_committee(w.client("head2"), engine, w.p2s1)  # a step in ward A (P2)
    with freeze_time("2024-10-05 02:00:00"):
        assert province_at(ward_a) != first_a
        assert committee_formed(ward_a) == 1 and committee_formed(root) == 2
        assert _stored_at(engine, ward_a, "dashboard20") == datetime(2024, 10, 5, 2, 0, tzinfo=UTC)


def test_a_passing_deadline_recomputes_the_stored_figures(engine, tmp_path):
    w = build_world(engine, tmp_path)
    ward = _campaign_of(engine, w.p1s1)
    dept = w.client("dept")
    with freeze_time("2025-01-30 02:00:00"):
        assert dept.get(f"/api/campaigns/{ward}").json()["late_total"] == 0
    with freeze_time("2025-01-31 02:00:00"):  # the committee's deadline (31/01 23:59) not passed yet
        assert dept.get(f"/api/campaigns/{ward}").json()["late_total"] == 0
        assert _stored_at(engine, ward, "dashboard20") == datetime(2025, 1, 30, 2, 0, tzinfo=UTC)
    with Session(engine) as s:
        schools = s.execute(select(func.count()).where(Assessment.campaign_id == ward)).scalar_one()
    with freeze_time("2025-02-01 02:00:00"):  # passed: every school of the ward is late now
        assert dept.get(f"/api/campaigns/{ward}").json()["late_total"] == schools > 0


def _province(path, wards: int, schools_per_ward: int = 4):
    """One Sở, `wards` wards each supervising a few schools, a Sở campaign with one child per ward,
    the schools spread over the first stages."""
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Unit), [{"code": "SGD", "name": "Sở Giáo dục và Đào tạo", "short_code": "SGDĐT",
                                  "kind": "department"}])
        s.execute(insert(Unit), [{"code": f"X{b}", "name": f"Phòng Văn hóa – Xã hội phường {b}", "short_code": "VHXH",
                                  "kind": "bureau", "supervisor_id": 1} for b in range(wards)])
        s.execute(insert(Unit), [{"code": f"T{i}", "name": f"Trường Tiểu học số {i}", "short_code": f"TH{i}",
                                  "kind": "school", "education_level": "tieu_hoc", "supervisor_id": 2 + i % wards}
                                 for i in range(wards * schools_per_ward)])
        s.commit()
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(),
                              spawn_children=True, now=datetime(2024, 9, 5, tzinfo=UTC)).campaign_id
    with engine.begin() as conn:
        for i, stage in enumerate(("plan_issued", "committee_formed", "self_assessment", "proposal")):
            conn.execute(text("UPDATE assessment SET state = :s WHERE id % 4 = :i"), {"s": stage, "i": i})
    return engine, cid


def _statements(engine, run) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("view", ["status", "dashboard", "late", "province", "search"])
def test_views_ask_as_many_questions_for_30_wards_as_for_3(tmp_path, view):
    now = datetime(2025, 4, 15, 3, 0, tzinfo=UTC)  # the committee and proposal deadlines have passed

    def ask(engine, cid):
        with UnitOfWork(engine) as uow:
            if view == "status":
                return campaign_status(uow, cid, now=now)
            if view == "dashboard":
                uow.session.execute(text("DELETE FROM campaign_figures"))
                uow.commit()
                return dashboard_figures(uow, cid, now=now)[0]
            if view == "province":
                uow.session.execute(text("DELETE FROM campaign_figures"))
                uow.commit()
                return province_view(uow.session, cid, now=now)
            params = {"late": "1"} if view == "late" else {"q": "số 1"}
            return school_list(uow.session, cid, ListQuery.from_params(params), now=now)

    counts, answers = [], []
    for wards in (3, 30):
        engine, cid = _province(tmp_path / f"w{wards}.db", wards)
        ask(engine, cid)  # warm: the first call also reads the index set and the like
        counts.append(_statements(engine, lambda e=engine, c=cid: answers.append(ask(e, c))))
        engine.dispose()
    assert counts[0] == counts[1], counts
    small, large = answers
    if view in ("status", "dashboard"):  # same figures, scaled: each ward has the same four schools
        assert len(small.children) == 3 and len(large.children) == 30
        assert large.total == 10 * small.total and large.late_total == 10 * small.late_total > 0
    elif view == "province":
        assert len(small.lines) == 3 and len(large.lines) == 30 and large.total.late == 10 * small.total.late > 0
    else:
        assert small.total > 0 and large.total > small.total


WEB_VIEWS = {
    "dashboard page": "/campaigns/{cid}",
    "dashboard JSON": "/api/campaigns/{cid}",
    "late list": "/campaigns/{cid}/schools?late=1",
    "late list JSON": "/api/campaigns/{cid}/schools?late=1",
    "province": "/campaigns/{cid}/province",
    "search": "/campaigns/{cid}/schools?q=s%E1%BB%91+1",
}


@pytest.mark.parametrize("view", list(WEB_VIEWS))
def test_the_sos_pages_ask_as_many_questions_for_30_wards_as_for_3(tmp_path, view):
    """Through the web app as the Sở's officer sees it: the stored figures recomputed on each visit
    (a step elsewhere before it), the same number of statements whatever the number of wards."""
    from fastapi.testclient import TestClient

    from cdsflow.app.web.app import create_app
    from cdsflow.services.accounts import create_account
    from tests.web_support import PASSWORD

    counts = []
    for wards in (3, 30):
        engine, cid = _province(tmp_path / f"web{wards}.db", wards)
        with UnitOfWork(engine) as uow:
            create_account(uow, username="chuyenvien.so", full_name="Lê Thu Hà", role="officer", password=PASSWORD,
                           unit_code="SGD")
        client = TestClient(create_app(engine, uploads_dir=tmp_path / f"up{wards}"), raise_server_exceptions=False)
        r = client.post("/api/login", json={"username": "chuyenvien.so", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        path = WEB_VIEWS[view].format(cid=cid)

        def visit(client=client, path=path, engine=engine, cid=cid):
            with engine.begin() as conn:  # a step somewhere in the family: the stored figures are stale
                conn.execute(text("UPDATE campaign SET data_version = data_version + 1 WHERE id = :c"), {"c": cid})
            r = client.get(path)
            assert r.status_code == 200, r.text

        visit()
        counts.append(_statements(engine, visit))
        engine.dispose()
    # 30 wards may ask one question fewer: the list's ward filter is then the picker, a count, where
    # 3 wards are also read for a plain <select>. Never more for more wards.
    assert counts[1] in (counts[0], counts[0] - 1), counts
