import threading

import pytest
from sqlalchemy import select

from cdsflow.kernel.errors import InvalidInput, StaleUpdate, TransitionRefused
from cdsflow.kernel.stages import Stage
from cdsflow.services import assessments, authorization  # noqa: F401
from cdsflow.services.assessments import (
    MemberInput,
    find_assessment,
    history,
    set_committee,
    show_assessment,
    transition,
)
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, CommitteeMember
from cdsflow.workflow.context import ActorRef
from tests.factories import (
    calendar,
    complete_external_review,
    complete_self_assessment,
    issue_recognition_decision,
    load_units,
)

COMMITTEE = [MemberInput("Nguyễn Thị Hoa", "Chủ tịch", "Hiệu trưởng"), MemberInput("Phạm Văn Nam", "Phó Chủ tịch"),
             MemberInput("Trần Thị Mai", "Thư ký", "Giáo viên"), MemberInput("Lê Minh", "Ủy viên")]


@pytest.fixture
def school(engine):
    load_units(engine)
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="P1", school_year="2024-2025", index_set="4725", calendar=calendar())
    with UnitOfWork(engine) as uow:
        a = find_assessment(uow, "P1S1")
        return engine, a.id, ActorRef("Nguyễn Thị Hoa", a.school_id), ActorRef("Chuyên viên Tuấn", get_unit(uow, "P1").id)


def state_of(engine, aid):
    with UnitOfWork(engine) as uow:
        a = uow.session.get(Assessment, aid)
        return a.state, a.version, a.locked


def step(engine, aid, trigger, actor, **kw):
    with UnitOfWork(engine) as uow:
        return transition(uow, aid, trigger, actor, **kw)


def propose(engine, aid, head):
    """Committee, self-assessment with every item scored and evidenced, then the proposal."""
    with UnitOfWork(engine) as uow:
        set_committee(uow, aid, COMMITTEE, head)
    for t in ("advance", "advance"):
        step(engine, aid, t, head)
    complete_self_assessment(engine, aid)
    step(engine, aid, "submit_proposal", head)


def test_a_school_walks_from_plan_to_publication_with_a_return_loop(school):
    engine, aid, head, officer = school
    with UnitOfWork(engine) as uow:
        set_committee(uow, aid, COMMITTEE, head)
    assert step(engine, aid, "advance", head) == Stage.COMMITTEE_FORMED
    assert step(engine, aid, "advance", head) == Stage.SELF_ASSESSMENT
    with pytest.raises(TransitionRefused, match="chưa được chấm điểm") as refused:
        step(engine, aid, "submit_proposal", head)
    assert "1.4" in str(refused.value)  # every unscored item is named
    complete_self_assessment(engine, aid)
    assert step(engine, aid, "submit_proposal", head) == Stage.PROPOSAL
    assert state_of(engine, aid)[2] is True  # locked after the proposal
    assert step(engine, aid, "start_review", officer) == Stage.EXTERNAL_REVIEW
    back = step(engine, aid, "return_for_supplement", officer, reason="Bổ sung minh chứng",
                criteria_notes={"1.3": "Thiếu danh mục học liệu số"})
    assert back == Stage.SELF_ASSESSMENT and state_of(engine, aid)[2] is False
    step(engine, aid, "submit_proposal", head)
    step(engine, aid, "start_review", officer)
    with pytest.raises(TransitionRefused, match="chưa nhập điểm mục nào"):
        step(engine, aid, "recognise", officer)  # recognition rests on the external review
    complete_external_review(engine, aid, officer)
    step(engine, aid, "recognise", officer)
    with pytest.raises(TransitionRefused, match="chưa có Quyết định công nhận"):
        step(engine, aid, "publish", officer)  # publication rests on a numbered decision
    with UnitOfWork(engine) as uow:
        campaign_id = uow.session.get(Assessment, aid).campaign_id
    issue_recognition_decision(engine, campaign_id)
    assert step(engine, aid, "publish", officer) == Stage.PUBLISHED
    with UnitOfWork(engine) as uow:
        lines = history(uow, aid)
        view = show_assessment(uow, aid)
    assert [e.trigger for e in lines] == ["launch", "set_committee", "form_committee", "start_self_assessment",
                                          "submit_proposal", "start_review", "return_for_supplement",
                                          "submit_proposal", "start_review", "recognise", "publish"]
    returned = lines[6]
    assert (returned.actor, returned.from_state, returned.to_state) == ("Chuyên viên Tuấn", "external_review", "self_assessment")
    assert returned.details == {"criteria": {"1.3": "Thiếu danh mục học liệu số"}} and returned.at.tzinfo is not None
    assert view.proposal_count == 2 and view.stage == Stage.PUBLISHED


