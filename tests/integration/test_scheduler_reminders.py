"""Reminder points: computed from the campaign's milestones, each run once when its time has come,
recorded in `reminder_run`, caught up after any downtime while still useful."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cdsflow.calendars import timeutil
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.scheduler.leader import LeaderLock
from cdsflow.scheduler.ticker import run_due_reminders
from cdsflow.services.planner import campaign_reminders
from cdsflow.storage.notifications_tables import OutboxMessage, ReminderRun
from cdsflow.storage.tables import NOT_PLANNED, Campaign, CampaignMilestone
from tests.integration.test_mail_delivery import free_port
from tests.integration.test_mail_support import VN, seed_campaign

# Quốc khánh: 1 and 2 September 2025 are days off, 30-31 August a weekend.
HOLIDAY_DUE = datetime(2025, 9, 2, 23, 59, 59, tzinfo=VN)


def _runs(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {r.offset_key: r.note for r in s.scalars(select(ReminderRun))}


def _outbox(engine) -> Counter:
    with Session(engine) as s:
        return Counter(s.execute(select(OutboxMessage.offset_key, OutboxMessage.kind)).all())


def test_points_per_milestone_and_offset_never_on_days_off_or_at_night(engine):
    seeded = seed_campaign(engine, ["self_assessment"] * 3, due_at=HOLIDAY_DUE)
    with Session(engine) as s:
        points = {p.offset_key: p.at for p in campaign_reminders(s, seeded.campaign_id)}
    assert points["before-7"] == datetime(2025, 8, 21, 7, 0, tzinfo=VN)
    assert points["before-3"] == datetime(2025, 8, 27, 7, 0, tzinfo=VN)
    assert points["before-1"] == datetime(2025, 8, 29, 7, 0, tzinfo=VN)
    # The first overdue reminder skips the holiday: two working days after the due day is 4 September.
    assert points["overdue-2"] == datetime(2025, 9, 4, 7, 0, tzinfo=VN)
    # No hidden cap: without `overdue_limit` every second working day until the school year ends (31/8/2026).
    overdue = sorted(at for key, at in points.items() if key.startswith("overdue-"))
    assert len(points) == 3 + len(overdue) and overdue[-1] <= datetime(2026, 8, 31, 23, 59, tzinfo=VN)
    assert overdue[-1] > datetime(2026, 8, 20, tzinfo=VN)
    for at in points.values():
        local = at.astimezone(VN)
        assert timeutil.is_working_day(local.date()) and 7 <= local.hour < 20


def test_each_point_runs_once_when_due_and_night_runs_wait_for_the_morning(engine):
    seed_campaign(engine, ["self_assessment", "proposal", "plan_issued"], due_at=HOLIDAY_DUE)
    # Launched on 25 August: before-7 (21 August) passed before launch and is caught up once.
    first = run_due_reminders(engine, datetime(2025, 8, 25, 10, 0, tzinfo=VN))
    assert [(p.offset_key, n) for p, n in first.ran] == [("before-7", 2)]
    assert run_due_reminders(engine, datetime(2025, 8, 25, 10, 1, tzinfo=VN)).ran == []
    at_fire = run_due_reminders(engine, datetime(2025, 8, 27, 7, 0, tzinfo=VN))
    assert [(p.offset_key, n) for p, n in at_fire.ran] == [("before-3", 2)]
    # The worker was down from Thursday to Friday 22:30: before-1 (29 Aug 07:00) runs, queued
    # for the next sending hour, Wednesday 3 September (weekend, then Quốc khánh)... which is
    # after the deadline, so it is no longer worth sending and expires instead.
    late = run_due_reminders(engine, datetime(2025, 8, 29, 22, 30, tzinfo=VN))
    assert [(p.offset_key, n) for p, n in late.ran] == [("before-1", 2)]
    with Session(engine) as s:
        held = s.scalars(select(OutboxMessage).where(OutboxMessage.offset_key == "before-1")).all()
    assert {m.next_attempt_at for m in held} == {datetime(2025, 9, 3, 7, 0, tzinfo=VN)}
    assert {m.useful_until for m in held} == {HOLIDAY_DUE}
    port = free_port()
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    settings = replace(load_settings({}), port=port)
    try:
        night = datetime(2025, 8, 29, 23, 0, tzinfo=VN)
        assert drain_outbox_sync(engine, settings, clock=lambda: night).sent == 4  # 21 and 27 August
        morning = datetime(2025, 9, 3, 7, 0, tzinfo=VN)
        stats = drain_outbox_sync(engine, settings, clock=lambda: morning)
        assert (stats.sent, stats.expired) == (0, 2)
    finally:
        controller.stop()
    assert len(store.messages) == 4
    with Session(engine) as s:
        expired = s.scalars(select(OutboxMessage).where(OutboxMessage.offset_key == "before-1")).all()
    assert {m.status for m in expired} == {"failed"}
    assert all("không còn hữu ích" in m.last_error for m in expired)


def test_a_week_away_coalesces_missed_points_into_the_latest_useful_one(engine):
    seed_campaign(engine, ["self_assessment"] * 2, due_at=HOLIDAY_DUE)
    run_due_reminders(engine, datetime(2025, 8, 21, 7, 0, tzinfo=VN))  # before-7 ran on time
    # Down from 21 August to 5 September: before-3, before-1 and overdue-2 (4 Sept) passed.
    back = run_due_reminders(engine, datetime(2025, 9, 5, 9, 0, tzinfo=VN))
    assert [(p.offset_key, n) for p, n in back.ran] == [("overdue-2", 3)]  # 2 schools + 1 digest
    assert back.coalesced == 2  # before-3 and before-1, recorded as folded below
    runs = _runs(engine)
    assert runs["overdue-2"] == "" and runs["before-3"] == runs["before-1"] == "gộp vào lượt overdue-2"
    assert _outbox(engine) == Counter({("before-7", "reminder"): 2, ("overdue-2", "reminder"): 2,
                                       ("overdue-2", "overdue_digest"): 1})
    # Down again for far longer than the grace of the next point: the latest passed point
    # (overdue-12, Friday 19/9: no hidden cap any more) is recorded, not sent.
    gone = run_due_reminders(engine, datetime(2025, 9, 20, 9, 0, tzinfo=VN))
    assert gone.ran == [] and [p.offset_key for p in gone.too_late] == ["overdue-12"]
    assert "không còn hữu ích" in _runs(engine)["overdue-12"]
    assert run_due_reminders(engine, datetime(2025, 9, 20, 9, 5, tzinfo=VN)).ran == []


def test_a_changed_deadline_and_a_closed_campaign(engine):
    seeded = seed_campaign(engine, ["self_assessment"] * 3, due_at=HOLIDAY_DUE)
    with Session(engine) as s:
        s.execute(update(CampaignMilestone).values(due_at=datetime(2025, 9, 30, 23, 59, tzinfo=VN)))
        s.commit()
    with Session(engine) as s:
        points = {p.offset_key: p.at for p in campaign_reminders(s, seeded.campaign_id)}
    assert points["before-1"] == datetime(2025, 9, 29, 7, 0, tzinfo=VN)
    assert points["due"] == datetime(2025, 9, 30, 7, 0, tzinfo=VN)
    with Session(engine) as s:
        s.execute(update(Campaign).values(status="closed"))
        s.commit()
    assert run_due_reminders(engine, datetime(2025, 9, 29, 8, 0, tzinfo=VN)).ran == []
    assert _outbox(engine) == Counter()


def test_only_one_scheduler_is_leader(engine):
    first, second = LeaderLock(engine), LeaderLock(engine)
    assert first.acquire() is True
    try:
        assert second.acquire() is False
    finally:
        first.release()
    assert second.acquire() is True
    second.release()


def test_two_ticks_racing_write_each_mail_once(engine):
    seed_campaign(engine, ["self_assessment"] * 5, due_at=HOLIDAY_DUE)
    at = datetime(2025, 8, 27, 7, 0, tzinfo=VN)
    # A run whose record was lost (crash between the fan-out and the record) runs again: the
    # outbox's unique key adds nothing.
    run_due_reminders(engine, at)
    with Session(engine) as s:
        # The runs and the milestones' next instants are written in one transaction: both lost.
        s.execute(ReminderRun.__table__.delete())
        s.execute(update(CampaignMilestone).values(next_reminder_at=NOT_PLANNED))
        s.commit()
    again = run_due_reminders(engine, at + timedelta(minutes=1))
    assert [n for _, n in again.ran] == [0]
    assert _outbox(engine) == Counter({("before-3", "reminder"): 5})
