"""The JSON API and the pages through FastAPI's TestClient against a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent
from tests.web_support import COMMITTEE, build_world, fill_external_review, fill_self_assessment, form_review_team


@pytest.fixture
def world(engine, tmp_path):
    return build_world(engine, tmp_path)


def version_of(world, aid: int) -> int:
    with UnitOfWork(world.engine) as uow:
        return uow.session.get(Assessment, aid).version


def propose(world):
    """The head of P1S1 forms the committee, scores everything and sends the proposal; returns the head's client."""
    head = world.client("head")
    head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE})
    for trigger in ("form_committee", "start_self_assessment"):
        move(head, world.p1s1, trigger, version_of(world, world.p1s1))
    fill_self_assessment(head, world.engine, world.p1s1)
    assert move(head, world.p1s1, "submit_proposal", version_of(world, world.p1s1)).status_code == 200
    return head


def move(client, aid, trigger, version, **kw):
    return client.post(f"/api/assessments/{aid}/transitions", json={"trigger": trigger, "version": version, **kw})


def test_anonymous_visitor_is_led_to_login_and_api_says_401(world):
    c = world.client()
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    page = c.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text
    r = c.get("/api/me")
    assert r.status_code == 401 and r.json()["error"] == "Bạn cần đăng nhập."


def test_me_reports_role_and_unit(world):
    r = world.client("head").get("/api/me")
    assert r.json()["role"] == "school_head" and r.json()["unit_name"] == "Trường Tiểu học Số 1.1"


def test_school_walks_from_plan_to_publication(world):
    head, officer, reviewer = world.client("head"), world.client("officer"), world.client("reviewer")
    aid = world.p1s1
    r = head.put(f"/api/assessments/{aid}/committee", json={"version": 1, "members": COMMITTEE})
    assert r.status_code == 200 and r.json() == {"members": 3}
    for trigger in ("form_committee", "start_self_assessment"):
        r = move(head, aid, trigger, version_of(world, aid))
        assert r.status_code == 200, r.text
    r = move(head, aid, "submit_proposal", version_of(world, aid))
    assert r.status_code == 422 and any("chưa chấm" in d or "chưa" in d for d in r.json()["details"])
    fill_self_assessment(world.client("member"), world.engine, aid)
    assert move(head, aid, "submit_proposal", version_of(world, aid)).status_code == 200
    assert head.get(f"/api/assessments/{aid}").json()["locked"] is True
    # A reviewer acts only as a member of the review team the campaign has formed.
    r = move(reviewer, aid, "start_review", version_of(world, aid))
    assert r.status_code == 403 and "thành viên đoàn đánh giá ngoài" in " ".join(r.json()["details"])
    form_review_team(world, "reviewer", "officer")
    assert move(reviewer, aid, "start_review", version_of(world, aid)).status_code == 200
    r = move(reviewer, aid, "return_for_supplement", version_of(world, aid), reason="Thiếu minh chứng",
             criteria_notes={"1.2": "Chưa có ảnh chụp phần mềm"})
    assert r.status_code == 200 and r.json()["stage"] == "self_assessment"
    assert move(head, aid, "submit_proposal", version_of(world, aid)).status_code == 200
    assert move(officer, aid, "start_review", version_of(world, aid)).status_code == 200
    r = move(officer, aid, "recognise", version_of(world, aid))
    assert r.status_code == 422 and "chưa nhập điểm mục nào" in r.json()["details"][0]
    fill_external_review(reviewer, world.engine, aid)
    assert move(officer, aid, "recognise", version_of(world, aid)).status_code == 200
    r = move(officer, aid, "publish", version_of(world, aid))
    assert r.status_code == 422 and "Quyết định công nhận" in r.json()["details"][0]
    r = world.client("clerk").post(f"/api/campaigns/{world.campaign_id}/documents", json={"doc_type": "qd_cong_nhan"})
    assert r.status_code == 201, r.text
    r = move(officer, aid, "publish", version_of(world, aid))
    assert r.status_code == 200, r.text
    assert r.json() == {"stage": "published", "label": "Đã công bố"}
    public = world.client().get(f"/api/public/campaigns/{world.campaign_id}").json()
    assert [p["school"] for p in public["published"]] == ["Trường Tiểu học Số 1.1"]
    assert public["published"][0]["level_teaching"] in (1, 2, 3)
    hist = head.get(f"/api/assessments/{aid}/history").json()
    returned = next(e for e in hist if e["trigger"] == "return_for_supplement")
    assert returned["details"] == {"criteria": {"1.2": "Chưa có ảnh chụp phần mềm"}}
    assert returned["actor"] == "Phạm Quang Hùng (reviewer)"
    page = world.client().get(f"/results/{world.campaign_id}")
    assert page.status_code == 200 and "Trường Tiểu học Số 1.1" in page.text and "Trường Tiểu học Số 1.2" not in page.text


