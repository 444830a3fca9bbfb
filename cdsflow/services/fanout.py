"""Fan-out: when a reminder job fires, turn "milestone M, offset O" into outbox rows.

The database says which schools have not yet reached the milestone's stage (one SQL query over
the `assessment.state` column); each recipient of each such school gets one row, and once the
deadline has passed each supervisor gets one digest listing its late schools. All rows are
written with INSERT … ON CONFLICT DO NOTHING (in the caller's transaction, or in chunks of
short transactions for the scheduler), so a re-run after a crash adds only what is missing.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select as sa_select  # plain table columns, any number of them
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.reminders import ACTOR, DIGEST, ReminderPoint, offset_audiences, reminder_points
from cdsflow.calendars.submission import closed_to_new_sends
from cdsflow.calendars.timeutil import days_left_text, local, next_sending_instant, vn_datetime
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Actor, CampaignStatus, Stage
from cdsflow.notifications import dbretry
from cdsflow.notifications.outbox import insert_counting, insert_ignoring_duplicates, outbox_row
from cdsflow.notifications.rendering import Rendered, TemplateSet, default_templates
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


Request = tuple[int, str, str]  # (campaign_id, milestone_key, offset_key)


def _load_many(session: Session, requests: Sequence[Request]) -> dict[Request, tuple[Any, Any]]:
    """Each request's campaign and milestone (plain rows with the columns a plan reads), two
    queries for all; the first missing one is named."""
    cids = sorted({r[0] for r in requests})
    campaigns: dict[int, Any] = {}
    found: dict[tuple[int, str], Any] = {}
    keys = sorted({r[1] for r in requests})
    c = Campaign.__table__.c  # type: ignore[attr-defined]  # SQLModel sets it
    m = CampaignMilestone.__table__.c  # type: ignore[attr-defined]
    for start in range(0, len(cids), _IN_CHUNK):
        part = cids[start:start + _IN_CHUNK]
        campaigns.update((row.id, row) for row in session.execute(
            sa_select(c.id, c.title, c.status, c.issuer_id, c.launched_at).where(c.id.in_(part))))
        for ms in session.execute(sa_select(m.campaign_id, m.key, m.title, m.actor, m.stage, m.due_at, m.opens_at,
                                            m.reminders, m.relative)
                                  .where(m.campaign_id.in_(part), m.key.in_(keys))):
            found[(ms.campaign_id, ms.key)] = ms
    out = {}
    for req in requests:
        campaign_id, milestone_key, _ = req
        if campaign_id not in campaigns:
            raise NotFound(f"Không tìm thấy kế hoạch (chiến dịch) số {campaign_id}")
        if (campaign_id, milestone_key) not in found:
            raise NotFound(f"Kế hoạch số {campaign_id} không có mốc thời gian {milestone_key!r}")
        out[req] = (campaigns[campaign_id], found[(campaign_id, milestone_key)])
    return out


# Ids per IN (…) list: well under SQLite's bound variables, few round trips at national scale.
_IN_CHUNK = 5000


def _reply_headers(session: Session, campaigns: Sequence[Any]) -> dict[int, dict[str, str]]:
    """Replies go to the officers who issued the plan, not to a no-reply robot."""
    issuer_ids = sorted({c.issuer_id for c in campaigns})
    emails = dict(session.execute(select(col(Unit.id), col(Unit.emails)).where(col(Unit.id).in_(issuer_ids))).all())
    out = {}
    for c in campaigns:
        first = split_emails(emails.get(c.issuer_id) or "")
        out[c.id] = {"Reply-To": first[0]} if first else {}
    return out


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
    return plan_reminders(session, [(campaign_id, milestone_key, offset_key)], now, settings=settings,
                          templates=templates, skip_keys=skip_keys, base_url=base_url)[0]


def plan_reminders(
    session: Session,
    requests: Sequence[Request],
    now: datetime,
    *,
    settings: MailSettings | None = None,
    templates: TemplateSet | None = None,
    skip_keys: set[str] | frozenset[str] = frozenset(),
    base_url: str | None = None,
) -> list[FanOutPlan]:
    """`plan_reminder` for many (campaign, milestone, offset) at once, one plan per request in order.

    The late schools of every campaign reminded of one stage come from one query (a Sở's 3,321
    ward plans fire the same point on the same day), and the mails of one template and
    context are rendered once (`TemplateSet.splicer`)."""
    if now.tzinfo is None:
        raise InvalidInput("Thời điểm gửi phải có múi giờ")
    settings = settings or load_settings()
    if base_url:
        settings = replace(settings, base_url=base_url.rstrip("/"))
    templates = templates or default_templates()
    loaded = _load_many(session, requests)
    headers = _reply_headers(session, list({c.id: c for c, _ in loaded.values()}.values()))
    plans: dict[Request, FanOutPlan] = {}
    by_stage: dict[str, list[Request]] = defaultdict(list)
    for req in dict.fromkeys(requests):
        campaign, ms = loaded[req]
        plan = plans[req] = FanOutPlan(*req)
        if campaign.status in _SILENT:
            plan.skipped_reason = f"kế hoạch đang ở trạng thái {CampaignStatus(campaign.status).label}"
        elif not ms.stage:
            plan.skipped_reason = "mốc này không gắn với giai đoạn nào của trường"
        elif ms.relative:
            _plan_own_deadlines(session, plan, campaign, ms, Stage(ms.stage), now, settings, templates, skip_keys,
                                headers[campaign.id])
        else:
            by_stage[ms.stage].append(req)
    renders = _Renders(templates)
    for stage, reqs in by_stage.items():
        target = Stage(stage)
        late_of = _late_schools(session, sorted({r[0] for r in reqs}), target)
        # The school hears only while it can still do what the mail asks (issue 23: reminders never
        # ask for a send that cannot be made); its supervisor's digest still lists it.
        may_send = _can_still_send(session, target, late_of, now)
        supervisors = _units(session, {row.supervisor_id for rows in late_of.values() for row in rows
                                       if row.supervisor_id is not None})
        for req in reqs:
            campaign, ms = loaded[req]
            _plan_fixed(plans[req], campaign, ms, target, late_of.get(campaign.id, []),
                        may_send.get(campaign.id, []), now, settings, renders,
                        skip_keys, headers[campaign.id], supervisors)
    return [plans[r] for r in requests]


def _late_schools(session: Session, campaign_ids: list[int], target: Stage) -> dict[int, list[Any]]:
    """Per campaign, its schools not yet at `target`, in the reminder order (by supervisor, then
    name), without those whose own deadline for the stage replaces the campaign's fixed one."""
    out: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(campaign_ids), _IN_CHUNK):
        part = campaign_ids[start:start + _IN_CHUNK]
        for row in session.execute(
            select(  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
                col(Assessment.id), col(Assessment.state), col(Unit.id).label("school_id"), col(Unit.name),
                col(Unit.emails), Unit.supervisor_id, col(Assessment.campaign_id),
            )
            .join(Unit, Unit.id == Assessment.school_id)
            .where(col(Assessment.campaign_id).in_(part), col(Assessment.state).in_(earlier_stages(target)))
            .order_by(col(Assessment.campaign_id), Unit.supervisor_id, vi_order(Unit.name), Unit.id)
        ):
            out[row.campaign_id].append(row)
        # Schools whose own deadline for this stage replaces this fixed one are reminded by it instead:
        # only the campaigns with such a deadline are asked.
        m = CampaignMilestone.__table__.c  # type: ignore[attr-defined]  # SQLModel sets it
        with_own = session.scalars(select(m.campaign_id).distinct().where(
            m.campaign_id.in_(part), m.relative.is_not(None), m.stage == target.value)).all()
        for cid in with_own:
            if out.get(cid):
                skip = superseded(session, cid, target, [r.id for r in out[cid]])
                out[cid] = [r for r in out[cid] if r.id not in skip]
    return out


