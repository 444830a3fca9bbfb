"""The rulebook through every entry point: the same refusal, with the same Vietnamese reason, from the
use-case, the CLI, the JSON API and the page; recognition with a written override; lost updates on
scores refused or merged per item, never silent."""
from __future__ import annotations

import threading

import pytest
import yaml
from sqlalchemy import select

from cdsflow.kernel.errors import StaleUpdate, TransitionRefused
from cdsflow.services import scoring
from cdsflow.services.campaigns import advance_campaign
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.storage.assessment_tables import AssessmentAnswer
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign
from cdsflow.workflow.context import ActorRef
from tests.e2e.cli import Cli
from tests.web_support import COMMITTEE, build_world, fill_self_assessment

STAGE_REASON = "hồ sơ đang ở giai đoạn «Đã ban hành kế hoạch» (cần: «Đang đánh giá ngoài»)"


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def state(world, aid):
    with UnitOfWork(world.engine) as uow:
        a = uow.session.get(Assessment, aid)
        return a.state, a.version


def state_(world, aid):
    return state(world, aid)[1]


def first_yes_no(world, aid) -> str:
    with UnitOfWork(world.engine) as uow:
        s = index_set_for_assessment(uow.session, aid)
    return next(i.code for i in s.items.values() if i.kind.value == "yes_no")


def walk_to_review(world, aid):
    head = world.client("head")
    head.put(f"/api/assessments/{aid}/committee", json={"version": 1, "members": COMMITTEE})
    for trigger in ("form_committee", "start_self_assessment"):
        assert head.post(f"/api/assessments/{aid}/transitions",
                         json={"trigger": trigger, "version": state_(world, aid)}).status_code == 200
    fill_self_assessment(head, world.engine, aid)
    for who, trigger in (("head", "submit_proposal"), ("officer", "start_review")):
        r = world.client(who).post(f"/api/assessments/{aid}/transitions",
                                   json={"trigger": trigger, "version": state_(world, aid)})
        assert r.status_code == 200, r.text


def test_external_scores_outside_the_review_are_refused_alike_everywhere(world, tmp_path):
    aid, code = world.p1s1, first_yes_no(world, world.p1s1)
    # The use-case, as a Python caller acting for the supervising bureau.
    with UnitOfWork(world.engine) as uow, pytest.raises(TransitionRefused) as err:
        bureau = uow.session.get(Campaign, uow.session.get(Assessment, aid).campaign_id).issuer_id
        scoring.save_answers(uow.session, aid, "external", {code: True}, ActorRef("Chuyên viên", bureau))
    assert STAGE_REASON in err.value.details
    # The CLI (`score enter --phase external`), with the same reason and exit code 4.
    sheet = tmp_path / "phieu.yaml"
    sheet.write_text(yaml.safe_dump({"index_set": "4725", "answers": {code: "có"}}, allow_unicode=True), encoding="utf-8")
    done = Cli(tmp_path, str(world.engine.url))("score", "enter", str(sheet), "--assessment", str(aid),
                                                "--phase", "external", "--by", "Chuyên viên", ok=False)
    assert done.returncode == 4 and STAGE_REASON in done.stderr
    # The JSON API and the page.
    officer = world.client("officer")
    r = officer.put(f"/api/assessments/{aid}/scores", json={"phase": "external", "answers": {code: "co"}})
    assert r.status_code == 422 and STAGE_REASON in r.json()["details"]
    token = officer.headers.pop("X-CSRF-Token")
    page = officer.post(f"/assessments/{aid}/scores", data={"csrf_token": token, "phase": "external",
                                                             f"item:{code}": "co"})
    assert page.status_code == 422 and STAGE_REASON in page.text
    with UnitOfWork(world.engine) as uow:  # nothing stored by any of them
        assert uow.session.execute(select(AssessmentAnswer).where(AssessmentAnswer.phase == "external")).first() is None


