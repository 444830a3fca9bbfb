"""Run the reminder points that are due, each once, whatever the worker's downtime was.

Every tick computes the due points of every active campaign from its milestone snapshot and
runs those not yet recorded in `reminder_run` (unique per campaign, milestone and offset).
Several points of one milestone that passed while the worker was away are coalesced: only the
latest runs (it reaches the same late schools, and, when overdue, their supervisors), the
earlier ones are recorded as folded into it. A point no longer useful (its deadline passed, or
an overdue point older than the grace) is recorded with that reason and sends nothing.

Exactly-once does not rest on this table alone: the fan-out writes rows keyed by (campaign,
school, milestone, offset, recipient), so a point run twice (two ticks racing, a crash between
the fan-out and its record) adds nothing the second time.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.calendars.timeutil import local
from cdsflow.notifications import dbretry
from cdsflow.notifications.settings import MailSettings, load_settings
from cdsflow.services.fanout import fan_out_reminder_chunked
from cdsflow.services.planner import ACTIVE, PlannedReminder, reminders_for, sweeps_for
from cdsflow.storage.notifications_tables import ReminderRun
from cdsflow.storage.tables import Campaign, CampaignMilestone

log = logging.getLogger(__name__)

_T = ReminderRun.__table__


@dataclass
class TickResult:
    ran: list[tuple[PlannedReminder, int]] = field(default_factory=list)  # (point, rows written)
    coalesced: list[PlannedReminder] = field(default_factory=list)
    too_late: list[PlannedReminder] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(n for _, n in self.ran)


def still_useful(point: PlannedReminder, now: datetime, settings: MailSettings) -> bool:
    """Pure: a point before the deadline is useful until the deadline, an overdue one for the
    grace after its own instant."""
    if point.overdue or point.due_at is None:
        return now < point.at + timedelta(hours=settings.reminder_grace_hours)
    return now < point.due_at


def select_due(points: list[PlannedReminder], done: set[tuple[str, str]], now: datetime,
               settings: MailSettings) -> tuple[list[PlannedReminder], list[PlannedReminder], list[PlannedReminder]]:
    """Pure: (to run, coalesced into a later one, no longer useful) among a campaign's points."""
    by_milestone: dict[str, list[PlannedReminder]] = defaultdict(list)
    for p in points:
        if p.at <= now and (p.milestone_key, p.offset_key) not in done:
            by_milestone[p.milestone_key].append(p)
    run, folded, late = [], [], []
    for due in by_milestone.values():
        due.sort(key=lambda p: p.at)
        latest = due[-1]
        folded.extend(due[:-1])
        (run if still_useful(latest, now, settings) else late).append(latest)
    return run, folded, late


# Reminder points per campaign, keyed by what they are computed from: working-day arithmetic
# over holidays for every campaign on every tick would cost seconds at national scale.
_POINTS: dict[int, tuple[tuple, list[PlannedReminder]]] = {}


def _fingerprint(rows: list[Any]) -> tuple:
    return tuple((r.key, r.actor, r.stage, r.due_at, r.opens_at, repr(r.reminders), repr(r.relative)) for r in rows)


def _points(campaign_id: int, rows: list[Any]) -> list[PlannedReminder]:
    key = _fingerprint(rows)
    cached = _POINTS.get(campaign_id)
    if cached is None or cached[0] != key:
        cached = (key, reminders_for(campaign_id, rows))
        _POINTS[campaign_id] = cached
    return cached[1]


def _record(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with Session(engine) as session:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(_T).on_conflict_do_nothing(
            index_elements=["campaign_id", "milestone_key", "offset_key"]), rows)
        session.commit()


def _row(p: PlannedReminder, now: datetime, written: int, note: str) -> dict[str, Any]:
    return {"campaign_id": p.campaign_id, "milestone_key": p.milestone_key, "offset_key": p.offset_key,
            "due_at": p.at, "ran_at": now, "written": written, "note": note[:300]}


def run_due_reminders(engine: Engine, now: datetime, *, settings: MailSettings | None = None) -> TickResult:
    """One tick: run every due, not yet run, still useful point once (coalesced per milestone)."""
    settings = settings or load_settings()
    result = TickResult()

    def load() -> list[tuple[list[PlannedReminder], set[tuple[str, str]]]]:
        with Session(engine) as session:
            active = select(Campaign.id).where(Campaign.status.in_(ACTIVE))
            # Plain rows, not ORM objects: thousands of milestones are read on every tick.
            m = CampaignMilestone.__table__.c
            milestones: dict[int, list[Any]] = defaultdict(list)
            for row in session.execute(select(m.campaign_id, m.key, m.title, m.actor, m.stage, m.due_at, m.opens_at,
                                              m.reminders, m.relative).where(m.campaign_id.in_(active))
                                       .order_by(m.campaign_id, m.position)):
                milestones[row.campaign_id].append(row)
            done: dict[int, set[tuple[str, str]]] = defaultdict(set)
            for cid, mk, ok in session.execute(select(_T.c.campaign_id, _T.c.milestone_key, _T.c.offset_key)
                                               .where(_T.c.campaign_id.in_(active))):
                done[cid].add((mk, ok))
            # Relative milestones: today's sweep (each school's own points), outside the cache.
            today = local(now).date()
            return [(_points(cid, rows) + sweeps_for(cid, rows, today), done[cid])
                    for cid, rows in sorted(milestones.items())]

    for points, done in dbretry.run_sync(load, what="đọc lịch nhắc hạn"):
        run, folded, late = select_due(points, done, now, settings)
        for p in run:
            written = fan_out_reminder_chunked(engine, p.campaign_id, p.milestone_key, p.offset_key, now,
                                               chunk=settings.fanout_chunk)
            rows = [_row(p, now, written, "")]
            rows += [_row(f, now, 0, f"gộp vào lượt {p.offset_key}") for f in folded
                     if f.milestone_key == p.milestone_key]
            dbretry.run_sync(partial(_record, engine, rows), what="ghi lượt nhắc hạn đã chạy")
            result.ran.append((p, written))
            log.info("nhắc hạn %s/%s/%s: %d thư vào hàng đợi", p.campaign_id, p.milestone_key, p.offset_key, written)
        for p in late:
            rows = [_row(p, now, 0, "không còn hữu ích khi tiến trình nền chạy lại")]
            rows += [_row(f, now, 0, f"gộp vào lượt {p.offset_key}") for f in folded
                     if f.milestone_key == p.milestone_key]
            dbretry.run_sync(partial(_record, engine, rows), what="ghi lượt nhắc hạn đã bỏ")
        result.coalesced.extend(folded)
        result.too_late.extend(late)
    return result
