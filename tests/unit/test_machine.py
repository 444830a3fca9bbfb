from datetime import UTC, datetime

import pytest

from cdsflow.kernel.errors import Forbidden, TransitionRefused
from cdsflow.kernel.stages import STAGE_ORDER, CampaignStatus, Stage
from cdsflow.workflow import machine
from cdsflow.workflow.context import FACTS, ActorRef, MemberView, TransitionContext
from cdsflow.workflow.machine import STEPS, fire_campaign, forward_trigger, legal_sources

NOW = datetime(2025, 3, 1, tzinfo=UTC)
SCHOOL, BUREAU, DEPT = 10, 2, 1
COMMITTEE = (MemberView("Nguyễn Văn An", "chair"), MemberView("Trần Thị Bình", "secretary"))


def ctx(unit=SCHOOL, name="Cô Hoa", **kw) -> TransitionContext:
    base = dict(actor=ActorRef(name, unit), now=NOW, school_id=SCHOOL, supervisors=(BUREAU, DEPT), committee=COMMITTEE,
                campaign_status=CampaignStatus.LAUNCHED, known=set(FACTS))
    return TransitionContext(**(base | kw))


def fire(state, trigger, c: TransitionContext) -> Stage:
    """The machine with the school's stage among the facts, as the service layer gathers it."""
    c.stage = c.stage or Stage(state)
    return machine.fire(state, trigger, c)


def refusal(state, trigger, c) -> str:
    with pytest.raises((TransitionRefused, Forbidden)) as err:
        fire(state, trigger, c)
    return str(err.value)


def test_happy_path_through_all_seven_stages():
    state = Stage.PLAN_ISSUED
    actors = {"form_committee": ctx(), "start_self_assessment": ctx(), "submit_proposal": ctx(name="Cô Hoa"),
              "start_review": ctx(BUREAU, "Anh Tuấn", proposed_by="Cô Hoa"),
              "recognise": ctx(BUREAU, "Anh Tuấn", proposed_by="Cô Hoa", external_unscored=()),
              "publish": ctx(DEPT, "Chị Lan", recognition_decision="Số 3/QĐ-PGDĐT")}
    seen = [state]
    while state != Stage.PUBLISHED:
        trigger = forward_trigger(state)
        state = fire(state, trigger, actors[trigger])
        seen.append(state)
    assert seen == STAGE_ORDER


def test_committee_needs_a_chair_and_a_secretary_and_says_so():
    message = refusal("plan_issued", "form_committee", ctx(committee=(MemberView("A", "member"),)))
    assert "chưa có Chủ tịch" in message and "chưa có Thư ký" in message
    message = refusal("plan_issued", "form_committee",
                      ctx(committee=COMMITTEE + (MemberView("C", "chair"),)))
    assert "chỉ được có một Chủ tịch" in message
    assert "chưa có danh sách" in refusal("plan_issued", "form_committee", ctx(committee=()))


def test_only_the_school_itself_does_the_school_steps():
    assert "chính cơ sở giáo dục" in refusal("plan_issued", "form_committee", ctx(unit=BUREAU))


def test_review_steps_belong_to_the_supervising_chain():
    assert "đơn vị quản lý cấp trên" in refusal("proposal", "start_review", ctx(unit=99, name="Người lạ"))
    assert fire("proposal", "start_review", ctx(unit=DEPT, name="Sở")) == Stage.EXTERNAL_REVIEW


def test_the_proposer_cannot_review_or_recognise():
    c = ctx(unit=BUREAU, name="cô hoa ", proposed_by="Cô Hoa")
    assert "không được tự phê duyệt" in refusal("proposal", "start_review", c)
    assert "không được tự phê duyệt" in refusal("external_review", "recognise", c)


def test_return_for_supplement_loops_back_and_needs_a_reason():
    assert "lý do" in refusal("external_review", "return_for_supplement", ctx(unit=BUREAU, reason="  "))
    back = fire("external_review", "return_for_supplement", ctx(unit=BUREAU, reason="Thiếu minh chứng 1.3"))
    assert back == Stage.SELF_ASSESSMENT
    assert legal_sources("return_for_supplement") == ["external_review"]


def test_proposal_lists_every_gap_and_the_calendar_refusal():
    c = ctx(proposal_gaps=["Chưa chấm tiêu chí 1.3", "Thiếu minh chứng 2.4"], submission_refusal="Đã hết hạn nộp")
    message = refusal("self_assessment", "submit_proposal", c)
    assert "1.3" in message and "2.4" in message and "Đã hết hạn nộp" in message


def test_wrong_state_is_explained_in_vietnamese():
    message = refusal("plan_issued", "recognise", ctx(unit=BUREAU))
    assert "«Đã ban hành kế hoạch»" in message and "«Đang đánh giá ngoài»" in message
    with pytest.raises(TransitionRefused, match="giai đoạn cuối"):
        forward_trigger("published")


def test_every_step_is_reachable_and_the_graph_matches_the_design():
    pairs = {(s.source, s.dest) for s in STEPS}
    assert (Stage.EXTERNAL_REVIEW, Stage.SELF_ASSESSMENT) in pairs
    assert {d for _, d in pairs} | {Stage.PLAN_ISSUED} == set(Stage)


def test_campaign_lifecycle_in_order_only():
    status = CampaignStatus.DRAFT.value
    status = fire_campaign(status, "launch").value
    for trigger in ["start_review", "recognise", "publish", "close"]:
        facts = TransitionContext(actor=ActorRef("Anh Tuấn", BUREAU), now=NOW, issuer_chain=(BUREAU, DEPT),
                                  campaign_status=CampaignStatus(status), stage_counts={}, known=set(FACTS))
        status = fire_campaign(status, trigger, facts).value
    assert status == "closed"
    with pytest.raises(TransitionRefused, match="Đã phát động"):
        fire_campaign("launched", "publish")


def test_history_lines_read_in_vietnamese():
    from cdsflow.workflow.machine import history_text

    assert history_text("form_committee") == "Xác nhận thành lập Hội đồng tự đánh giá"
    assert history_text("return_for_supplement", "Thiếu minh chứng") == "Trả hồ sơ, yêu cầu bổ sung: Thiếu minh chứng"
    assert history_text("launch", "Phát động: Kế hoạch 2024-2025") == "Phát động: Kế hoạch 2024-2025"
    assert history_text("set_committee") == "Cập nhật Hội đồng tự đánh giá"
