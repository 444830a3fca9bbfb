from datetime import datetime

import pytest
from sqlalchemy import func, select

from cdsflow.kernel.errors import Forbidden, InvalidInput, TransitionRefused
from cdsflow.kernel.stages import Stage
from cdsflow.services.assessments import MemberInput, find_assessment, set_committee, transition
from cdsflow.services.campaigns import advance_campaign, campaign_status, launch_campaign, list_campaigns
from cdsflow.services.indexsets import resolve_index_set
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CampaignMilestone
from cdsflow.workflow.context import ActorRef
from tests.factories import VN, calendar, complete_self_assessment, load_units


def launch(engine, **kw):
    args = dict(issuer_code="SGD", school_year="2024-2025", index_set="4725", calendar=calendar())
    with UnitOfWork(engine) as uow:
        return launch_campaign(uow, **(args | kw))


def count(engine, model, *where):
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_launch_opens_one_assessment_per_school_of_the_index_set(engine):
    load_units(engine)
    result = launch(engine)
    # 2 bureaus × 3 primary schools + 1 THPT; the preschool belongs to 3276, not 4725.
    assert result.assessments == 7
    assert count(engine, Assessment, Assessment.state == "plan_issued") == 7
    assert count(engine, AssessmentEvent, AssessmentEvent.trigger == "launch") == 7
    assert count(engine, CampaignMilestone) == 4
    with UnitOfWork(engine) as uow:
        (row,) = list_campaigns(uow)
        assert (row.status.value, row.assessments, row.index_set_code) == ("launched", 7, "4725")


def test_department_campaign_spawns_one_child_per_bureau(engine):
    load_units(engine)
    result = launch(engine, spawn_children=True)
    assert len(result.child_ids) == 2
    with UnitOfWork(engine) as uow:
        per_campaign = dict(uow.session.execute(
            select(Assessment.campaign_id, func.count()).group_by(Assessment.campaign_id)).all())
        assert per_campaign == {result.child_ids[0]: 3, result.child_ids[1]: 3, result.campaign_id: 1}
        child = uow.session.get(Campaign, result.child_ids[0])
        assert child.parent_id == result.campaign_id
        assert child.index_set_hash == resolve_index_set(uow.session, "4725").content_hash
        status = campaign_status(uow, result.campaign_id, now=datetime(2024, 11, 1, tzinfo=VN))
        assert status.total == 7 and [c[2] for c in status.children] == [3, 3]


def test_launch_refusals_leave_nothing_behind(engine):
    load_units(engine)
    with pytest.raises(InvalidInput, match="là bản tạm thời"):
        launch(engine, index_set="3276")
    with pytest.raises(InvalidInput, match="Năm học không hợp lệ"):
        launch(engine, school_year="2024-2026")
    with pytest.raises(InvalidInput, match="không khớp năm học"):
        launch(engine, school_year="2025-2026")
    with pytest.raises(InvalidInput, match="chỉ Sở hoặc Phòng"):
        launch(engine, issuer_code="P1S1")
    with pytest.raises(InvalidInput, match="không thuộc phạm vi") as err:
        launch(engine, issuer_code="P1", school_codes=["P1S1", "P2S1", "MN1"])
    assert "P2S1" in err.value.details
    assert "MN1: Mầm non: đánh giá theo bộ chỉ số 3276, bộ này còn là khung tạm thời nên chưa phát động được" in err.value.details
    assert count(engine, Campaign) == 0 and count(engine, Assessment) == 0
    launch(engine)
    with pytest.raises(InvalidInput, match="đã có kế hoạch"):
        launch(engine)
    assert count(engine, Campaign) == 1


def test_status_counts_stages_and_lists_schools_late_for_their_next_milestone(engine):
    load_units(engine)
    cid = launch(engine, issuer_code="P1").campaign_id
    with UnitOfWork(engine) as uow:
        a = find_assessment(uow, "P1S1")
        set_committee(uow, a.id, [MemberInput("Lê Văn Chính", "Chủ tịch"), MemberInput("Đỗ Thị Thu", "Thư ký")],
                      ActorRef("Hiệu trưởng", a.school_id))
        transition(uow, a.id, "advance", ActorRef("Hiệu trưởng", a.school_id))
    # 1 February: the committee deadline (31 January) has passed for the two schools without one.
    with UnitOfWork(engine) as uow:
        status = campaign_status(uow, cid, now=datetime(2025, 2, 1, 0, 0, tzinfo=VN))
    by_stage = {line.stage: line for line in status.stages}
    assert by_stage[Stage.PLAN_ISSUED].count == 2 and by_stage[Stage.PLAN_ISSUED].late
    assert by_stage[Stage.COMMITTEE_FORMED].count == 1 and not by_stage[Stage.COMMITTEE_FORMED].late
    assert by_stage[Stage.COMMITTEE_FORMED].next_milestone.key == "to-trinh"
    assert status.late_total == 2 and {s.school_code for s in status.late} == {"P1S2", "P1S3"}
    assert status.late[0].milestone.key == "hoi-dong" and status.submitted == 0
    # One second before the deadline nobody is late.
    with UnitOfWork(engine) as uow:
        assert campaign_status(uow, cid, now=datetime(2025, 1, 31, 23, 59, 59, tzinfo=VN)).late_total == 0


def test_campaign_lifecycle_is_enforced(engine):
    load_units(engine)
    cid = launch(engine).campaign_id
    with UnitOfWork(engine) as uow:
        aid = find_assessment(uow, "P1S1").id
        head = ActorRef("Cô Hoa", find_assessment(uow, "P1S1").school_id)
        officer = ActorRef("Anh Tuấn", uow.session.get(Campaign, cid).issuer_id)
        set_committee(uow, aid, [MemberInput("Cô Hoa", "Chủ tịch"), MemberInput("Thầy Nam", "Thư ký")], head)
        transition(uow, aid, "advance", head)
        transition(uow, aid, "advance", head)
    complete_self_assessment(engine, aid)
    with UnitOfWork(engine) as uow:
        transition(uow, aid, "submit_proposal", head)
    with UnitOfWork(engine) as uow:
        assert advance_campaign(uow, cid, "start_review").value == "reviewing"
    with UnitOfWork(engine) as uow, pytest.raises(Exception, match="Đang đánh giá ngoài"):
        advance_campaign(uow, cid, "publish")
    # Recognising the campaign is refused while a school is still in review, with the count.
    with UnitOfWork(engine) as uow, pytest.raises(TransitionRefused, match="còn 1 cơ sở giáo dục đã gửi tờ trình"):
        advance_campaign(uow, cid, "recognise")
    with UnitOfWork(engine) as uow:  # nothing changed
        assert uow.session.get(Campaign, cid).status == "reviewing"
    # Another unit's officer may not move the campaign at all.
    with UnitOfWork(engine) as uow, pytest.raises(Forbidden, match="đơn vị phát động"):
        advance_campaign(uow, cid, "recognise", ActorRef("Người lạ", find_assessment(uow, "P2S1").school_id))
    with UnitOfWork(engine) as uow:
        transition(uow, aid, "start_review", officer)
        transition(uow, aid, "return_for_supplement", officer, reason="Thiếu minh chứng")
    with UnitOfWork(engine) as uow:
        assert advance_campaign(uow, cid, "recognise").value == "recognised"
    # A recognised campaign takes no school steps but publication.
    with UnitOfWork(engine) as uow, pytest.raises(TransitionRefused, match="«Đã công nhận»"):
        transition(uow, aid, "submit_proposal", head)