def test_refusals_change_nothing(school):
    engine, aid, head, officer = school
    before = state_of(engine, aid)
    with pytest.raises(TransitionRefused, match="chưa có danh sách Hội đồng"):
        step(engine, aid, "form_committee", head)
    with pytest.raises(TransitionRefused, match="cần ở giai đoạn"):
        step(engine, aid, "recognise", officer)
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput, match="vai trò không rõ"):
        set_committee(uow, aid, [MemberInput("A", "Trưởng ban")], head)
    assert state_of(engine, aid) == before
    with UnitOfWork(engine) as uow:
        assert [e.trigger for e in history(uow, aid)] == ["launch"]
        assert uow.session.execute(select(CommitteeMember)).first() is None


def test_the_proposer_cannot_recognise_even_from_the_supervisor(school):
    engine, aid, head, officer = school
    propose(engine, aid, head)
    same_person = ActorRef(head.name, officer.unit_id)
    with pytest.raises(TransitionRefused, match="không được tự phê duyệt"):
        step(engine, aid, "start_review", same_person)


def test_locked_file_refuses_committee_changes(school):
    engine, aid, head, _ = school
    propose(engine, aid, head)
    with UnitOfWork(engine) as uow, pytest.raises(TransitionRefused, match="đã khóa"):
        set_committee(uow, aid, COMMITTEE[:2], head)


def test_a_stale_write_is_refused(school):
    engine, aid, head, _ = school
    version = state_of(engine, aid)[1]
    with UnitOfWork(engine) as uow:
        set_committee(uow, aid, COMMITTEE, head, expected_version=version)
    with UnitOfWork(engine) as uow, pytest.raises(StaleUpdate, match="người khác cập nhật"):
        set_committee(uow, aid, COMMITTEE[:3], head, expected_version=version)
    with UnitOfWork(engine) as uow:
        assert len(uow.session.execute(select(CommitteeMember)).all()) == 4


def test_concurrent_transitions_never_both_win(school, monkeypatch):
    """Two officers press the same button at once: one wins, the other is told, history has one line."""
    engine, aid, head, officer = school
    propose(engine, aid, head)
    barrier = threading.Barrier(2)
    outcomes = []

    real_facts = authorization.school_facts

    def facts_then_wait(*args, **kw):  # runs after the row is read, before the write: line both up here
        result = real_facts(*args, **kw)
        barrier.wait(timeout=10)
        return result

    def press():
        try:
            with UnitOfWork(engine) as uow:
                transition(uow, aid, "start_review", officer)
            outcomes.append("ok")
        except (StaleUpdate, TransitionRefused) as err:
            outcomes.append(type(err).__name__)

    monkeypatch.setattr(authorization, "school_facts", facts_then_wait)
    threads = [threading.Thread(target=press) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(timeout=30) for t in threads]
    assert sorted(outcomes) == ["StaleUpdate", "ok"], outcomes
    with UnitOfWork(engine) as uow:
        starts = uow.session.execute(
            select(AssessmentEvent).where(AssessmentEvent.assessment_id == aid, AssessmentEvent.trigger == "start_review")
        ).all()
    assert len(starts) == 1
