"""Bắc Giang's online form, enforced by the workflow: closes 24h00 03/6/2024, at most 3 sends."""
from datetime import datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.timeutil import TZ
from cdsflow.kernel.errors import TransitionRefused
from cdsflow.scheduler.ticker import run_due_reminders
from cdsflow.services.assessments import MemberInput, find_assessment, set_committee, show_assessment, transition
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.returns import extra_send_ids, returned_ids
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.tables import Assessment, AssessmentEvent
from cdsflow.workflow.context import ActorRef
from tests.factories import complete_self_assessment, load_units

COMMITTEE = [MemberInput("Ngô Thị Hằng", "Chủ tịch"), MemberInput("Vũ Văn Long", "Thư ký")]


@pytest.fixture
def bac_giang(engine):
    load_units(engine)
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="SGD", school_year="2023-2024", index_set="4725",
                        calendar=load_calendar("bac-giang/so-2023-2024"))
    with UnitOfWork(engine) as uow:
        a = find_assessment(uow, "P1S1")
        school, officer = ActorRef("Hiệu trưởng Hằng", a.school_id), ActorRef("Chuyên viên Sở", get_unit(uow, "SGD").id)
        set_committee(uow, a.id, COMMITTEE, school)
        transition(uow, a.id, "advance", school)
        transition(uow, a.id, "advance", school)
    complete_self_assessment(engine, a.id)
    return engine, a.id, school, officer


def send(engine, aid, who):
    with UnitOfWork(engine) as uow:
        return transition(uow, aid, "submit_proposal", who)


def send_back(engine, aid, officer):
    with UnitOfWork(engine) as uow:
        transition(uow, aid, "start_review", officer)
    with UnitOfWork(engine) as uow:
        transition(uow, aid, "return_for_supplement", officer, reason="Gửi lại bản cập nhật")


def test_three_sends_then_no_return_that_would_leave_no_send(bac_giang):
    engine, aid, school, officer = bac_giang
    with freeze_time("2024-06-01 09:00:00+07:00"):
        for _ in range(2):
            send(engine, aid, school)
            send_back(engine, aid, officer)
        send(engine, aid, school)
        # The third send used the last one: a return would ask for a send the school cannot make.
        with pytest.raises(TransitionRefused, match="không gửi lại được: trường đã gửi đủ 03 lần"):
            send_back(engine, aid, officer)
    with UnitOfWork(engine) as uow:
        a = show_assessment(uow, aid)
        assert a.proposal_count == 3 and a.stage.value == "external_review"


def test_the_officer_may_grant_one_more_send_with_the_return_recorded(bac_giang):
    engine, aid, school, officer = bac_giang
    with freeze_time("2024-06-01 09:00:00+07:00"):
        for _ in range(2):
            send(engine, aid, school)
            send_back(engine, aid, officer)
        send(engine, aid, school)
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "start_review", officer)
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "return_for_supplement", officer, reason="Bổ sung biên bản", grant_extra_send=True)
        assert send(engine, aid, school).value == "proposal"  # the granted fourth send
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "start_review", officer)
        with UnitOfWork(engine) as uow, pytest.raises(TransitionRefused, match="không gửi lại được"):
            transition(uow, aid, "return_for_supplement", officer, reason="Lần nữa")  # the grant was one send
    with UnitOfWork(engine) as uow:
        events = uow.session.execute(select(AssessmentEvent).where(
            AssessmentEvent.assessment_id == aid, AssessmentEvent.trigger == "return_for_supplement")).scalars().all()
    assert [bool((e.details or {}).get("extra_send")) for e in events] == [False, False, True]


@pytest.mark.parametrize("instant, accepted", [
    ("2024-06-03 23:59:59+07:00", True),   # still 03/6 in Bắc Giang
    ("2024-06-03 16:59:59+00:00", True),   # the same second, told in UTC
    ("2024-06-04 00:00:00+07:00", False),  # the form closed at 24h00
    ("2024-06-03 17:00:00+00:00", False),
    ("2024-05-14 23:00:00+07:00", False),  # before the form opened
])
def test_the_form_window_edges(bac_giang, instant, accepted):
    engine, aid, school, _ = bac_giang
    with freeze_time(instant):
        if accepted:
            assert send(engine, aid, school).value == "proposal"
        else:
            with pytest.raises(TransitionRefused, match="thời (gian|hạn) gửi"):
                send(engine, aid, school)


def test_after_the_form_closed_only_a_school_granted_one_more_send_is_reminded(bac_giang):
    """Issue 23: reminders never ask for a send that cannot be made. After 24h00 03/6 the schools
    that never sent cannot send, so the scheduler's overdue reminders of the form skip them; the one
    an officer returned with one more send granted is still asked to send it."""
    engine, aid, school, officer = bac_giang
    with freeze_time("2024-06-01 09:00:00+07:00"):
        for _ in range(2):
            send(engine, aid, school)
            send_back(engine, aid, officer)
        send(engine, aid, school)
    with freeze_time("2024-06-05 09:00:00+07:00"):
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "start_review", officer)
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "return_for_supplement", officer, reason="Bổ sung biên bản", grant_extra_send=True)
    for day in range(5, 11):
        run_due_reminders(engine, datetime(2024, 6, day, 7, 0, tzinfo=TZ))
    with UnitOfWork(engine) as uow:
        reminded = set(uow.session.execute(
            select(OutboxMessage.assessment_id).where(OutboxMessage.milestone_key == "truong-bieu-mau",
                                                      OutboxMessage.kind == "reminder",
                                                      OutboxMessage.created_at > datetime(2024, 6, 4, tzinfo=TZ))
        ).scalars())
        late = set(uow.session.execute(select(Assessment.id).where(Assessment.state != "proposal")).scalars())
    assert reminded == {aid}
    assert len(late) > 1  # others were late too, and heard nothing


def test_a_returned_file_is_listed_until_it_goes_out_again_and_a_grant_is_told_apart(bac_giang):
    """The school's home page marks a returned file (`returned_ids`); the scheduler asks which of
    them carry a granted send (`extra_send_ids`): both read the same last change of stage."""
    engine, aid, school, officer = bac_giang
    with freeze_time("2024-06-01 09:00:00+07:00"):
        send(engine, aid, school)
        send_back(engine, aid, officer)
        with UnitOfWork(engine) as uow:
            assert returned_ids(uow.session, [aid]) == {aid} and extra_send_ids(uow.session, [aid]) == set()
        send(engine, aid, school)
        with UnitOfWork(engine) as uow:
            assert returned_ids(uow.session, [aid]) == set()
        send_back(engine, aid, officer)
        send(engine, aid, school)  # the third and last send
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "start_review", officer)
        with UnitOfWork(engine) as uow:
            transition(uow, aid, "return_for_supplement", officer, reason="Bổ sung", grant_extra_send=True)
        with UnitOfWork(engine) as uow:
            assert returned_ids(uow.session, [aid]) == {aid} and extra_send_ids(uow.session, [aid]) == {aid}
