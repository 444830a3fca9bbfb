"""When to remind an actor about a milestone: the plan the scheduler turns into jobs.

Pure. Offsets count working days (weekends and Vietnamese holidays skipped) from the due day,
and every point is at the morning sending hour of a working day, so none falls at night,
on a weekend or on a holiday.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Milestone, ReminderPolicy

ACTOR, DIGEST = "actor", "digest"  # who a point is for: the milestone's actor, the supervisor's digest


@dataclass(frozen=True)
class ReminderPoint:
    offset_key: str      # stable id part: "before-7", "before-3", "before-1", "due", "overdue-2", "overdue-4", ...
    at: datetime         # aware; already moved out of nights, weekends and holidays
    overdue: bool
    audiences: frozenset[str] = frozenset({ACTOR})


def _morning(day: date) -> datetime:
    return timeutil.next_sending_instant(timeutil.sending_morning(day))


def horizon(due_at: datetime) -> datetime:
    """Overdue reminders without a limit stop when the school year ends: 31/8 after the deadline."""
    due = timeutil.local(due_at).date()
    year = due.year if due.month <= 8 else due.year + 1
    return timeutil.end_of_day(date(year, 8, 31))


def overdue_audiences(policy: ReminderPolicy, k: int, *, max_overdue: int | None = None) -> frozenset[str]:
    """Who the point K working days after the due day is for, by each audience's cadence and limit."""
    out = set()
    for audience, every, limit in ((ACTOR, policy.overdue_every_working_days, policy.overdue_limit),
                                   (DIGEST, policy.digest_every, policy.digest_limit)):
        if max_overdue is not None:
            limit = max_overdue if limit is None else min(limit, max_overdue)
        if every and k % every == 0 and (limit is None or k // every <= limit):
            out.add(audience)
    return frozenset(out)


def offset_audiences(policy: ReminderPolicy | None, offset_key: str) -> frozenset[str]:
    """Pure: the audiences of a point by its key (the fan-out reads this, not the instant)."""
    if policy is None:
        return frozenset()
    if offset_key.startswith("overdue-"):
        return overdue_audiences(policy, int(offset_key.removeprefix("overdue-")))
    return frozenset({ACTOR})


def reminder_points(milestone: Milestone, *, until: datetime | None = None, max_overdue: int | None = None,
                    due_at: datetime | None = None) -> list[ReminderPoint]:
    """The reminder instants of a milestone, in time order.

    - before-N: the morning of the N-th working day before the due day;
    - due: the morning of the due day, or of the last working day before it when the due day
      is a day off (a reminder after the deadline would not be a reminder);
    - overdue-K: K working days after the due day, for the actor every `overdue_every` working
      days (at most `overdue_limit`), for the supervisor's digest every `digest_every` (at most
      `digest_limit`); one point when both fall on the same K. Without a limit they stop at
      the end of the school year (`horizon`), and never after `until`.
    `due_at`: a school's own deadline for a relative milestone (the milestone has none).
    Two offsets landing on the same instant keep only the first (no double mail).
    """
    policy = milestone.reminders
    due_at = due_at or milestone.due_at
    if policy is None or due_at is None:
        return []
    due_day = timeutil.local(due_at).date()
    points: list[ReminderPoint] = []
    for n in sorted(set(policy.before_working_days), reverse=True):
        points.append(ReminderPoint(f"before-{n}", _morning(timeutil.add_working_days(due_day, -n)), False))
    if policy.on_the_day:
        at = _morning(timeutil.previous_working_day(due_day))
        if at < due_at:
            points.append(ReminderPoint("due", at, False))
    cadences = [c for c in (policy.overdue_every_working_days, policy.digest_every) if c]
    if cadences:
        end = min(until, horizon(due_at)) if until is not None else horizon(due_at)
        # The working days after the due day up to the end, walked once (not once per point).
        working, day, last = [], due_day, timeutil.local(end).date()
        while day < last:
            day += timedelta(days=1)
            if timeutil.is_working_day(day):
                working.append(day)
        for k in range(1, len(working) + 1):
            who = overdue_audiences(policy, k, max_overdue=max_overdue) if any(k % c == 0 for c in cadences) else None
            if not who:
                continue
            at = _morning(working[k - 1])
            if at > end:
                break
            points.append(ReminderPoint(f"overdue-{k}", at, True, who))
    out: list[ReminderPoint] = []
    seen: set[datetime] = set()
    for p in sorted(points, key=lambda p: p.at):
        if p.at not in seen:
            seen.add(p.at)
            out.append(p)
    return out


def _cadence_vi(every: int | None, limit: int | None) -> str:
    if not every:
        return "không nhắc"
    text = {1: "hằng ngày làm việc", 5: "hằng tuần (5 ngày làm việc)"}.get(every, f"mỗi {every} ngày làm việc")
    return text + (f", tối đa {limit} lần" if limit else ", đến khi đạt hoặc hết năm học (31/8)")


def describe_policy(policy: ReminderPolicy | None) -> str:
    """A reminder policy in Vietnamese, for `remind preview` (FORMAT.md "Reminders")."""
    if policy is None:
        return "không nhắc hạn"
    before = ", ".join(str(n) for n in policy.before_working_days)
    parts = [f"trước hạn {before} ngày làm việc" if before else "không nhắc trước hạn"]
    if policy.on_the_day:
        parts.append("nhắc đúng ngày hạn")
    parts.append(f"quá hạn nhắc cơ sở: {_cadence_vi(policy.overdue_every_working_days, policy.overdue_limit)}")
    parts.append(f"thư tổng hợp cho cấp quản lý: {_cadence_vi(policy.digest_every, policy.digest_limit)}")
    return "; ".join(parts)
