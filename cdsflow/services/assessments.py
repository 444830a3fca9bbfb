"""Use-cases on one school's assessment: look up, move through the stages, history, committee."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from cdsflow.calendars.submission import return_refusal as calendar_return_refusal
from cdsflow.calendars.submission import submission_refusal as calendar_submission_refusal
from cdsflow.kernel.errors import InvalidInput, NotFound, StaleUpdate, TransitionRefused
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text, fold
from cdsflow.services import authorization, deadlines, sends
from cdsflow.services.returns import RETURN_TRIGGER
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CommitteeMember, Unit
from cdsflow.workflow import events, rulebook
from cdsflow.workflow.context import ActorRef, TransitionContext
from cdsflow.workflow.machine import STEP_BY_TRIGGER, fire, forward_trigger, locks

ROLE_LABELS = {"chair": "Chủ tịch", "vice_chair": "Phó Chủ tịch", "secretary": "Thư ký", "member": "Ủy viên"}
_ROLE_ALIASES = {fold(v): k for k, v in ROLE_LABELS.items()} | {k: k for k in ROLE_LABELS} | {
    "chutich": "chair", "photichhoidong": "vice_chair", "pct": "vice_chair", "thuky": "secretary",
    "uyvien": "member", "thanhvien": "member", "vicechair": "vice_chair",
}

STALE_MESSAGE = (
    "Hồ sơ đã được người khác cập nhật (phiên bản hiện tại {current}, bạn đang sửa phiên bản {expected}). "
    "Hãy tải lại rồi thực hiện lại; chưa có gì bị thay đổi."
)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def find_assessment(uow: UnitOfWork, ref: str | int, campaign_id: int | None = None) -> Assessment:
    """By id, or by school code (the newest campaign of that school unless one is given)."""
    session = uow.session
    if isinstance(ref, int) or str(ref).isdigit():
        found = session.get(Assessment, int(ref), populate_existing=True)
        if found is None:
            raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {ref}")
        return found
    query = (
        select(Assessment).join(Unit, Unit.id == Assessment.school_id).where(Unit.code == str(ref))
        .order_by(Assessment.campaign_id.desc())
    )
    if campaign_id is not None:
        query = query.where(Assessment.campaign_id == campaign_id)
    found = session.execute(query.limit(1)).scalar_one_or_none()
    if found is None:
        where = f" trong kế hoạch số {campaign_id}" if campaign_id else ""
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá của đơn vị «{ref}»{where}")
    return found


@dataclass(frozen=True)
class AssessmentView:
    id: int
    campaign_id: int
    campaign_title: str
    school_code: str
    school_name: str
    stage: Stage
    version: int
    locked: bool
    proposal_count: int
    proposed_by: str | None
    committee: list[CommitteeMember]
    next_milestone: tuple[str, datetime] | None
    # The school's own deadlines where the calendar counts them from its history, and its sends.
    own_deadlines: list[deadlines.OwnDeadline] = field(default_factory=list)
    sends: list = field(default_factory=list)  # storage.sends_tables.ProposalSend, oldest first
    counted_send: int | None = None  # the number of the send reviewers and papers use


def show_assessment(uow: UnitOfWork, assessment_id: int) -> AssessmentView:
    session = uow.session
    a = find_assessment(uow, assessment_id)
    school = session.get(Unit, a.school_id)
    campaign = session.get(Campaign, a.campaign_id)
    stage = Stage(a.state)
    own = deadlines.own_deadlines(session, a)
    first = deadlines.next_own_deadline(own, stage)
    nxt = (first.title, first.due_at) if first else None
    sent = sends.list_sends(session, a.id)
    counted = sends.counted_send(session, a)
    return AssessmentView(
        id=a.id, campaign_id=a.campaign_id, campaign_title=campaign.title, school_code=school.code,
        school_name=school.name, stage=stage, version=a.version, locked=a.locked,
        proposal_count=a.proposal_count, proposed_by=a.proposed_by, committee=committee_of(uow, a.id),
        next_milestone=nxt, own_deadlines=[d for d in own if d.relative is not None], sends=sent,
        counted_send=counted.number if counted else None,
    )


def history(uow: UnitOfWork, assessment_id: int) -> list[AssessmentEvent]:
    find_assessment(uow, assessment_id)
    return list(uow.session.execute(
        select(AssessmentEvent).where(AssessmentEvent.assessment_id == assessment_id).order_by(AssessmentEvent.id)
    ).scalars())


def committee_of(uow: UnitOfWork, assessment_id: int) -> list[CommitteeMember]:
    return list(uow.session.execute(
        select(CommitteeMember).where(CommitteeMember.assessment_id == assessment_id)
        .order_by(CommitteeMember.position_order, CommitteeMember.id)
    ).scalars())


def _check_version(a: Assessment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != a.version:
        raise StaleUpdate(STALE_MESSAGE.format(current=a.version, expected=expected_version))


def _bump(uow: UnitOfWork, a: Assessment, now: datetime, **values) -> None:
    """Write with optimistic locking: the row must still carry the version we read."""
    done = uow.session.execute(
        update(Assessment)
        .where(Assessment.id == a.id, Assessment.version == a.version)
        .values(version=a.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        uow.rollback()
        raise StaleUpdate(STALE_MESSAGE.format(current="mới hơn", expected=a.version))
    # Keep the loaded object in step with the row (the session outlives the commit).
    for key, value in {"version": a.version + 1, "updated_at": now, **values}.items():
        setattr(a, key, value)


def transition(
    uow: UnitOfWork,
    assessment_id: int,
    trigger: str,
    actor: ActorRef,
    *,
    reason: str = "",
    criteria_notes: dict[str, str] | None = None,
    override_reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
    grant_extra_send: bool = False,
) -> Stage:
    """Move one assessment one step; refused with every reason (the rulebook's, through the
    machine's guard), or stored with its history line.

    `override_reason`: only for `recognise`, the supervisor's written reason to recognise without a
    complete external review; kept in the history and printed in the decision's annex."""
    session = uow.session
    now = _now(now)
    a = find_assessment(uow, assessment_id)
    if trigger == "advance":
        trigger = forward_trigger(a.state)
    if trigger not in STEP_BY_TRIGGER:
        raise TransitionRefused(f"Thao tác không tồn tại: «{trigger}»")
    rulebook.enforce_who(trigger, authorization.school_facts(uow.session, a, actor, now=now),
                         STEP_BY_TRIGGER[trigger].label)
    _check_version(a, expected_version)
    try:
        reason = clean_text(reason, field="lý do", allow_newlines=True)
        notes = {clean_text(k, field="mã tiêu chí"): clean_text(v, field="ghi chú", allow_newlines=True)
                 for k, v in (criteria_notes or {}).items()}
        override = clean_text(override_reason, field="lý do công nhận", allow_newlines=True)
    except TextError as err:
        raise InvalidInput(str(err)) from None
    ctx = _step_facts(uow, a, trigger, actor, now, reason=reason, notes=notes, override=override,
                      extra_send=grant_extra_send)
    # The grant is recorded only where it was needed (the return would otherwise leave no send).
    granted = trigger == RETURN_TRIGGER and grant_extra_send and ctx.return_refusal is not None
    if granted:  # visible wherever the history is read, not only in its details
        reason = f"{reason} (cán bộ cho phép gửi thêm một lần)"
    # An override counts only where it was needed (the review incomplete), so "which score counts"
    # reads the same from the history (results.py) as from the scores (overview.py).
    override_used = override if trigger == "recognise" and ctx.external_unscored != () else ""
    source = a.state
    dest = fire(source, trigger, ctx)
    values: dict = {"state": dest.value, "locked": locks(dest)}
    if trigger == "submit_proposal":
        values |= {"proposed_by": actor.name, "proposed_at": now, "proposal_count": a.proposal_count + 1}
        # Before the move: the snapshot reads whether this send falls in a return window.
        sends.record_send(session, a, actor.name, now)
    _bump(uow, a, now, **values)
    event_id = session.execute(insert(AssessmentEvent).returning(AssessmentEvent.id).values(
        assessment_id=a.id, at=now, actor=actor.name, actor_unit_id=actor.unit_id, trigger=trigger,
        from_state=source, to_state=dest.value, reason=reason or override_used,
        details=_details(notes, override_used, granted),
    )).scalar_one()
    events.publish(session, events.AssessmentMoved(
        assessment_id=a.id, campaign_id=a.campaign_id, school_id=a.school_id, trigger=trigger,
        from_state=source, to_state=dest.value, actor=actor.name, at=now, reason=reason, event_id=event_id,
        criteria_notes=notes,
    ))
    uow.commit()
    return dest


def _step_facts(uow: UnitOfWork, a: Assessment, trigger: str, actor: ActorRef, now: datetime, *,
                reason: str = "", notes: dict[str, str] | None = None, override: str = "",
                extra_send: bool = False) -> TransitionContext:
    """What the step's rules look at: the same facts for the step itself and for its preview."""
    ctx = authorization.school_facts(uow.session, a, actor, now=now, with_committee=True)
    ctx.reason, ctx.criteria_notes = reason, notes or {}
    if trigger == "submit_proposal":
        ctx.proposal_gaps = proposal_gaps(uow, a)
        ctx.submission_refusal = submission_refusal(uow, a, now)
    elif trigger == RETURN_TRIGGER:
        ctx.return_refusal, ctx.extra_send = return_refusal(uow, a, now), extra_send
    elif trigger == "recognise":
        ctx.external_unscored = authorization.external_unscored(uow.session, a)
        ctx.override_reason = override
    elif trigger == "publish":
        ctx.recognition_decision = authorization.recognition_decision(uow.session, a)
    return ctx


def step_refusals(uow: UnitOfWork, assessment_id: int, trigger: str, actor: ActorRef, *,
                  override_reason: str = "", reason: str = "x", now: datetime | None = None) -> list[str]:
    """What would refuse the step now, without taking it (a confirmation page lists these per school);
    `reason` defaults to a placeholder since a confirmation asks for it next."""
    from cdsflow.workflow import rulebook

    a = find_assessment(uow, assessment_id)
    if STEP_BY_TRIGGER[trigger].source.value != a.state:
        return [f"hồ sơ đang ở giai đoạn «{Stage(a.state).label}»"]
    ctx = _step_facts(uow, a, trigger, actor, _now(now), reason=reason, override=override_reason)
    return rulebook.refusals(trigger, ctx)


def _details(notes: dict[str, str], override: str, extra_send: bool = False) -> dict | None:
    details: dict = {}
    if extra_send:
        details["extra_send"] = True
    if notes:
        details["criteria"] = notes
    if override:
        details["override_reason"] = override
    return details or None


def acting_unit_for(uow: UnitOfWork, assessment_id: int, trigger: str) -> int:
    """The unit a person at the command line acts for without `--unit` (read from the rulebook)."""
    a = find_assessment(uow, assessment_id)
    if trigger == "advance":
        trigger = forward_trigger(a.state)
    return authorization.acting_unit_for(uow.session, a, trigger)


def proposal_gaps(uow: UnitOfWork, a: Assessment) -> list[str]:
    """What is still missing before the proposal: unscored items, evidence the index set asks for."""
    from cdsflow.services.scoring import proposal_gaps as scoring_gaps

    return scoring_gaps(uow.session, a.id)


def return_refusal(uow: UnitOfWork, a: Assessment, now: datetime) -> str | None:
    """Why the school could not send again if its file were returned at `now` (None: it could)."""
    policy = deadlines.proposal_policy(uow.session, a.campaign_id)
    if policy is None:
        return None
    return calendar_return_refusal(policy, now, sends.sends_against_cap(uow.session, a))


def extra_send_granted(uow: UnitOfWork, a: Assessment) -> bool:
    """The file is back with the school after a return that came with one more send granted by the
    officer, and it has not sent since (the last change of stage is that return)."""
    if a.state != Stage.SELF_ASSESSMENT.value:
        return False
    event = uow.session.execute(select(AssessmentEvent).where(
        AssessmentEvent.assessment_id == a.id, AssessmentEvent.from_state != AssessmentEvent.to_state)
        .order_by(AssessmentEvent.id.desc())).scalars().first()
    return bool(event is not None and event.trigger == RETURN_TRIGGER and (event.details or {}).get("extra_send"))


def submission_refusal(uow: UnitOfWork, a: Assessment, now: datetime) -> str | None:
    """The calendar's submission window and cap for the proposal, if it sets one (Bắc Giang: 3 sends),
    with the returned file's own window (FORMAT.md "Resubmission after a return"), and the one send
    an officer granted with a return that would otherwise have left none."""
    policy = deadlines.proposal_policy(uow.session, a.campaign_id)
    if policy is None or extra_send_granted(uow, a):
        return None
    return calendar_submission_refusal(policy, now, sends.sends_against_cap(uow.session, a),
                                       returned_at=deadlines.pending_return(uow.session, a))


# --- committee -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberInput:
    full_name: str
    role: str
    position: str = ""
    duties: str = ""
    email: str = ""
    phone: str = ""


def parse_role(value: str) -> str | None:
    return _ROLE_ALIASES.get(fold(value or ""))


def set_committee(
    uow: UnitOfWork,
    assessment_id: int,
    members: list[MemberInput],
    actor: ActorRef,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Replace the school's committee. Refused while the file is locked (after the proposal)."""
    session = uow.session
    now = _now(now)
    a = find_assessment(uow, assessment_id)
    authorization.check_school(uow.session, actor, "set_committee", a, now=now)
    _check_version(a, expected_version)
    problems, rows = [], []
    for i, m in enumerate(members, start=1):
        try:
            name = clean_text(m.full_name, field="họ và tên")
            position = clean_text(m.position, field="chức vụ")
            duties = clean_text(m.duties, field="nhiệm vụ")
        except TextError as err:
            problems.append(f"Thành viên {i}: {err}")
            continue
        role = parse_role(m.role)
        if not name:
            problems.append(f"Thành viên {i}: thiếu họ và tên")
        if role is None:
            problems.append(f"Thành viên {i} ({name}): vai trò không rõ «{m.role}» (dùng: {', '.join(ROLE_LABELS.values())})")
        rows.append({"assessment_id": a.id, "position_order": i, "full_name": name, "position": position,
                     "role": role, "duties": duties, "email": m.email.strip(), "phone": m.phone.strip()})
    if problems:
        raise InvalidInput("Danh sách Hội đồng có lỗi; chưa lưu gì:", details=problems)
    session.execute(delete(CommitteeMember).where(CommitteeMember.assessment_id == a.id))
    if rows:
        session.execute(insert(CommitteeMember), rows)
    _bump(uow, a, now)
    session.execute(insert(AssessmentEvent).values(
        assessment_id=a.id, at=now, actor=actor.name, actor_unit_id=actor.unit_id, trigger="set_committee",
        from_state=a.state, to_state=a.state, reason=f"Cập nhật Hội đồng tự đánh giá ({len(rows)} thành viên)",
    ))
    uow.commit()
    return len(rows)