def _can_still_send(session: Session, target: Stage, late_of: dict[int, list[Any]],
                    now: datetime) -> dict[int, list[Any]]:
    """Per campaign, the late schools a reminder may still ask to act: all of them, except for the
    proposal once the campaign's form has closed, when only those an officer returned with one
    more send granted can still send (`calendars.submission.closed_to_new_sends`)."""
    if target != Stage.PROPOSAL:
        return late_of
    policies = deadlines.proposal_policies(session, sorted(cid for cid, rows in late_of.items() if rows))
    closed = {cid for cid, policy in policies.items() if closed_to_new_sends(policy, now)}
    if not closed:
        return late_of
    ids = [row.id for cid in closed for row in late_of[cid]]
    granted: set[int] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        granted |= extra_send_ids(session, ids[start:start + _IN_CHUNK])
    return {cid: [r for r in rows if r.id in granted] if cid in closed else rows for cid, rows in late_of.items()}


def _units(session: Session, ids: set[int]) -> dict[int, Any]:
    """The supervisors' names and addresses (plain rows: a Sở has 3,321 of them)."""
    out: dict[int, Any] = {}
    ordered = sorted(ids)
    u = Unit.__table__.c  # type: ignore[attr-defined]  # SQLModel sets it
    for start in range(0, len(ordered), _IN_CHUNK):
        out.update((row.id, row) for row in session.execute(
            select(u.id, u.name, u.emails).where(u.id.in_(ordered[start:start + _IN_CHUNK]))))
    return out


