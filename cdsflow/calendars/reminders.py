"""When to remind an actor about a milestone: the plan the scheduler turns into jobs.

Pure. Offsets count working days (weekends and Vietnamese holidays skipped) from the due day,
and every point is at the morning sending hour of a working day, so none falls at night,
on a weekend or on a holiday.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Milestone


@dataclass(frozen=True)
class ReminderPoint:
    offset_key: str      # stable id part: "before-7", "before-3", "before-1", "due", "overdue-2", "overdue-4", ...
    at: datetime         # aware; already moved out of nights, weekends and holidays
    overdue: bool


def _morning(day) -> datetime:
    return timeutil.next_sending_instant(timeutil.sending_morning(day))


def reminder_points(milestone: Milestone, *, until: datetime | None = None, max_overdue: int = 5) -> list[ReminderPoint]:
    """The reminder instants of a milestone, in time order.

    - before-N: the morning of the N-th working day before the due day;
    - due: the morning of the due day, or of the last working day before it when the due day
      is a day off (a reminder after the deadline would not be a reminder);
    - overdue-K, overdue-2K, …: every K working days after the due day, at most `max_overdue`
      points and none after `until`.
    Two offsets landing on the same instant keep only the first (no double mail).
    """
    policy = milestone.reminders
    if policy is None:
        return []
    due_day = timeutil.local(milestone.due_at).date()
    points: list[ReminderPoint] = []
    for n in sorted(set(policy.before_working_days), reverse=True):
        points.append(ReminderPoint(f"before-{n}", _morning(timeutil.add_working_days(due_day, -n)), False))
    if policy.on_the_day:
        at = _morning(timeutil.previous_working_day(due_day))
        if at < milestone.due_at:
            points.append(ReminderPoint("due", at, False))
    every = policy.overdue_every_working_days
    if every:
        for i in range(1, max_overdue + 1):
            at = _morning(timeutil.add_working_days(due_day, every * i))
            if until is not None and at > until:
                break
            points.append(ReminderPoint(f"overdue-{every * i}", at, True))
    out: list[ReminderPoint] = []
    seen: set[datetime] = set()
    for p in sorted(points, key=lambda p: p.at):
        if p.at not in seen:
            seen.add(p.at)
            out.append(p)
    return out
