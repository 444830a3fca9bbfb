"""Pages whose database reads moved from the web into services read the same as before: the
council meeting, the steering group, the register with the plan links, an authority paper's text."""
from __future__ import annotations

from cdsflow.services import assessments
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from tests.integration.test_web_api import propose
from tests.web_support import build_world


def _name(engine, code: str) -> str:
    with UnitOfWork(engine) as uow:
        return get_unit(uow, code).name


def test_meeting_page_names_the_school_and_keeps_a_refused_form(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    head = w.client("head")
    page = head.get(f"/assessments/{w.p1s1}/meeting")
    assert page.status_code == 200 and _name(sqlite_engine, "P1S1") in page.text

    refused = head.post(f"/assessments/{w.p1s1}/meeting", data={"place": "Phòng họp A", "start": "không phải giờ"})
    assert refused.status_code in (409, 422), refused.text
    assert "Phòng họp A" in refused.text  # what was typed comes back
    again = head.get(f"/assessments/{w.p1s1}/meeting")
    assert again.status_code == 200

    # Another bureau's school reads as not found, in the words of old.
    other = w.client("head2").get(f"/assessments/{w.p1s1}/meeting")
    assert other.status_code == 404 and f"Không tìm thấy hồ sơ đánh giá số {w.p1s1}" in other.text


def test_steering_page_of_own_unit_and_not_of_another(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    officer = w.client("officer")
    page = officer.get("/steering")
    assert page.status_code == 200 and _name(sqlite_engine, "P1") in page.text
    assert officer.get("/steering?unit=P1").status_code == 200
    other = officer.get("/steering?unit=P2")
    assert other.status_code == 404 and "Không tìm thấy đơn vị «P2»" in other.text


def test_register_offers_the_plan_of_the_campaigns_the_unit_launched(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    page = w.client("officer").get("/documents")  # P1 launched the campaign of its schools
    assert page.status_code == 200
    assert f"/campaigns/{w.campaign_id}/papers/" in page.text
    assert f"/campaigns/{w.campaign_id}/papers/" not in w.client("head").get("/documents").text

    plan = w.client("officer").get(f"/campaigns/{w.campaign_id}/papers/ke_hoach")
    assert plan.status_code in (200, 422), plan.text  # the form, or the data it still lacks
    assert "Kế hoạch triển khai" in plan.text


def test_an_unknown_step_is_refused_by_the_use_case_in_the_words_of_old(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    r = w.client("officer").post(f"/api/assessments/{w.p1s1}/transitions", json={"trigger": "bay_len", "version": 1})
    assert r.status_code == 422 and r.json()["error"] == "Thao tác không tồn tại: «bay_len»"
    hidden = w.client("officer2").post(f"/api/assessments/{w.p1s1}/transitions", json={"trigger": "bay_len", "version": 1})
    assert hidden.status_code == 404  # scope first: another bureau's file is not found


def test_the_bulk_step_is_the_one_per_school_step_of_the_cli(sqlite_engine, tmp_path, monkeypatch):
    """The schools list's bulk step goes through `services.assessments.transition` once per school
    (the rulebook asked there, as for `cdsflow assessment advance`), and the history says who."""
    w = build_world(sqlite_engine, tmp_path)
    propose(w)
    seen: list[tuple[int, str]] = []
    step = assessments.transition

    def counted(uow, assessment_id, trigger, actor, **kw):
        seen.append((assessment_id, trigger))
        return step(uow, assessment_id, trigger, actor, **kw)

    monkeypatch.setattr(assessments, "transition", counted)
    r = w.client("officer").post(f"/api/campaigns/{w.campaign_id}/bulk", json={"trigger": "start_review"})
    assert r.json() == {"trigger": "start_review", "done": 1, "refused": []}
    assert seen == [(w.p1s1, "start_review")]
    with UnitOfWork(sqlite_engine) as uow:
        last = assessments.history(uow, w.p1s1)[-1]
    assert (last.trigger, last.actor) == ("start_review", "Trần Minh Tuấn (officer)")