def test_refusal_reasons_reach_the_user_and_nothing_changes(world):
    head = world.client("head")
    r = move(head, world.p1s1, "form_committee", 1)
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith("Không thể xác nhận thành lập Hội đồng")
    assert "chưa có danh sách Hội đồng tự đánh giá" in body["details"]
    assert version_of(world, world.p1s1) == 1


def test_stale_version_is_refused_with_409(world):
    head = world.client("head")
    assert head.put(f"/api/assessments/{world.p1s1}/committee",
                    json={"version": 1, "members": COMMITTEE}).status_code == 200
    r = head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE[:1]})
    assert r.status_code == 409 and "phiên bản" in r.json()["error"]
    assert len(head.get(f"/api/assessments/{world.p1s1}").json()["committee"]) == 3


def test_bad_committee_is_refused_whole(world):
    head = world.client("head")
    r = head.put(f"/api/assessments/{world.p1s1}/committee",
                 json={"version": 1, "members": [*COMMITTEE, {"full_name": "", "role": "trưởng ban"}]})
    assert r.status_code == 422 and any("vai trò không rõ" in d for d in r.json()["details"])
    assert head.get(f"/api/assessments/{world.p1s1}").json()["committee"] == []


def test_a_school_sees_only_itself_and_a_bureau_only_its_schools(world):
    assert world.client("head2").get(f"/api/assessments/{world.p1s1}").status_code == 404
    assert world.client("head").get(f"/api/assessments/{world.p1s1}").status_code == 200
    officer2 = world.client("officer2")
    assert officer2.get(f"/api/assessments/{world.p1s1}").status_code == 404
    assert officer2.get(f"/api/campaigns/{world.campaign_id}").status_code == 404
    # The preschool is not assessed by 4725.
    assert world.client("officer").get(f"/api/campaigns/{world.campaign_id}").json()["total"] == 3
    codes = {r["school_code"] for r in world.client("officer").get(f"/api/campaigns/{world.campaign_id}/schools").json()}
    assert codes == {"P1S1", "P1S2", "P1S3"}
    mine = {c["id"] for c in officer2.get("/api/campaigns").json()}
    assert world.campaign_id not in mine and len(mine) == 1
    dept = {c["id"] for c in world.client("dept").get("/api/campaigns").json()}
    assert world.campaign_id in dept and len(dept) == 3


def test_school_staff_cannot_review_their_own_proposal(world):
    head = propose(world)
    r = move(head, world.p1s1, "start_review", version_of(world, world.p1s1))
    assert r.status_code == 403 and "«Hiệu trưởng» không được" in r.json()["details"][0]
    r = move(world.client("member"), world.p1s1, "start_review", version_of(world, world.p1s1))
    assert r.status_code == 403


