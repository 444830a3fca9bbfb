"""A campaign whose schools are walked through the real use-cases to different stages, for the
papers' tests: no hand-made rows, no injected score source (everything a paper prints was stored
by the same services the CLI and the web call)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cdsflow.calendars.loader import load_calendar
from cdsflow.kernel.stages import Stage
from cdsflow.services import assessments as svc
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.demo import demo_answers, prepare_proposal
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.meetings import MeetingInput, record_meeting
from cdsflow.services.scoring import save_answers
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import AssessmentEvent, Unit
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.machine import STEP_BY_TRIGGER
from tests.factories import calendar, unit_rows

VN = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICER = "Trần Minh Tuấn"
STORY_END = datetime(2025, 7, 1, tzinfo=VN)  # the walks' own dates (school year 2024-2025) end here
HEADS = {"P1S1": "Nguyễn Thị Hoa", "P1S2": "Lê Văn Hùng", "P1S3": "Phạm Thu Hương", "P1S4": "Đặng Quang Sơn",
         "P1S5": "Vũ Thanh Mai", "P1S6": "Bùi Minh Khánh"}


def committee(head: str) -> list[svc.MemberInput]:
    return [svc.MemberInput(head, "chair", "Hiệu trưởng"),
            svc.MemberInput("Trần Văn Nam", "vice_chair", "Phó Hiệu trưởng"),
            svc.MemberInput("Lê Thị Mai", "secretary", "Giáo viên tin học"),
            svc.MemberInput("Đỗ Minh Chi", "member", "Tổ trưởng chuyên môn"),
            svc.MemberInput("Ngô Thu Hà", "member", "Kế toán")]


@dataclass
class Walked:
    campaign_id: int
    ids: dict[str, int] = field(default_factory=dict)  # school code → assessment id


def launch(engine, *, schools: int = 6, calendar_file=None) -> Walked:
    """Units (a Sở, two Phòng with `schools` primary schools each) and the Phòng P1's campaign
    (on `calendar_file`, a calendar YAML the campaign keeps as its source, when given)."""
    with UnitOfWork(engine) as uow:
        import_units(uow, unit_rows(n_schools_per_bureau=schools))
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="P1", school_year="2024-2025",
                                 calendar=load_calendar(calendar_file) if calendar_file else calendar(),
                                 now=datetime(2024, 10, 1, tzinfo=VN))
        ids = {code: svc.find_assessment(uow, code, result.campaign_id).id
               for code in HEADS if code in {f"P1S{i}" for i in range(1, schools + 1)}}
    return Walked(result.campaign_id, ids)


def walk(engine, w: Walked, code: str, target: Stage, *, strength: float = 0.8, external: float | None = 0.6,
         meeting: bool = True, returned: bool = False, override: str = "") -> int:
    """Take one school to `target`: committee, self-assessment (every item, evidence), the meeting
    recorded, proposal, review with external scores (`external` strength, unlike the school's; None:
    none, then `override` is the supervisor's written reason to recognise all the same), optionally
    one return for supplement and a second proposal, recognition, publication (which needs a
    Quyết định công nhận naming the school, issued by the test)."""
    aid = w.ids[code]
    with UnitOfWork(engine) as uow:
        school = uow.session.execute(select(Unit).where(Unit.code == code)).scalar_one()
        bureau_id = school.supervisor_id
    head = ActorRef(HEADS[code], school.id)
    officer = ActorRef(OFFICER, bureau_id)
    at = datetime(2024, 11, 1, 9, 0, tzinfo=VN)
    with UnitOfWork(engine) as uow:  # walked again (after a return): carry on after its history
        last = uow.session.execute(select(func.max(AssessmentEvent.at)).where(AssessmentEvent.assessment_id == aid)).scalar()
    last = (last if last is None or last.tzinfo else last.replace(tzinfo=ZoneInfo("UTC")))
    if last is not None and last < STORY_END:  # a world made of today's rows keeps the 2024 storyline
        at = max(at, last.astimezone(VN) + timedelta(days=1))
    with UnitOfWork(engine) as uow:
        if svc.find_assessment(uow, aid).state == Stage.PLAN_ISSUED.value:
            svc.set_committee(uow, aid, committee(HEADS[code]), head, now=at)
    steps = [("form_committee", head), ("start_self_assessment", head), ("submit_proposal", head),
             ("start_review", officer), ("recognise", officer), ("publish", officer)]
    while steps:
        trigger, actor = steps.pop(0)
        with UnitOfWork(engine) as uow:
            state = svc.find_assessment(uow, aid).state
        if state == target.value:
            return aid
        if STEP_BY_TRIGGER[trigger].source.value != state:  # walked this far before
            continue
        if trigger == "submit_proposal":
            with UnitOfWork(engine) as uow:
                prepare_proposal(uow, aid, HEADS[code], at, strength)
            if meeting:
                record(engine, aid, head, at)
        if trigger == "recognise" and external is not None:
            with UnitOfWork(engine) as uow:
                s = index_set_for_assessment(uow.session, aid)
                save_answers(uow.session, aid, "external", demo_answers(s, external), OFFICER)
                uow.commit()
        if trigger == "recognise" and returned:
            returned = False
            at += timedelta(days=1)
            with UnitOfWork(engine) as uow:
                svc.transition(uow, aid, "return_for_supplement", officer, now=at, reason="Bổ sung minh chứng 1.3")
            steps[:0] = [("submit_proposal", head), ("start_review", officer), ("recognise", officer)]
            continue
        at += timedelta(days=2)
        with UnitOfWork(engine) as uow:
            svc.transition(uow, aid, trigger, actor, now=at, override_reason=override if trigger == "recognise" else "")
    return aid


def record(engine, aid: int, head: ActorRef, at: datetime) -> None:
    start = at.replace(hour=8, minute=0)
    with UnitOfWork(engine) as uow:
        record_meeting(uow.session, aid, MeetingInput(
            started_at=start, ended_at=start + timedelta(hours=2, minutes=15), place="Phòng họp tầng 2",
            chaired_by=head.name, secretary="Lê Thị Mai", attendees_present=4, attendees_total=5,
            vote_for=3, vote_against=0, vote_abstain=1, conclusions="Thông qua kết quả tự đánh giá.",
            absent=[{"full_name": "Ngô Thu Hà", "reason": "nghỉ ốm"}]), head)
        uow.commit()