def test_a_clerk_never_recognises_through_any_entry_point(world, tmp_path):
    aid = world.p1s1
    walk_to_review(world, aid)
    reason = "tài khoản vai trò «Văn thư» không được công nhận mức độ chuyển đổi số"
    clerk = world.client("clerk")
    r = clerk.post(f"/api/assessments/{aid}/transitions", json={"trigger": "recognise", "version": state_(world, aid)})
    assert r.status_code == 403 and r.json()["details"] == [reason]
    token = clerk.headers.pop("X-CSRF-Token")
    page = clerk.post(f"/assessments/{aid}/transition", data={"csrf_token": token, "trigger": "recognise",
                                                               "version": state_(world, aid), "confirm": "1"})
    assert page.status_code == 403 and reason in page.text
    # At the command line a school's unit is refused recognising its own file, exit code 6.
    done = Cli(tmp_path, str(world.engine.url))("assessment", "advance", str(aid), "--step", "recognise",
                                                "--by", "Hiệu trưởng", "--unit", "P1S1", ok=False)
    assert done.returncode == 6 and "đơn vị quản lý cấp trên" in done.stderr
    assert state(world, aid)[0] == "external_review"


def test_recognition_without_review_needs_a_written_override_kept_in_history(world):
    aid = world.p1s1
    walk_to_review(world, aid)
    officer = world.client("officer")
    token = officer.headers["X-CSRF-Token"]
    # The page asks for confirmation, names the school and, with no review scores, the reason.
    page = officer.post(f"/assessments/{aid}/transition", data={"csrf_token": token, "trigger": "recognise",
                                                                 "version": state_(world, aid)})
    assert page.status_code == 200 and "Trường Tiểu học Số 1.1" in page.text and 'name="override_reason"' in page.text
    assert state(world, aid)[0] == "external_review"  # nothing done before the confirmation
    refused = officer.post(f"/assessments/{aid}/transition", data={"csrf_token": token, "trigger": "recognise",
                                                                    "version": state_(world, aid), "confirm": "1"})
    assert refused.status_code == 422 and "chưa nhập điểm mục nào" in refused.text
    done = officer.post(f"/assessments/{aid}/transition", data={
        "csrf_token": token, "trigger": "recognise", "version": state_(world, aid), "confirm": "1",
        "override_reason": "Đoàn không làm việc được do bão; Phòng công nhận theo hồ sơ tự đánh giá"})
    assert done.status_code == 303 and state(world, aid)[0] == "recognition"
    with UnitOfWork(world.engine) as uow:
        line = uow.session.execute(select(AssessmentEvent).where(AssessmentEvent.assessment_id == aid,
                                                                 AssessmentEvent.trigger == "recognise")).scalar_one()
    assert line.details == {"override_reason": "Đoàn không làm việc được do bão; Phòng công nhận theo hồ sơ tự đánh giá"}


def test_bulk_steps_are_confirmed_on_a_page_naming_schools_and_reasons(world):
    walk_to_review(world, world.p1s1)
    officer = world.client("officer")
    token = officer.headers["X-CSRF-Token"]
    page = officer.post(f"/campaigns/{world.campaign_id}/bulk", data={"csrf_token": token, "trigger": "recognise"})
    assert page.status_code == 200 and "Không thực hiện cho 1 cơ sở giáo dục" in page.text
    assert "Trường Tiểu học Số 1.1" in page.text and "chưa nhập điểm mục nào" in page.text
    assert state(world, world.p1s1)[0] == "external_review"


def test_a_closed_campaign_takes_no_school_step(world):
    with UnitOfWork(world.engine) as uow:
        for trigger in ("start_review", "recognise", "publish", "close"):
            advance_campaign(uow, world.campaign_id, trigger)
    head = world.client("head")
    head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE})
    r = head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE})
    assert r.status_code == 422 and any("«Đã kết thúc»" in d for d in r.json()["details"])


