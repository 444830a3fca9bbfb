"""Plan reminder jobs from a campaign's milestones: one job per (campaign, milestone, offset).

The instants come from the calendars' `reminder_points` (working days, quiet hours, holidays);
nothing here does date arithmetic. Jobs have fixed ids, so planning again replaces them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.calendars.model import Milestone, ReminderPolicy
from cdsflow.calendars.reminders import reminder_points
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.tables import Campaign, CampaignMilestone
from cdsflow.workflow.stages import Actor, CampaignStatus, Stage

# Campaigns whose schools still have deadlines to be reminded of.
ACTIVE = (CampaignStatus.LAUNCHED.value, CampaignStatus.REVIEWING.value, CampaignStatus.RECOGNISED.value)
JOB_PREFIX = "remind"
# A reminder whose instant passed less than this long ago and that never ran (campaign launched
# or worker started just after it) is caught up: only the latest such point per milestone.
CATCH_UP = timedelta(days=2)


@dataclass(frozen=True)
class PlannedReminder:
    job_id: str
    campaign_id: int
    milestone_key: str
    offset_key: str
    at: datetime
    overdue: bool


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


def reminders_for(campaign_id: int, rows: list[CampaignMilestone], *, after: datetime | None = None) -> list[PlannedReminder]:
    """Pure: every reminder of the campaign's milestones that have a stage to check, after `after`."""
    out: list[PlannedReminder] = []
    for row in rows:
        milestone = as_milestone(row)
        if not row.stage or milestone.reminders is None:
            continue  # nothing the database can check, or the calendar asks for no reminder
        for p in reminder_points(milestone):
            if after is None or p.at > after:
                out.append(PlannedReminder(job_id(campaign_id, row.key, p.offset_key), campaign_id,
                                           row.key, p.offset_key, p.at, p.overdue))
    return sorted(out, key=lambda r: (r.at, r.job_id))


def campaign_reminders(session: Session, campaign_id: int, *, after: datetime | None = None) -> list[PlannedReminder]:
    rows = list(session.scalars(
        select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id).order_by(CampaignMilestone.position)
    ))
    return reminders_for(campaign_id, rows, after=after)


def _missed(session: Session, campaign_id: int, reminders: list[PlannedReminder], now: datetime) -> list[PlannedReminder]:
    """The latest recently passed point of each milestone, if it wrote nothing to the outbox."""
    latest: dict[str, PlannedReminder] = {}
    for r in reminders:
        if now - CATCH_UP < r.at <= now:
            latest[r.milestone_key] = r  # sorted by time: the last one wins
    out = []
    for r in latest.values():
        done = session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.campaign_id == campaign_id, OutboxMessage.milestone_key == r.milestone_key,
                OutboxMessage.offset_key == r.offset_key,
            ).limit(1)
        )
        if done is None:
            out.append(r)
    return out


def plan_campaign(scheduler: BaseScheduler, campaign_id: int, *, engine: Engine | None = None,
                  now: datetime | None = None) -> list[PlannedReminder]:
    """(Re)plan the reminder jobs of one campaign; jobs no longer wanted are removed.

    Future points get a job each; a point passed within CATCH_UP that never wrote mail is
    planned too (APScheduler runs it at once, within its misfire grace). Running it twice is
    harmless: the outbox's unique key keeps each mail single.
    """
    from cdsflow.scheduler.jobs import get_engine, reminder_job

    engine = engine or get_engine()
    now = now or datetime.now(timezone.utc)
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        wanted: list[PlannedReminder] = []
        if campaign is not None and campaign.status in ACTIVE:
            every = campaign_reminders(session, campaign_id)
            wanted = _missed(session, campaign_id, every, now) + [r for r in every if r.at > now]
    keep = {r.job_id for r in wanted}
    prefix = f"{JOB_PREFIX}:{campaign_id}:"
    for job in scheduler.get_jobs():
        if job.id.startswith(prefix) and job.id not in keep:
            job.remove()
    for r in wanted:
        scheduler.add_job(
            reminder_job, trigger="date", run_date=r.at, args=[campaign_id, r.milestone_key, r.offset_key],
            id=r.job_id, name=f"Nhắc hạn {r.milestone_key} ({r.offset_key}), kế hoạch {campaign_id}",
            replace_existing=True,
        )
    return wanted


def plan_all(scheduler: BaseScheduler, engine: Engine, *, now: datetime | None = None) -> int:
    """Plan every campaign that has jobs or should have some; returns the number of jobs."""
    with Session(engine) as session:
        ids = set(session.scalars(select(Campaign.id).where(Campaign.status.in_(ACTIVE))))
    prefix = f"{JOB_PREFIX}:"
    ids |= {int(j.id.split(":")[1]) for j in scheduler.get_jobs() if j.id.startswith(prefix)}
    return sum(len(plan_campaign(scheduler, cid, engine=engine, now=now)) for cid in sorted(ids))