class _Renders:
    """Reminders rendered once per shared context and spliced per school (`TemplateSet.splicer`);
    each splicer is checked once against a plain render, and a template that prints the values in
    any other way is rendered mail by mail."""

    PER_SCHOOL = ("campaign_title", "school_name", "current_stage_label", "link")

    def __init__(self, templates: TemplateSet) -> None:
        self.templates = templates
        self.splicers: dict[tuple[Any, ...], Any] = {}

    def reminder(self, shared: dict[str, Any]) -> Callable[[dict[str, str]], Rendered]:
        """The renderer of the reminders sharing `shared` (every value but the school's own:
        school_name, current_stage_label, link); a plan's ward title is spliced too, so a Sở's
        ward plans share one splicer."""
        # The shared values (str, bool) are the key; each call site builds them in one order.
        key = tuple([(k, v) for k, v in shared.items() if k not in self.PER_SCHOOL])
        title = shared["campaign_title"]

        def render(school: dict[str, str]) -> Rendered:
            splicer = self.splicers.get(key, False)
            if splicer is False:
                context = {**shared, **school}
                splicer = self.templates.splicer("reminder", context, self.PER_SCHOOL)
                if splicer is not None and splicer.render(context) != self.templates.render("reminder", context):
                    splicer = None  # never expected; a plain render is always right
                self.splicers[key] = splicer
            if splicer is None:
                return self.templates.render("reminder", {**shared, **school})
            school["campaign_title"] = title
            return splicer.render(school)

        return render

    PER_DIGEST = ("campaign_title", "supervisor_name", "count", "link")

    def digest(self, shared: dict[str, Any]) -> Callable[[dict[str, Any]], Rendered]:
        """The renderer of the digests sharing `shared` (all but PER_DIGEST and the schools),
        spliced like the reminders when the templates only print the schools' fields in a loop."""
        key = ("digest", *[(k, v) for k, v in shared.items() if k not in self.PER_DIGEST])

        def render(own: dict[str, Any]) -> Rendered:
            context = {**shared, **own}
            splicer = self.splicers.get(key, False)
            if splicer is False:
                splicer = self.templates.list_splicer("overdue_digest", context, self.PER_DIGEST, "schools",
                                                      ("name", "stage_label"))
                if splicer is not None and (splicer.render(context, context["schools"])
                                            != self.templates.render("overdue_digest", context)):
                    splicer = None  # never expected; a plain render is always right
                self.splicers[key] = splicer
            if splicer is None:
                return self.templates.render("overdue_digest", context)
            return splicer.render(context, context["schools"])

        return render


_STAGE_LABELS = {s.value: s.label for s in Stage}


