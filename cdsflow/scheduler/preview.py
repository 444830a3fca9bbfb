"""`remind preview`: what the reminder jobs would write on a given day, without writing it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdsflow.calendars.model import RelativeRule
from cdsflow.calendars.reminders import describe_policy
from cdsflow.calendars.timeutil import format_instant_vi, local
from cdsflow.kernel.errors import NotFound
from cdsflow.services.fanout import FanOutPlan, plan_reminder
from cdsflow.services.planner import ACTIVE, PlannedReminder, as_milestone, campaign_reminders
from cdsflow.storage.tables import Campaign, CampaignMilestone


@dataclass(frozen=True)
class PreviewItem:
    reminder: PlannedReminder
    plan: FanOutPlan

    @property
    def messages(self) -> int:
        return len(self.plan.rows)


def preview_day(session: Session, day: date, *, campaign_id: int | None = None) -> list[PreviewItem]:
    """Every reminder job firing on `day` (Vietnam), with the mail it would write, as of now's data."""
    if campaign_id is not None:
        if session.get(Campaign, campaign_id) is None:
            raise NotFound(f"Không tìm thấy kế hoạch (chiến dịch) số {campaign_id}")
        ids = [campaign_id]
    else:
        ids = list(session.scalars(select(Campaign.id).where(Campaign.status.in_(ACTIVE)).order_by(Campaign.id)))
    items: list[PreviewItem] = []
    for cid in ids:
        for r in campaign_reminders(session, cid, day=day):
            if local(r.at).date() == day:
                items.append(PreviewItem(r, plan_reminder(session, cid, r.milestone_key, r.offset_key, r.at)))
    return sorted(items, key=lambda i: (i.reminder.at, i.reminder.job_id))


@dataclass(frozen=True)
class PolicyLine:
    campaign_id: int
    milestone_key: str
    title: str
    deadline: str
    policy: str


def policy_lines(session: Session, *, campaign_id: int | None = None) -> list[PolicyLine]:
    """Each milestone's reminder policy as the calendar set it, for `remind preview`."""
    query = select(CampaignMilestone).join(Campaign, Campaign.id == CampaignMilestone.campaign_id)
    query = query.where(CampaignMilestone.campaign_id == campaign_id) if campaign_id is not None else query.where(
        Campaign.status.in_(ACTIVE), Campaign.parent_id.is_(None))
    out = []
    for row in session.scalars(query.order_by(CampaignMilestone.campaign_id, CampaignMilestone.position)):
        if not row.stage or row.marker:
            continue
        deadline = ("hạn riêng: " + RelativeRule.from_dict(row.relative).describe() if row.relative
                    else format_instant_vi(row.due_at))
        out.append(PolicyLine(row.campaign_id, row.key, row.title, deadline, describe_policy(as_milestone(row).reminders)))
    return out


def first_subjects(plan: FanOutPlan, limit: int = 2) -> list[str]:
    seen: list[str] = []
    for row in plan.rows:
        if row["subject"] not in seen:
            seen.append(row["subject"])
        if len(seen) >= limit:
            break
    return seen


