"""The reminder points of a campaign: one per (campaign, milestone, offset), from the
milestone snapshot taken at launch.

The instants come from the calendars' `reminder_points` (working days, quiet hours, holidays);
nothing here does date arithmetic. `cdsflow.scheduler.ticker` runs the points that are due.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Milestone, ReminderPolicy
from cdsflow.calendars.reminders import reminder_points
from cdsflow.kernel.stages import Actor, CampaignStatus, Stage
from cdsflow.storage.tables import NOT_PLANNED, CampaignMilestone
from cdsflow.workflow.rulebook import rule

# Campaigns whose schools still have deadlines to be reminded of.
# Campaigns whose reminders run: the statuses the rulebook's `remind` allows (a draft, published or
# closed campaign reminds nobody).
_REMIND_STATUSES = rule("remind").campaign
assert _REMIND_STATUSES is not None  # the rule names its statuses
ACTIVE = tuple(s.value for s in CampaignStatus if s in _REMIND_STATUSES)
JOB_PREFIX = "remind"


@dataclass(frozen=True)
class PlannedReminder:
    job_id: str
    campaign_id: int
    milestone_key: str
    offset_key: str
    at: datetime
    overdue: bool
    due_at: datetime | None = None  # the milestone's deadline


def job_id(campaign_id: int, milestone_key: str, offset_key: str) -> str:
    return f"{JOB_PREFIX}:{campaign_id}:{milestone_key}:{offset_key}"


def as_milestone(row: CampaignMilestone, policy: ReminderPolicy | None = None) -> Milestone:
    """The calendar view of a campaign's milestone snapshot, with the calendar's reminder policy."""
    if policy is None:
        policy = ReminderPolicy() if row.reminders is None else (
            ReminderPolicy.from_dict(row.reminders) if row.reminders else None)
    return Milestone(
        key=row.key, title=row.title, actor=Actor(row.actor), stage=Stage(row.stage) if row.stage else None,
        due_at=row.due_at, opens_at=row.opens_at, reminders=policy,
    )


SWEEP = "sweep-"


def sweep_key(day: date) -> str:
    return f"{SWEEP}{day.isoformat()}"


def sweep_day(offset_key: str) -> date | None:
    """The day of a relative milestone's daily sweep, or None for an ordinary point."""
    return date.fromisoformat(offset_key.removeprefix(SWEEP)) if offset_key.startswith(SWEEP) else None


def sweeps_for(campaign_id: int, rows: list[Any], day: date) -> list[PlannedReminder]:
    """Pure: a relative milestone has no date of its own; each working day one sweep looks for the
    schools one of whose own reminder points (from their own deadline) falls on that day."""
    if not timeutil.is_working_day(day):
        return []
    at = timeutil.sending_morning(day)
    return [PlannedReminder(job_id(campaign_id, row.key, sweep_key(day)), campaign_id, row.key, sweep_key(day),
                            at, True, None)
            for row in rows if sweeps(row)]


def reminders_for(campaign_id: int, rows: list[CampaignMilestone], *, after: datetime | None = None) -> list[PlannedReminder]:
    """Pure: every reminder of the campaign's dated milestones that have a stage to check, after `after`."""
    out: list[PlannedReminder] = []
    for row in rows:
        milestone = as_milestone(row)
        if not row.stage or milestone.reminders is None or row.due_at is None:
            continue  # nothing the database can check, the calendar asks for no reminder, or no fixed date
        for p in reminder_points(milestone):
            if after is None or p.at > after:
                out.append(PlannedReminder(job_id(campaign_id, row.key, p.offset_key), campaign_id,
                                           row.key, p.offset_key, p.at, p.overdue, row.due_at))
    return sorted(out, key=lambda r: (r.at, r.job_id))


# Reminder points per milestone, keyed by what they are computed from: working-day arithmetic over
# holidays for every campaign would cost seconds at national scale, and a Sở's 3,321 ward plans
# repeat one calendar. Each entry: the points' instants (sorted) and the points (campaign 0).
_POINTS: dict[tuple[Any, ...], tuple[list[datetime], list[PlannedReminder]]] = {}
_POINTS_MAX = 4096


def _fingerprint(row: Any) -> tuple[Any, ...]:
    return (row.key, row.actor, row.stage, row.due_at, row.opens_at, repr(row.reminders), repr(row.relative))


def milestone_points(row: Any) -> tuple[list[datetime], list[PlannedReminder]]:
    """The dated points of one milestone row (any object with its columns), for campaign 0: the
    same for every campaign sharing the milestone. Cached."""
    key = _fingerprint(row)
    cached = _POINTS.get(key)
    if cached is None:
        if len(_POINTS) >= _POINTS_MAX:
            _POINTS.clear()
        points = reminders_for(0, [row])
        cached = _POINTS[key] = ([p.at for p in points], points)
    return cached


def sweeps(row: Any) -> bool:
    """Whether a milestone row is reminded by daily sweeps (a relative one that asks for reminders)."""
    return bool(getattr(row, "relative", None) and row.stage and row.reminders != {})


def first_reminder_at(row: Any) -> datetime | None:
    """When a just-launched milestone first has work for the scheduler (its `next_reminder_at`):
    its earliest point (one already past is caught up by the next tick), NOT_PLANNED for daily
    sweeps (the next tick plans them), None when nothing is ever reminded."""
    if sweeps(row):
        return NOT_PLANNED
    ats, _ = milestone_points(row)
    return ats[0] if ats else None


def campaign_reminders(session: Session, campaign_id: int, *, after: datetime | None = None,
                       day: date | None = None) -> list[PlannedReminder]:
    """The campaign's dated points, plus the sweeps of its relative milestones on `day`."""
    rows = list(session.scalars(
        select(CampaignMilestone).where(col(CampaignMilestone.campaign_id) == campaign_id)
        .order_by(col(CampaignMilestone.position))
    ))
    out = reminders_for(campaign_id, rows, after=after)
    if day is not None:
        out += sweeps_for(campaign_id, rows, day)
    return sorted(out, key=lambda r: (r.at, r.job_id))