def _plan_fixed(plan: FanOutPlan, campaign: Any, ms: Any, target: Stage, late: list[Any], to_remind: list[Any],
                now: datetime, settings: MailSettings, renders: _Renders, skip_keys: set[str] | frozenset[str],
                headers: dict[str, str], supervisors: dict[int, Any]) -> None:
    """A dated milestone's point: each late school's recipients, then (overdue, or a supervisor's
    own milestone) one digest per supervisor."""
    templates = renders.templates
    campaign_id, milestone_key, offset_key = plan.campaign_id, plan.milestone_key, plan.offset_key
    policy = as_milestone(ms).reminders
    assert ms.due_at is not None  # a milestone that is not relative has its date
    plan.overdue = now > ms.due_at
    # Who this point is for (FORMAT.md "Reminders"): the school's cadence and the digest's differ.
    audiences = offset_audiences(policy, offset_key) if policy is not None else frozenset({ACTOR, DIGEST})
    plan.late_schools = len(late)
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
    keys: dict[str, Any] = {"campaign_id": campaign_id, "milestone_key": milestone_key, "offset_key": offset_key,
            "now": now, "not_before": not_before, "headers": headers,
            "useful_until": useful_until(ms.due_at, now, settings)}
    if ms.actor == Actor.SCHOOL.value and ACTOR in audiences:
        render = renders.reminder({**common, "next_step": templates.next_steps[target.value]})
        # Every reminder row of the plan is this one with its own key, school and body (one dict
        # copy per row: 54,000 rows at national scale).
        base = outbox_row(dedup_key="", kind="reminder", recipient="", subject="", body_text="", body_html="",
                          **keys)
        prefix, suffix = f"r:{campaign_id}:", f":{milestone_key}:{offset_key}:"
        append = plan.rows.append
        for aid, state, school_id, name, emails, _, _ in to_remind:  # the columns of _late_schools
            recipients = split_emails(emails)
            if not recipients:
                plan.schools_without_email.append(name)
                continue
            school = f"{prefix}{school_id}{suffix}"
            keyed = [(k, a) for a in recipients if (k := school + a.lower()) not in skip_keys]
            if not keyed:
                continue
            subject, text, html = render({"school_name": name, "current_stage_label": _STAGE_LABELS[state],
                                          "link": school_link(settings, aid)})
            for key, addr in keyed:
                append({**base, "dedup_key": key, "recipient": addr, "subject": subject, "body_text": text,
                        "body_html": html, "unit_id": school_id, "assessment_id": aid})
    # Escalation: after the deadline (or for a supervisor's own milestone) one digest per
    # supervisor listing its late schools, never one mail per school.
    wants_digest = (plan.overdue and DIGEST in audiences) or (ms.actor != Actor.SCHOOL.value and (
        not plan.overdue or bool(audiences)))
    if late and wants_digest:
        _add_digests(None, plan, late, common, keys, settings, renders, f"{milestone_key}:{offset_key}",
                     supervisors)


def _add_digests(session: Session | None, plan: FanOutPlan, late: Sequence[Any], common: dict[str, Any],
                 keys: dict[str, Any], settings: MailSettings, renders: _Renders, dedup_part: str,
                 supervisors: dict[int, Any] | None = None) -> None:
    """One digest per supervisor listing its late schools, never one mail per school.

    `supervisors`, when given, holds every supervisor's unit (else they are read here)."""
    campaign_id = plan.campaign_id
    by_supervisor: dict[int, list[Any]] = defaultdict(list)
    for row in late:
        if row.supervisor_id is not None:
            by_supervisor[row.supervisor_id].append(row)
    if supervisors is None:
        assert session is not None
        supervisors = _units(session, set(by_supervisor))
    render = renders.digest(common)
    for sup_id, rows in by_supervisor.items():
        sup = supervisors[sup_id]
        recipients = split_emails(sup.emails)
        if not recipients:
            continue
        rendered = render({
            "supervisor_name": sup.name,
            "count": len(rows),
            "schools": [{"name": r.name, "stage_label": _STAGE_LABELS[r.state]} for r in rows],
            "link": campaign_link(settings, campaign_id),
        })
        plan.digests += 1
        for addr in recipients:
            plan.rows.append(
                outbox_row(
                    dedup_key=f"d:{campaign_id}:{sup_id}:{dedup_part}:{addr.lower()}",
                    kind="overdue_digest", recipient=addr, subject=rendered.subject,
                    body_text=rendered.text, body_html=rendered.html, unit_id=sup_id, **keys,
                )
            )