def test_two_people_scoring_from_the_same_page_merge_or_are_told(world):
    """Per-item merge: different items both stay; the same item changed by both is refused, naming who."""
    aid = world.p1s1
    with UnitOfWork(world.engine) as uow:
        s = index_set_for_assessment(uow.session, aid)
    a, b = [i.code for i in s.items.values() if i.kind.value == "yes_no"][:2]
    head, member = world.client("head"), world.client("member")
    base = head.get(f"/api/assessments/{aid}/scores").json()["revision"]
    r = head.put(f"/api/assessments/{aid}/scores", json={"phase": "self", "answers": {a: "co"}, "base_revision": base})
    assert r.status_code == 200
    r = member.put(f"/api/assessments/{aid}/scores", json={"phase": "self", "answers": {b: "khong"}, "base_revision": base})
    assert r.status_code == 200  # another item: merged
    r = member.put(f"/api/assessments/{aid}/scores", json={"phase": "self", "answers": {a: "khong"}, "base_revision": base})
    assert r.status_code == 409 and f"mục {a}: Nguyễn Thị Hoa (head) đã lưu giá trị «co»" in r.json()["details"][0]
    assert head.get(f"/api/assessments/{aid}/scores").json()["answers"] == {a: "co", b: "khong"}
    # The page sends only what the person changed (each field carries its loaded value).
    token = member.headers.pop("X-CSRF-Token")
    page = member.post(f"/assessments/{aid}/scores", data={
        "csrf_token": token, "phase": "self", "revision": str(base),
        f"item:{a}": "khong", f"orig:{a}": "", f"item:{b}": "", f"orig:{b}": ""})
    assert page.status_code == 409 and "Nguyễn Thị Hoa (head)" in page.text
    assert head.get(f"/api/assessments/{aid}/scores").json()["answers"] == {a: "co", b: "khong"}


def test_concurrent_score_saves_never_lose_an_answer(engine, tmp_path):
    world = build_world(engine, tmp_path)
    aid = world.p1s1
    with UnitOfWork(engine) as uow:
        s = index_set_for_assessment(uow.session, aid)
        school = uow.session.get(Assessment, aid).school_id
    codes = [i.code for i in s.items.values() if i.kind.value == "yes_no"][:2]
    barrier, outcomes = threading.Barrier(2), []

    def save(code, value, who):
        try:
            with UnitOfWork(engine) as uow:
                barrier.wait(timeout=10)
                scoring.save_answers(uow.session, aid, "self", {code: value}, ActorRef(who, school), base_revision=0)
                uow.commit()
            outcomes.append("ok")
        except StaleUpdate:
            outcomes.append("stale")

    # Two people, two items, the same starting revision: both kept.
    threads = [threading.Thread(target=save, args=(codes[0], True, "A")),
               threading.Thread(target=save, args=(codes[1], False, "B"))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes == ["ok", "ok"]
    # Two people, one item, the same starting revision: exactly one wins, the other is told.
    barrier, outcomes = threading.Barrier(2), []
    with UnitOfWork(engine) as uow:
        base = scoring.revision_of(uow.session, aid, "self")

    def clash(value, who):
        try:
            with UnitOfWork(engine) as uow:
                barrier.wait(timeout=10)
                scoring.save_answers(uow.session, aid, "self", {codes[0]: value}, ActorRef(who, school),
                                     base_revision=base)
                uow.commit()
            outcomes.append(("ok", value))
        except StaleUpdate:
            outcomes.append(("stale", value))

    threads = [threading.Thread(target=clash, args=(False, "C")), threading.Thread(target=clash, args=(None, "D"))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(o for o, _ in outcomes) == ["ok", "stale"]
    winner = next(v for o, v in outcomes if o == "ok")
    with UnitOfWork(engine) as uow:
        stored = scoring.load_answers(uow.session, aid, "self")
    assert stored.get(codes[0]) == winner and stored[codes[1]] is False
