"""Run the reminder points that are due, each once, whatever the worker's downtime was.

Every tick reads the milestones whose next instant of work has come (`next_reminder_at`, one
indexed range: a tick costs what is due, not what exists), computes their points from the
milestone snapshot and runs those not yet recorded in `reminder_run` (unique per campaign, milestone and offset).
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
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.calendars.timeutil import local
from cdsflow.notifications import dbretry
from cdsflow.notifications.settings import MailSettings, load_settings
from cdsflow.services import planner
from cdsflow.services.fanout import fan_out_many
from cdsflow.services.planner import ACTIVE, PlannedReminder, job_id, milestone_points, sweeps, sweeps_for
from cdsflow.storage.notifications_tables import ReminderRun
from cdsflow.storage.tables import Campaign, CampaignMilestone

log = logging.getLogger(__name__)

_T = ReminderRun.__table__


@dataclass
class TickResult:
    ran: list[tuple[PlannedReminder, int]] = field(default_factory=list)  # (point, rows written)
    # Folded points are counted, not kept: each is recorded in `reminder_run` (with the point it was
    # folded into), and a worker back after weeks away folds hundreds per campaign: kept, 3,321 ward
    # plans held ~700,000 of them, 190 MB, until the tick ended.
    coalesced: int = 0
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


# The points cache lives with the planner (a launch uses it too); this name is kept for the benches.
_POINTS = planner._POINTS
# How far ahead a relative milestone's next sweep is looked for (holidays never last this long).
_SWEEP_HORIZON = 31


def _due_points(campaign_id: int, row: Any, done: set[tuple[str, str]], now: datetime,
                today: date) -> tuple[list[PlannedReminder], datetime | None]:
    """The milestone's points due by `now` and not yet run (with today's sweep of a relative one),
    and the instant it next has work, None when never."""
    ats, points = milestone_points(row)
    upto = bisect_right(ats, now)
    due = [replace(p, job_id=job_id(campaign_id, p.milestone_key, p.offset_key), campaign_id=campaign_id)
           for p in points[:upto] if (p.milestone_key, p.offset_key) not in done]
    following = ats[upto] if upto < len(ats) else None
    if not sweeps(row):
        return due, following  # dated points only
    due += [p for p in sweeps_for(campaign_id, [row], today) if p.at <= now]
    for ahead in range(_SWEEP_HORIZON):
        sweep = [p.at for p in sweeps_for(campaign_id, [row], today + timedelta(days=ahead)) if p.at > now]
        if sweep:
            following = min(following, sweep[0]) if following else sweep[0]
            break
    return due, following


def _record(engine: Engine, rows: list[dict[str, Any]], nexts: list[dict[str, Any]]) -> None:
    """The runs of this tick and each handled milestone's next instant of work, together: a crash
    before this commit leaves the milestones due, and the next tick runs their points again
    (the outbox's unique key adds nothing twice)."""
    if not rows and not nexts:
        return
    m = CampaignMilestone.__table__
    with Session(engine) as session:
        if rows:
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            session.execute(insert(_T).on_conflict_do_nothing(
                index_elements=["campaign_id", "milestone_key", "offset_key"]), rows)
        if nexts:
            session.execute(update(m).where(m.c.id == bindparam("_id"))
                            .values(next_reminder_at=bindparam("_next")), nexts)
        session.commit()


def _row(p: PlannedReminder, now: datetime, written: int, note: str) -> dict[str, Any]:
    return {"campaign_id": p.campaign_id, "milestone_key": p.milestone_key, "offset_key": p.offset_key,
            "due_at": p.at, "ran_at": now, "written": written, "note": note[:300]}


# Campaigns whose reminder runs are read per query.
_IN_CHUNK = 5000


def _load_due(engine: Engine, now: datetime) -> list[tuple[int, list[Any], set[tuple[str, str]]]]:
    """The milestones due by `now` of the campaigns that remind (one indexed range), grouped by
    campaign, with the points each campaign has already run."""
    with Session(engine) as session:
        m = CampaignMilestone.__table__.c
        c = Campaign.__table__.c
        # Plain rows, not ORM objects. Sorted here, not by ORDER BY: SQLite would rather walk the
        # campaign_id index in order (every milestone) than sort the few rows of the range.
        rows = session.execute(
            select(m.id, m.campaign_id, m.position, m.key, m.title, m.actor, m.stage, m.due_at, m.opens_at,
                   m.reminders, m.relative)
            .join(Campaign.__table__, c.id == m.campaign_id)
            .where(m.next_reminder_at <= now, c.status.in_(ACTIVE))).all()
        milestones: dict[int, list[Any]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: (r.campaign_id, r.position)):
            milestones[row.campaign_id].append(row)
        cids = sorted(milestones)
        done: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for start in range(0, len(cids), _IN_CHUNK):
            for cid, mk, ok in session.execute(select(_T.c.campaign_id, _T.c.milestone_key, _T.c.offset_key)
                                               .where(_T.c.campaign_id.in_(cids[start:start + _IN_CHUNK]))):
                done[cid].add((mk, ok))
        return [(cid, milestones[cid], done[cid]) for cid in cids]


def run_due_reminders(engine: Engine, now: datetime, *, settings: MailSettings | None = None) -> TickResult:
    """One tick: run every due, not yet run, still useful point once (coalesced per milestone).

    Only the milestones whose `next_reminder_at` has come are read; the due points are fanned
    out (`fan_out_many`) and recorded a round of campaigns at a time."""
    settings = settings or load_settings()
    result = TickResult()
    today = local(now).date()
    due = dbretry.run_sync(partial(_load_due, engine, now), what="đọc lịch nhắc hạn")
    # A round of campaigns at a time: a worker back after a long stop has every missed point of
    # every campaign due (folded into one run each), and holding them all for 3,321 ward plans
    # costs hundreds of MB; each round is fanned out and recorded before the next is planned.
    for start in range(0, len(due), CAMPAIGNS_PER_ROUND):
        _tick_round(engine, due[start:start + CAMPAIGNS_PER_ROUND], now, today, settings, result)
    return result


CAMPAIGNS_PER_ROUND = 250


def _tick_round(engine: Engine, due: list[tuple[int, list[Any], set[tuple[str, str]]]], now: datetime,
                today: date, settings: MailSettings, result: TickResult) -> None:
    """Plan, fan out and record the due points of some campaigns (see `run_due_reminders`)."""
    selected: list[tuple[list[PlannedReminder], list[PlannedReminder], list[PlannedReminder]]] = []
    nexts: list[dict[str, Any]] = []
    for cid, rows, done in due:
        points: list[PlannedReminder] = []
        for row in rows:
            points_due, following = _due_points(cid, row, done, now, today)
            points += points_due
            nexts.append({"_id": row.id, "_next": following})
        selected.append(select_due(sorted(points, key=lambda r: (r.at, r.job_id)), done, now, settings))
    runs = [p for run, _, _ in selected for p in run]
    written = fan_out_many(engine, [(p.campaign_id, p.milestone_key, p.offset_key) for p in runs], now,
                           chunk=settings.fanout_chunk) if runs else {}
    records: list[dict[str, Any]] = []
    for run, folded, late in selected:
        for p in run:
            n = written[(p.campaign_id, p.milestone_key, p.offset_key)]
            records.append(_row(p, now, n, ""))
            records += [_row(f, now, 0, f"gộp vào lượt {p.offset_key}") for f in folded
                        if f.milestone_key == p.milestone_key]
            result.ran.append((p, n))
            log.info("nhắc hạn %s/%s/%s: %d thư vào hàng đợi", p.campaign_id, p.milestone_key, p.offset_key, n)
        for p in late:
            records.append(_row(p, now, 0, "không còn hữu ích khi tiến trình nền chạy lại"))
            records += [_row(f, now, 0, f"gộp vào lượt {p.offset_key}") for f in folded
                        if f.milestone_key == p.milestone_key]
        result.coalesced += len(folded)
        result.too_late.extend(late)
    dbretry.run_sync(partial(_record, engine, records, nexts), what="ghi lượt nhắc hạn đã chạy")