def test_launch_and_campaign_lifecycle_through_the_api(world):
    officer = world.client("officer2")
    r = officer.post("/api/campaigns", json={"school_year": "2025-2026", "calendar": "hanoi/ba-dinh-2024-2025"})
    assert r.status_code == 422 and "năm học 2024-2025" in r.json()["error"]
    r = officer.post("/api/campaigns", json={"school_year": "2025-2026", "calendar": "../../etc/passwd"})
    assert r.status_code == 422 and "Không có lịch mẫu" in r.json()["error"]
    r = officer.post("/api/campaigns", json={"school_year": "2025-2026"})
    assert r.status_code == 201 and r.json()["assessments"] == 3
    cid = r.json()["campaign_id"]
    assert officer.post(f"/api/campaigns/{cid}/advance", json={"trigger": "start_review"}).json() == {"status": "reviewing"}
    r = officer.post(f"/api/campaigns/{cid}/advance", json={"trigger": "publish"})
    assert r.status_code == 422 and "Không thể công bố" in r.json()["error"]
    r = world.client("officer").post(f"/api/campaigns/{cid}/advance", json={"trigger": "close"})
    assert r.status_code == 404  # another bureau's campaign is not even visible


def test_bulk_start_review_moves_every_proposal_and_reports_the_rest(world):
    propose(world)
    r = world.client("officer").post(f"/api/campaigns/{world.campaign_id}/bulk", json={"trigger": "start_review"})
    assert r.json() == {"trigger": "start_review", "done": 1, "refused": []}
    assert world.client("officer").post(f"/api/campaigns/{world.campaign_id}/bulk",
                                        json={"trigger": "form_committee"}).status_code == 422


def test_dashboard_page_shows_progress_chart_and_late_list(world):
    page = world.client("officer").get(f"/campaigns/{world.campaign_id}")
    assert page.status_code == 200
    assert "Đã nộp 0/3" in page.text and "<svg" in page.text and "Cơ sở chậm hạn" in page.text


def test_school_page_shows_stage_deadline_and_history(world):
    page = world.client("head").get(f"/assessments/{world.p1s1}")
    assert page.status_code == 200
    assert "Đã ban hành kế hoạch" in page.text and "Hạn tiếp theo" in page.text and "Phát động" in page.text
    with UnitOfWork(world.engine) as uow:
        n = len(uow.session.execute(select(AssessmentEvent).where(AssessmentEvent.assessment_id == world.p1s1)).all())
    assert n == 1


def test_remind_now_queues_mail_for_late_schools_once_a_day(world):
    from cdsflow.storage.notifications_tables import OutboxMessage

    officer = world.client("officer")
    r = officer.post(f"/api/campaigns/{world.campaign_id}/remind", json={"milestone": "hoi-dong"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["late_schools"] == 3 and first["queued"] >= 3  # each late school (and a copy upward)
    again = officer.post(f"/api/campaigns/{world.campaign_id}/remind", json={"milestone": "hoi-dong"}).json()
    assert again["queued"] == 0
    with UnitOfWork(world.engine) as uow:
        assert len(uow.session.execute(select(OutboxMessage)).all()) == first["queued"]
    assert officer.post(f"/api/campaigns/{world.campaign_id}/remind", json={"milestone": "khong-co"}).status_code == 422
    assert world.client("reviewer").post(f"/api/campaigns/{world.campaign_id}/remind",
                                         json={"milestone": "hoi-dong"}).status_code == 403


def test_dashboard_follows_every_change_despite_its_cache(world):
    officer, head = world.client("officer"), world.client("head")
    before = officer.get(f"/api/campaigns/{world.campaign_id}").json()
    assert officer.get(f"/api/campaigns/{world.campaign_id}").json() == before  # served again, unchanged
    head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE})
    move(head, world.p1s1, "form_committee", version_of(world, world.p1s1))
    after = officer.get(f"/api/campaigns/{world.campaign_id}").json()
    counts = {s["stage"]: s["count"] for s in after["stages"]}
    assert counts["committee_formed"] == 1 and counts["plan_issued"] == before["total"] - 1
    officer.post(f"/api/campaigns/{world.campaign_id}/advance", json={"trigger": "start_review"})
    assert officer.get(f"/api/campaigns/{world.campaign_id}").json()["status"] == "reviewing"
