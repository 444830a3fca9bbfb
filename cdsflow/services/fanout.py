"""Fan-out: when a reminder job fires, turn "milestone M, offset O" into outbox rows.

The database says which schools have not yet reached the milestone's stage (one SQL query over
the `assessment.state` column); each recipient of each such school gets one row, and once the
deadline has passed each supervisor gets one digest listing its late schools. All rows are
written with INSERT … ON CONFLICT DO NOTHING (in the caller's transaction, or in chunks of
short transactions for the scheduler), so a re-run after a crash adds only what is missing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.reminders import ACTOR, DIGEST, ReminderPoint, offset_audiences, reminder_points
from cdsflow.calendars.submission import closed_to_new_sends
from cdsflow.calendars.timeutil import days_left_text, local, next_sending_instant, vn_datetime
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Actor, CampaignStatus, Stage
from cdsflow.notifications import dbretry
from cdsflow.notifications.outbox import insert_ignoring_duplicates, outbox_row
from cdsflow.notifications.rendering import TemplateSet, default_templates
from cdsflow.notifications.settings import MailSettings, load_settings
from cdsflow.services import deadlines
from cdsflow.services.deadlines import superseded
from cdsflow.services.planner import as_milestone, sweep_day
from cdsflow.services.returns import extra_send_ids
from cdsflow.storage.collation import vi_order
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit

# A campaign in these states sends nothing: not started yet, or over.
_SILENT = {CampaignStatus.DRAFT.value, CampaignStatus.CLOSED.value}


@dataclass
class FanOutPlan:
    """What a fan-out would write: the rows, plus figures for `remind preview`."""

    campaign_id: int
    milestone_key: str
    offset_key: str
    overdue: bool = False
    late_schools: int = 0
    schools_without_email: list[str] = field(default_factory=list)
    digests: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped_reason: str | None = None


def split_emails(emails: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in emails.replace(";", ",").split(","):
        addr = part.strip()
        if addr and "@" in addr:
            seen.setdefault(addr, None)
    return list(seen)


def earlier_stages(stage: Stage) -> list[str]:
    """The stage values that come before `stage`: a school in one of them has not reached it."""
    return [s.value for s in Stage if s.order < stage.order]


def school_link(settings: MailSettings, assessment_id: int) -> str:
    return f"{settings.base_url}/assessments/{assessment_id}"


def campaign_link(settings: MailSettings, campaign_id: int) -> str:
    return f"{settings.base_url}/campaigns/{campaign_id}"


def useful_until(due_at: datetime, written_at: datetime, settings: MailSettings) -> datetime:
    """A reminder is worth sending until its deadline; once overdue (reminders and digests
    alike), for `reminder_grace_hours` after it was written."""
    if written_at <= due_at:
        return due_at
    return written_at + timedelta(hours=settings.reminder_grace_hours)


def _load(session: Session, campaign_id: int, milestone_key: str) -> tuple[Campaign, CampaignMilestone]:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch (chiến dịch) số {campaign_id}")
    milestone = session.execute(
        select(CampaignMilestone).where(
            CampaignMilestone.campaign_id == campaign_id, CampaignMilestone.key == milestone_key
        )
    ).scalar_one_or_none()
    if milestone is None:
        raise NotFound(f"Kế hoạch số {campaign_id} không có mốc thời gian {milestone_key!r}")
    return campaign, milestone


def plan_reminder(
    session: Session,
    campaign_id: int,
    milestone_key: str,
    offset_key: str,
    now: datetime,
    *,
    settings: MailSettings | None = None,
    templates: TemplateSet | None = None,
    skip_keys: set[str] | frozenset[str] = frozenset(),
    base_url: str | None = None,
) -> FanOutPlan:
    """Compute the outbox rows of one (campaign, milestone, offset) without writing them.

    Rows whose key is in `skip_keys` (already in the outbox) are neither rendered nor returned.
    `base_url` (a web request's own address) replaces the configured one in the links.
    """
    if now.tzinfo is None:
        raise InvalidInput("Thời điểm gửi phải có múi giờ")
    settings = settings or load_settings()
    if base_url:
        settings = replace(settings, base_url=base_url.rstrip("/"))
    templates = templates or default_templates()
    campaign, ms = _load(session, campaign_id, milestone_key)
    plan = FanOutPlan(campaign_id, milestone_key, offset_key)
    if campaign.status in _SILENT:
        plan.skipped_reason = f"kế hoạch đang ở trạng thái {CampaignStatus(campaign.status).label}"
        return plan
    if not ms.stage:
        plan.skipped_reason = "mốc này không gắn với giai đoạn nào của trường"
        return plan
    target = Stage(ms.stage)
    policy = as_milestone(ms).reminders
    if ms.relative:
        return _plan_own_deadlines(session, plan, campaign, ms, target, now, settings, templates, skip_keys)
    assert ms.due_at is not None  # a milestone that is not relative has its date
    plan.overdue = now > ms.due_at
    # Who this point is for (FORMAT.md "Reminders"): the school's cadence and the digest's differ.
    audiences = offset_audiences(policy, offset_key) if policy is not None else frozenset({ACTOR, DIGEST})
    late = session.execute(
        select(  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
            col(Assessment.id), col(Assessment.state), col(Unit.id).label("school_id"), col(Unit.name), col(Unit.emails),
            Unit.supervisor_id,
        )
        .join(Unit, Unit.id == Assessment.school_id)
        .where(Assessment.campaign_id == campaign_id, col(Assessment.state).in_(earlier_stages(target)))
        .order_by(Unit.supervisor_id, vi_order(Unit.name), Unit.id)
    ).all()
    # Schools whose own deadline for this stage replaces this fixed one are reminded by it instead.
    skip = superseded(session, campaign_id, target, [r.id for r in late]) if late else set()
    if skip:
        late = [r for r in late if r.id not in skip]
    plan.late_schools = len(late)
    # The school hears only while it can still do what the mail asks (issue 23: reminders never ask
    # for a send that cannot be made); its supervisor's digest still lists it.
    to_remind = _can_still_send(session, campaign_id, target, late, now)
    common = {
        "campaign_title": campaign.title,
        "milestone_title": ms.title,
        "stage_label": target.label,
        "deadline": vn_datetime(ms.due_at),
        "days_left_text": days_left_text(ms.due_at, now),
        "overdue": plan.overdue,
        "sender_name": settings.from_name,
        "now_text": vn_datetime(now),
    }
    # Never at night, on a weekend or a holiday: a job that fires late (restart, manual nudge
    # in the evening) queues its mail for the next sending hour instead of sending it now.
    not_before = next_sending_instant(now)
    # Replies go to the officers who issued the plan, not to a no-reply robot.
    issuer = session.get(Unit, campaign.issuer_id)
    issuer_emails = split_emails(issuer.emails) if issuer else []
    headers = {"Reply-To": issuer_emails[0]} if issuer_emails else {}
    keys: dict[str, Any] = {"campaign_id": campaign_id, "milestone_key": milestone_key, "offset_key": offset_key,
            "now": now, "not_before": not_before, "headers": headers,
            "useful_until": useful_until(ms.due_at, now, settings)}
    if ms.actor == Actor.SCHOOL.value and ACTOR in audiences:
        next_step = templates.next_steps[target.value]
        for row in to_remind:
            recipients = split_emails(row.emails)
            if not recipients:
                plan.schools_without_email.append(row.name)
                continue
            keyed = [(f"r:{campaign_id}:{row.school_id}:{milestone_key}:{offset_key}:{a.lower()}", a) for a in recipients]
            keyed = [(k, a) for k, a in keyed if k not in skip_keys]
            if not keyed:
                continue
            rendered = templates.render(
                "reminder",
                {
                    **common,
                    "school_name": row.name,
                    "current_stage_label": Stage(row.state).label,
                    "next_step": next_step,
                    "link": school_link(settings, row.id),
                },
            )
            for key, addr in keyed:
                plan.rows.append(
                    outbox_row(
                        dedup_key=key,
                        kind="reminder", recipient=addr, subject=rendered.subject,
                        body_text=rendered.text, body_html=rendered.html,
                        unit_id=row.school_id, assessment_id=row.id, **keys,
                    )
                )
    # Escalation: after the deadline (or for a supervisor's own milestone) one digest per
    # supervisor listing its late schools, never one mail per school.
    wants_digest = (plan.overdue and DIGEST in audiences) or (ms.actor != Actor.SCHOOL.value and (
        not plan.overdue or bool(audiences)))
    if late and wants_digest:
        _add_digests(session, plan, late, common, keys, settings, templates, f"{milestone_key}:{offset_key}")
    return plan


def _can_still_send(session: Session, campaign_id: int, target: Stage, late: Sequence[Any],
                    now: datetime) -> Sequence[Any]:
    """The late schools a reminder of the proposal may still ask to send: all of them while the
    form is open; once it has closed, only those an officer granted one more send with a return."""
    if target != Stage.PROPOSAL or not late:
        return late
    policy = deadlines.proposal_policy(session, campaign_id)
    if policy is None or not closed_to_new_sends(policy, now):
        return late
    granted = extra_send_ids(session, [r.id for r in late])
    return [r for r in late if r.id in granted]


def _add_digests(session: Session, plan: FanOutPlan, late: Sequence[Any], common: dict[str, Any], keys: dict[str, Any],
                 settings: MailSettings, templates: TemplateSet, dedup_part: str) -> None:
    """One digest per supervisor listing its late schools, never one mail per school."""
    campaign_id = plan.campaign_id
    by_supervisor: dict[int, list[Any]] = defaultdict(list)
    for row in late:
        if row.supervisor_id is not None:
            by_supervisor[row.supervisor_id].append(row)
    supervisors = {
        u.id: u
        for u in session.execute(select(Unit).where(col(Unit.id).in_(list(by_supervisor)))).scalars()
    } if by_supervisor else {}
    for sup_id, rows in by_supervisor.items():
        sup = supervisors[sup_id]
        recipients = split_emails(sup.emails)
        if not recipients:
            continue
        rendered = templates.render(
            "overdue_digest",
            {
                **common,
                "supervisor_name": sup.name,
                "count": len(rows),
                "schools": [{"name": r.name, "stage_label": Stage(r.state).label} for r in rows],
                "link": campaign_link(settings, campaign_id),
            },
        )
        plan.digests += 1
        for addr in recipients:
            plan.rows.append(
                outbox_row(
                    dedup_key=f"d:{campaign_id}:{sup_id}:{dedup_part}:{addr.lower()}",
                    kind="overdue_digest", recipient=addr, subject=rendered.subject,
                    body_text=rendered.text, body_html=rendered.html, unit_id=sup_id, **keys,
                )
            )


def _plan_own_deadlines(session: Session, plan: FanOutPlan, campaign: Campaign, ms: CampaignMilestone,
                        target: Stage, now: datetime, settings: MailSettings, templates: TemplateSet,
                        skip_keys: set[str] | frozenset[str]) -> FanOutPlan:
    """A relative milestone's daily sweep: each school not at the stage yet is reminded when one of
    its own points (from its own deadline, FORMAT.md "Relative deadlines") falls on the sweep's day;
    its supervisor gets a digest of the late ones on a digest point of any of them."""
    day = sweep_day(plan.offset_key)
    manual = plan.offset_key.startswith("manual-")  # an officer's nudge: every school with a deadline
    if day is None and not manual:
        raise InvalidInput(f"Mốc '{ms.key}' có hạn riêng theo từng cơ sở: chỉ nhắc theo lượt quét hằng ngày "
                           "hoặc khi cán bộ nhắc ngay")
    milestone = as_milestone(ms)
    rows = deadlines.milestones(session, campaign.id)
    schools = session.execute(
        select(col(Assessment.id), col(Assessment.state), col(Unit.id).label("school_id"), col(Unit.name), col(Unit.emails),  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
               Unit.supervisor_id)
        .join(Unit, Unit.id == Assessment.school_id)
        .where(Assessment.campaign_id == campaign.id, col(Assessment.state).in_(earlier_stages(target)))
        .order_by(Unit.supervisor_id, vi_order(Unit.name), Unit.id)
    ).all()
    events = deadlines.event_times(session, [r.id for r in schools])
    not_before = next_sending_instant(now)
    issuer = session.get(Unit, campaign.issuer_id)
    issuer_emails = split_emails(issuer.emails) if issuer else []
    headers = {"Reply-To": issuer_emails[0]} if issuer_emails else {}
    late, digest_due = [], False
    next_step = templates.next_steps[target.value]
    for row in schools:
        due = deadlines.resolve_for(rows, events.get(row.id, {}), campaign.launched_at).get(ms.key)
        if due is None:
            continue  # its event has not happened: no deadline for this school yet
        overdue = now > due
        if manual:
            todays = [ReminderPoint(plan.offset_key, now, overdue, frozenset({ACTOR, DIGEST}))]
        else:
            todays = [p for p in reminder_points(milestone, due_at=due) if local(p.at).date() == day]
        if overdue:
            late.append(row)
            plan.late_schools += 1
        if any(DIGEST in p.audiences for p in todays if p.overdue):
            digest_due = True
        point = next((p for p in todays if ACTOR in p.audiences), None)
        if point is None or ms.actor != Actor.SCHOOL.value:
            continue
        recipients = split_emails(row.emails)
        if not recipients:
            plan.schools_without_email.append(row.name)
            continue
        own_key = f"{point.offset_key}@{local(due):%Y%m%d}"
        keyed = [(f"r:{campaign.id}:{row.school_id}:{ms.key}:{own_key}:{a.lower()}", a) for a in recipients]
        keyed = [(k, a) for k, a in keyed if k not in skip_keys]
        if not keyed:
            continue
        rendered = templates.render("reminder", {
            "campaign_title": campaign.title, "milestone_title": ms.title, "stage_label": target.label,
            "deadline": vn_datetime(due), "days_left_text": days_left_text(due, now), "overdue": overdue,
            "sender_name": settings.from_name, "now_text": vn_datetime(now), "school_name": row.name,
            "current_stage_label": Stage(row.state).label, "next_step": next_step,
            "link": school_link(settings, row.id)})
        for key, addr in keyed:
            plan.rows.append(outbox_row(
                dedup_key=key, kind="reminder", recipient=addr, subject=rendered.subject,
                body_text=rendered.text, body_html=rendered.html, unit_id=row.school_id, assessment_id=row.id,
                campaign_id=campaign.id, milestone_key=ms.key, offset_key=plan.offset_key, now=now,
                not_before=not_before, headers=headers, useful_until=useful_until(due, now, settings)))
    plan.overdue = bool(late)
    if late and digest_due:
        common = {"campaign_title": campaign.title, "milestone_title": ms.title, "stage_label": target.label,
                  "deadline": "hạn riêng của từng cơ sở", "days_left_text": "", "overdue": True,
                  "sender_name": settings.from_name, "now_text": vn_datetime(now)}
        keys: dict[str, Any] = {"campaign_id": campaign.id, "milestone_key": ms.key, "offset_key": plan.offset_key, "now": now,
                "not_before": not_before, "headers": headers,
                "useful_until": now + timedelta(hours=settings.reminder_grace_hours)}
        _add_digests(session, plan, late, common, keys, settings, templates, f"{ms.key}:{plan.offset_key}")
    return plan


def fan_out_reminder(
    session: Session, campaign_id: int, milestone_key: str, offset_key: str, now: datetime
) -> int:
    """Write the outbox rows of one reminder; returns how many were new. The caller commits.

    Safe to repeat: rows already written (same campaign, school, milestone, offset and
    recipient) are skipped by the unique key.
    """
    # A re-run (restart, catch-up) should not re-render 50k mails only to discard them.
    existing = set(session.scalars(
        select(OutboxMessage.dedup_key).where(
            OutboxMessage.campaign_id == campaign_id, OutboxMessage.milestone_key == milestone_key,
            OutboxMessage.offset_key == offset_key,
        )
    ))
    plan = plan_reminder(session, campaign_id, milestone_key, offset_key, now, skip_keys=existing)
    # The unique key still decides: a concurrent run may have written rows since the SELECT.
    return insert_ignoring_duplicates(session, plan.rows)


def fan_out_reminder_chunked(
    engine: Engine, campaign_id: int, milestone_key: str, offset_key: str, now: datetime,
    *, chunk: int | None = None,
) -> int:
    """Like `fan_out_reminder`, committing every `chunk` rows in its own short transaction.

    At national scale one transaction of 54,000 rows holds SQLite's write lock for seconds;
    chunks keep every other writer (web requests, the sender's marks) moving. A crash between
    chunks leaves some rows written: the re-run skips them by their unique key, so each mail
    is still written exactly once.
    """
    settings = load_settings()
    size = chunk or settings.fanout_chunk

    def plan() -> FanOutPlan:
        with Session(engine) as session:
            existing = set(session.scalars(
                select(OutboxMessage.dedup_key).where(
                    OutboxMessage.campaign_id == campaign_id, OutboxMessage.milestone_key == milestone_key,
                    OutboxMessage.offset_key == offset_key,
                )
            ))
            return plan_reminder(session, campaign_id, milestone_key, offset_key, now,
                                 settings=settings, skip_keys=existing)

    rows = dbretry.run_sync(plan, what="lập danh sách thư nhắc hạn").rows
    written = 0
    for start in range(0, len(rows), size):
        # partial, not a closure over the loop variable: a retried write keeps its own chunk.
        written += dbretry.run_sync(partial(_write_chunk, engine, rows[start:start + size]),
                                    what="ghi thư nhắc hạn vào hàng đợi")
    return written


def _write_chunk(engine: Engine, part: list[dict[str, Any]]) -> int:
    with Session(engine) as session:
        n = insert_ignoring_duplicates(session, part)
        session.commit()
        return n
