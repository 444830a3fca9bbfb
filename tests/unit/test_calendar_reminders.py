"""Reminder planning: working-day offsets, morning hour, holidays, overdue series."""
from __future__ import annotations

from datetime import datetime

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Milestone, ReminderPolicy
from cdsflow.calendars.reminders import reminder_points
from cdsflow.calendars.timeutil import TZ
from cdsflow.kernel.stages import Actor, Stage


def _milestone(due: str, policy: ReminderPolicy | None = ReminderPolicy()) -> Milestone:
    return Milestone(key="m", title="Mốc", actor=Actor.SCHOOL, stage=Stage.PROPOSAL,
                     due_at=timeutil.parse_deadline(due), reminders=policy)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_default_policy_on_an_ordinary_deadline():
    points = reminder_points(_milestone("2024-05-31"), max_overdue=2)  # Friday
    assert [(p.offset_key, p.at, p.overdue) for p in points] == [
        ("before-7", _at("2024-05-22 07:00"), False),
        ("before-3", _at("2024-05-28 07:00"), False),
        ("before-1", _at("2024-05-30 07:00"), False),
        ("due", _at("2024-05-31 07:00"), False),
        ("overdue-2", _at("2024-06-04 07:00"), True),
        ("overdue-4", _at("2024-06-06 07:00"), True),
    ]


def test_reminders_around_30_4_skip_the_holidays():
    # Due Tuesday 6/5/2025: 30/4, 1/5 and 2/5 are holidays, 3-4/5 a weekend.
    points = {p.offset_key: p.at for p in reminder_points(_milestone("2025-05-06"), max_overdue=0)}
    assert points["before-1"] == _at("2025-05-05 07:00")
    assert points["before-3"] == _at("2025-04-28 07:00")
    # Overdue every working day after Tuesday 29/4 lands on Monday 5/5, not on 30/4.
    over = reminder_points(_milestone("2025-04-29", ReminderPolicy((), False, 1)), max_overdue=1)
    assert [(p.offset_key, p.at) for p in over] == [("overdue-1", _at("2025-05-05 07:00"))]


def test_reminders_never_fall_in_tet_at_night_or_on_a_weekend():
    for due in ("2025-02-04", "2025-01-30", "2026-02-23", "2025-05-31"):
        for p in reminder_points(_milestone(due), max_overdue=5):
            assert timeutil.is_sending_allowed(p.at), (due, p)
    points = {p.offset_key: p.at for p in reminder_points(_milestone("2025-02-04"))}
    assert points["before-1"] == _at("2025-02-03 07:00")
    assert points["before-3"] == _at("2025-01-23 07:00")  # 27/1-1/2 is Tết


def test_a_deadline_on_a_day_off_is_reminded_before_it_not_after():
    # Saturday 31/5/2025: the on-the-day reminder would be after the deadline, so it merges
    # with before-1 on Friday 30/5 (one mail, not two).
    m = _milestone("2025-05-31")
    points = reminder_points(m, max_overdue=1)
    keys = [p.offset_key for p in points]
    assert "due" not in keys and keys.count("before-1") == 1
    assert all(p.at < m.due_at for p in points if not p.overdue)
    assert len({p.at for p in points}) == len(points)


def test_overdue_stops_at_until_and_max_overdue():
    m = _milestone("2024-06-03")
    assert len([p for p in reminder_points(m, max_overdue=3) if p.overdue]) == 3
    until = _at("2024-06-07 12:00")
    over = [p for p in reminder_points(m, until=until, max_overdue=10) if p.overdue]
    assert [p.offset_key for p in over] == ["overdue-2", "overdue-4"]
    assert all(p.at <= until for p in over)


def test_no_policy_no_overdue_series():
    assert reminder_points(_milestone("2024-06-03", None)) == []
    once = reminder_points(_milestone("2024-06-03", ReminderPolicy((1,), True, None)))
    assert [p.offset_key for p in once] == ["before-1", "due"]


def test_an_explicit_morning_deadline_gets_no_due_reminder_after_it():
    m = Milestone(key="m", title="Mốc", actor=Actor.SCHOOL, stage=None,
                  due_at=_at("2024-06-03 06:30"), reminders=ReminderPolicy((1,), True, None))
    assert [p.offset_key for p in reminder_points(m)] == ["before-1"]
