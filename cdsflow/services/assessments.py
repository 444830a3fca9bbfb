"""Use-cases on one school's assessment: look up, move through the stages, history, committee."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, update
from sqlmodel import col, select

from cdsflow.calendars.submission import return_refusal as calendar_return_refusal
from cdsflow.calendars.submission import submission_refusal as calendar_submission_refusal
from cdsflow.calendars.timeutil import days_left, short_instant
from cdsflow.kernel.errors import CdsError, InvalidInput, NotFound, StaleUpdate, TransitionRefused
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text, fold
from cdsflow.services import authorization, deadlines, figures_stamp, sends
from cdsflow.services.campaigns import family_ids
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.returns import RETURN_TRIGGER, extra_send_ids
from cdsflow.services.scoring import proposal_gaps as scoring_gaps
from cdsflow.services.units import supervisor_name, unit_by_id
from cdsflow.storage.collation import vi_order
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CampaignMilestone, CommitteeMember, Unit
from cdsflow.workflow import events, rulebook
from cdsflow.workflow.context import ActorRef, TransitionContext
from cdsflow.workflow.machine import STEP_BY_TRIGGER, STEPS, fire, forward_trigger, legal_sources, locks

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
        select(Assessment).join(Unit, col(Unit.id) == Assessment.school_id).where(Unit.code == str(ref))
        .order_by(col(Assessment.campaign_id).desc())
    )
    if campaign_id is not None:
        query = query.where(Assessment.campaign_id == campaign_id)
    found = session.scalars(query.limit(1)).one_or_none()
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
    next_milestone: tuple[str, datetime | None] | None
    # The school's own deadlines where the calendar counts them from its history, and its sends.
    own_deadlines: list[deadlines.OwnDeadline] = field(default_factory=list)
    sends: list[Any] = field(default_factory=list)  # storage.sends_tables.ProposalSend, oldest first
    counted_send: int | None = None  # the number of the send reviewers and papers use


def show_assessment(uow: UnitOfWork, assessment_id: int) -> AssessmentView:
    session = uow.session
    a = find_assessment(uow, assessment_id)
    school = session.get(Unit, a.school_id)
    campaign = session.get(Campaign, a.campaign_id)
    assert school is not None and campaign is not None  # foreign keys
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
        select(AssessmentEvent).where(col(AssessmentEvent.assessment_id) == assessment_id).order_by(col(AssessmentEvent.id))
    ).scalars())


def committee_of(uow: UnitOfWork, assessment_id: int) -> list[CommitteeMember]:
    return list(uow.session.execute(
        select(CommitteeMember).where(CommitteeMember.assessment_id == assessment_id)
        .order_by(col(CommitteeMember.position_order), col(CommitteeMember.id))
    ).scalars())


def _check_version(a: Assessment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != a.version:
        raise StaleUpdate(STALE_MESSAGE.format(current=a.version, expected=expected_version))


def _bump(uow: UnitOfWork, a: Assessment, now: datetime, **values: Any) -> None:
    """Write with optimistic locking: the row must still carry the version we read."""
    done: CursorResult[Any] = uow.session.execute(  # type: ignore[assignment]  # an UPDATE's result is a CursorResult
        update(Assessment)
        .where(col(Assessment.id) == a.id, col(Assessment.version) == a.version)
        .values(version=a.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        uow.rollback()
        raise StaleUpdate(STALE_MESSAGE.format(current="mới hơn", expected=a.version))
    figures_stamp.touch_campaign(uow.session, a.campaign_id)  # its family's stored figures are stale now
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
    values: dict[str, Any] = {"state": dest.value, "locked": locks(dest)}
    if trigger == "submit_proposal":
        values |= {"proposed_by": actor.name, "proposed_at": now, "proposal_count": a.proposal_count + 1}
        # Before the move: the snapshot reads whether this send falls in a return window.
        sends.record_send(session, a, actor.name, now)
    _bump(uow, a, now, **values)
    event_id = session.execute(insert(AssessmentEvent).returning(col(AssessmentEvent.id)).values(
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
    ctx.supply(reason=reason, criteria_notes=notes or {})
    if trigger == "submit_proposal":
        ctx.supply(proposal_gaps=proposal_gaps(uow, a), submission_refusal=submission_refusal(uow, a, now))
    elif trigger == RETURN_TRIGGER:
        ctx.supply(return_refusal=return_refusal(uow, a, now), extra_send=extra_send)
    elif trigger == "recognise":
        ctx.supply(external_unscored=authorization.external_unscored(uow.session, a), override_reason=override)
    elif trigger == "publish":
        ctx.supply(recognition_decision=authorization.recognition_decision(uow.session, a))
    return ctx


def step_refusals(uow: UnitOfWork, assessment_id: int, trigger: str, actor: ActorRef, *,
                  override_reason: str = "", reason: str = "x", now: datetime | None = None) -> list[str]:
    """What would refuse the step now, without taking it (a confirmation page lists these per school);
    `reason` defaults to a placeholder since a confirmation asks for it next."""
    a = find_assessment(uow, assessment_id)
    if STEP_BY_TRIGGER[trigger].source.value != a.state:
        return [f"hồ sơ đang ở giai đoạn «{Stage(a.state).label}»"]
    ctx = _step_facts(uow, a, trigger, actor, _now(now), reason=reason, override=override_reason)
    return rulebook.refusals(trigger, ctx)


def _details(notes: dict[str, str], override: str, extra_send: bool = False) -> dict[str, Any] | None:
    details: dict[str, Any] = {}
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
    return a.state == Stage.SELF_ASSESSMENT.value and a.id in extra_send_ids(uow.session, [a.id])


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
    session.execute(delete(CommitteeMember).where(col(CommitteeMember.assessment_id) == a.id))
    if rows:
        session.execute(insert(CommitteeMember), rows)
    _bump(uow, a, now)
    session.execute(insert(AssessmentEvent).values(
        assessment_id=a.id, at=now, actor=actor.name, actor_unit_id=actor.unit_id, trigger="set_committee",
        from_state=a.state, to_state=a.state, reason=f"Cập nhật Hội đồng tự đánh giá ({len(rows)} thành viên)",
    ))
    uow.commit()
    return len(rows)


# --- the same step for many schools ------------------------------------------------------------

BULK_TRIGGERS = ("start_review", "recognise", "publish")


@dataclass
class BulkResult:
    trigger: str
    done: int = 0
    refused: list[str] = field(default_factory=list)


def require_bulk_trigger(trigger: str) -> None:
    if trigger not in BULK_TRIGGERS:
        raise InvalidInput(f"Không làm hàng loạt được thao tác «{trigger}»")


def bulk_candidates(uow: UnitOfWork, campaign_id: int, trigger: str, selected: list[int] | None,
                    limit: int) -> list[tuple[int, str]]:
    """(assessment id, school name) a bulk step considers: every school of the campaign standing
    where the step starts, or, when the officer ticked schools in the list, exactly those."""
    where = [col(Assessment.campaign_id).in_(family_ids(uow.session, campaign_id))]
    if selected is None:
        where.append(col(Assessment.state).in_(legal_sources(trigger)))
    else:
        if len(selected) > limit:
            raise InvalidInput(f"Chọn tối đa {limit} cơ sở cho một lần thao tác hàng loạt")
        where.append(col(Assessment.id).in_(selected))
    rows = uow.session.execute(
        select(Assessment.id, Unit.name).join(Unit, col(Unit.id) == Assessment.school_id)
        .where(*where).order_by(vi_order(Unit.name), col(Assessment.id)).limit(limit)
    ).all()
    return [(aid, name) for aid, name in rows]


def bulk_refusals(uow: UnitOfWork, actor: ActorRef, campaign_id: int, trigger: str, *,
                  selected: list[int] | None = None, limit: int = 2000) -> list[tuple[int, str, list[str]]]:
    """A dry run of `bulk_transition`: (assessment id, school name, what would refuse it) per school."""
    require_bulk_trigger(trigger)
    authorization.check_campaign(uow.session, actor, "bulk", campaign_id)
    return [(aid, name, step_refusals(uow, aid, trigger, actor))
            for aid, name in bulk_candidates(uow, campaign_id, trigger, selected, limit)]


def bulk_transition(uow: UnitOfWork, actor: ActorRef, campaign_id: int, trigger: str, *, limit: int = 2000,
                    now: datetime | None = None, selected: list[int] | None = None) -> BulkResult:
    """The same step for every school of the campaign that stands where the step starts (or for the
    schools ticked in the list), each through `transition` (the one step the CLI takes too, so the
    rulebook is asked once per school); one transaction per school so that one refusal does not undo
    the others."""
    require_bulk_trigger(trigger)
    authorization.check_campaign(uow.session, actor, "bulk", campaign_id, now=now)
    result = BulkResult(trigger)
    for aid, name in bulk_candidates(uow, campaign_id, trigger, selected, limit):
        try:
            transition(uow, aid, trigger, actor, now=now)
            result.done += 1
        except CdsError as err:
            uow.rollback()
            result.refused.append(f"{name}: {err}")
    return result


# --- what a page says about the file's sends ----------------------------------------------------


def proposal_cap(uow: UnitOfWork, a: Assessment) -> tuple[int | None, str]:
    """(the calendar's cap on sends, which send counts) for the school's proposal milestone."""
    m = uow.session.execute(
        select(CampaignMilestone).where(CampaignMilestone.campaign_id == a.campaign_id,
                                        CampaignMilestone.stage == Stage.PROPOSAL.value)
        .order_by(col(CampaignMilestone.max_submissions).is_(None), col(CampaignMilestone.due_at))
    ).scalars().first()
    return (m.max_submissions, m.counts) if m is not None else (None, "last")


def step_done_message(uow: UnitOfWork, a: Assessment) -> str | None:
    """What the last step on this file did, said plainly: "Đã gửi tờ trình lần 1/3 lúc 10:42 …"."""
    ev = uow.session.execute(select(AssessmentEvent).where(AssessmentEvent.assessment_id == a.id)
                             .order_by(col(AssessmentEvent.id).desc()).limit(1)).scalars().first()
    if ev is None or ev.trigger not in STEP_BY_TRIGGER:
        return None
    at = short_instant(ev.at)
    if ev.trigger == "submit_proposal":
        cap, _ = proposal_cap(uow, a)
        return (f"Đã gửi tờ trình lần {a.proposal_count}{f'/{cap}' if cap else ''} lúc {at}; "
                f"{supervisor_name(uow, a.school_id)} đã nhận hồ sơ.")
    return (f"Đã {STEP_BY_TRIGGER[ev.trigger].label} lúc {at}; hồ sơ chuyển sang giai đoạn "
            f"«{Stage(ev.to_state).label}».")


# --- what one school's page shows ---------------------------------------------------------------


@dataclass
class SchoolPage:
    view: AssessmentView
    unit_name: str
    days_left: int | None
    triggers: list[tuple[str, str]]  # (trigger, Vietnamese label) the person may try now
    can_edit_committee: bool
    history: list[AssessmentEvent]
    criteria: list[tuple[str, str]] = field(default_factory=list)  # for notes when returning the file
    role_labels: dict[str, str] = field(default_factory=lambda: dict(ROLE_LABELS))


def school_page(uow: UnitOfWork, actor: ActorRef, a: Assessment, *, now: datetime | None = None) -> SchoolPage:
    """The file, its next deadline, the steps the rule table offers this person, and its history."""
    view = show_assessment(uow, a.id)
    # next_own_deadline only picks deadlines that have a date
    left = days_left(cast(datetime, view.next_milestone[1]), _now(now)) if view.next_milestone else None
    offered = authorization.allowed_steps(uow.session, actor, a, [s.trigger for s in STEPS])
    triggers = [(s.trigger, s.label) for s in STEPS if s.trigger in offered]
    criteria: list[tuple[str, str]] = []
    if any(t == "return_for_supplement" for t, _ in triggers):
        criteria = [(c.code, c.label) for c in index_set_for_assessment(uow.session, a.id).criteria.values()]
    return SchoolPage(
        view=view, unit_name=unit_by_id(uow, a.school_id).name, days_left=left, triggers=triggers,
        can_edit_committee=authorization.may_school(uow.session, actor, "set_committee", a),
        history=history(uow, a.id), criteria=criteria,
    )