def _plan_own_deadlines(session: Session, plan: FanOutPlan, campaign: Any, ms: Any,
                        target: Stage, now: datetime, settings: MailSettings, templates: TemplateSet,
                        skip_keys: set[str] | frozenset[str], headers: dict[str, str]) -> FanOutPlan:
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
    # Once per anchor day, not per school (a returned file's window counts from the return's day).
    dues = deadlines.resolve_many(rows, events, [r.id for r in schools], campaign.launched_at)
    not_before = next_sending_instant(now)
    late, digest_due = [], False
    next_step = templates.next_steps[target.value]
    renders = _Renders(templates)
    todays_of: dict[datetime, list[ReminderPoint]] = {}
    for row in schools:
        due = dues[row.id].get(ms.key)
        if due is None:
            continue  # its event has not happened: no deadline for this school yet
        overdue = now > due
        if manual:
            todays = [ReminderPoint(plan.offset_key, now, overdue, frozenset({ACTOR, DIGEST}))]
        else:
            # Once per deadline, not per school: schools returned on the same day share it.
            todays = todays_of.get(due)
            if todays is None:
                todays = todays_of[due] = [p for p in reminder_points(milestone, due_at=due)
                                           if local(p.at).date() == day]
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
        rendered = renders.reminder({
            "campaign_title": campaign.title, "milestone_title": ms.title, "stage_label": target.label,
            "deadline": vn_datetime(due), "days_left_text": days_left_text(due, now), "overdue": overdue,
            "sender_name": settings.from_name, "now_text": vn_datetime(now), "next_step": next_step,
        })({"school_name": row.name, "current_stage_label": Stage(row.state).label,
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
        _add_digests(session, plan, late, common, keys, settings, renders, f"{ms.key}:{plan.offset_key}")
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
    """Like `fan_out_reminder`, committing every `chunk` rows in its own short transaction."""
    return fan_out_many(engine, [(campaign_id, milestone_key, offset_key)], now, chunk=chunk)[
        (campaign_id, milestone_key, offset_key)]


# Campaigns planned together: one plan's rows are held in memory until written (about 16 per
# school at most with a Sở's ward plans, so a few thousand rows), and one query serves them all.
PLAN_BATCH = 250


def fan_out_many(
    engine: Engine, requests: Sequence[Request], now: datetime, *, chunk: int | None = None,
) -> dict[Request, int]:
    """Write the outbox rows of many (campaign, milestone, offset) points; how many each added.

    Planned a batch of campaigns at a time (`plan_reminders`: one query per stage for the batch),
    written `chunk` rows per short transaction. At national scale one transaction of 54,000 rows
    holds SQLite's write lock for seconds; chunks keep every other writer (web requests, the
    sender's marks) moving. A crash between chunks leaves some rows written: the re-run skips
    them (read first, then the unique key decides), so each mail is still written exactly once.
    """
    settings = load_settings()
    size = chunk or settings.fanout_chunk
    written: Counter[Request] = Counter()
    requests = list(dict.fromkeys(requests))
    for start in range(0, len(requests), PLAN_BATCH):
        batch = requests[start:start + PLAN_BATCH]

        def plan(batch: list[Request] = batch) -> list[FanOutPlan]:
            with Session(engine) as session:
                # A re-run (restart, catch-up) should not re-render 50k mails only to discard them.
                return plan_reminders(session, batch, now, settings=settings,
                                      skip_keys=_existing_keys(session, batch))

        rows = [row for p in dbretry.run_sync(plan, what="lập danh sách thư nhắc hạn") for row in p.rows]
        for at in range(0, len(rows), size):
            # partial, not a closure over the loop variable: a retried write keeps its own chunk.
            written.update(dbretry.run_sync(partial(_write_chunk, engine, rows[at:at + size]),
                                            what="ghi thư nhắc hạn vào hàng đợi"))
    return {req: written[req] for req in requests}


def _existing_keys(session: Session, requests: Sequence[Request]) -> set[str]:
    by_point: dict[tuple[str, str], list[int]] = defaultdict(list)
    for cid, mk, ok in requests:
        by_point[(mk, ok)].append(cid)
    out: set[str] = set()
    for (mk, ok), cids in by_point.items():
        out.update(session.scalars(select(OutboxMessage.dedup_key).where(
            col(OutboxMessage.campaign_id).in_(cids), OutboxMessage.milestone_key == mk, OutboxMessage.offset_key == ok)))
    return out


def _write_chunk(engine: Engine, part: list[dict[str, Any]]) -> Counter[Request]:
    """One short transaction; the new rows counted per (campaign, milestone, offset)."""
    with Session(engine) as session:
        new = insert_counting(session, part, ("campaign_id", "milestone_key", "offset_key"))
        session.commit()
        return new  # keyed by (campaign, milestone, offset)
