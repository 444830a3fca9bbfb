"""Reminder jobs: planned from the campaign's milestones, stored in the database, fired by time."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from freezegun import freeze_time
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cdsflow.calendars import timeutil
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.scheduler.jobs import reminder_job
from cdsflow.scheduler.leader import LeaderLock
from cdsflow.scheduler.planner import job_id, plan_all, plan_campaign
from cdsflow.scheduler.runner import MISFIRE_GRACE_SECONDS, make_scheduler
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.tables import Campaign, CampaignMilestone
from tests.integration.test_mail_delivery import free_port
from tests.integration.test_mail_support import VN, seed_campaign

# Quốc khánh: 1 and 2 September 2025 are days off, 30-31 August a weekend.
HOLIDAY_DUE = datetime(2025, 9, 2, 23, 59, 59, tzinfo=VN)


class _Still(BackgroundScheduler):
    """The real scheduler and job store, minus the thread: time is driven by the test."""

    def _main_loop(self) -> None:
        return None


@pytest.fixture
def scheduler(engine):
    sched = make_scheduler(engine, scheduler_cls=_Still)
    sched.start()  # jobs get their next run time and are stored; nothing runs by itself
    yield sched
    sched.shutdown(wait=False)


def _planned(scheduler) -> dict[str, datetime]:
    return {j.id: j.next_run_time for j in scheduler.get_jobs()}


def test_jobs_are_planned_per_milestone_and_offset_never_on_days_off_or_at_night(engine, scheduler):
    seeded = seed_campaign(engine, ["self_assessment"] * 3, due_at=HOLIDAY_DUE)
    with freeze_time(datetime(2025, 8, 22, 10, 0, tzinfo=VN)):
        planned = plan_campaign(scheduler, seeded.campaign_id)
    jobs = _planned(scheduler)
    # before-7 (21 Aug, 07:00) passed yesterday without mail: caught up (it runs at once).
    assert jobs[job_id(seeded.campaign_id, "to_trinh", "before-7")] == datetime(2025, 8, 21, 7, 0, tzinfo=VN)
    # The others are ahead. One job each, whatever the school count.
    assert jobs[job_id(seeded.campaign_id, "to_trinh", "before-3")] == datetime(2025, 8, 27, 7, 0, tzinfo=VN)
    assert jobs[job_id(seeded.campaign_id, "to_trinh", "before-1")] == datetime(2025, 8, 29, 7, 0, tzinfo=VN)
    # The first overdue reminder skips the holiday: two working days after the due day is 4 September.
    assert jobs[job_id(seeded.campaign_id, "to_trinh", "overdue-2")] == datetime(2025, 9, 4, 7, 0, tzinfo=VN)
    assert len(jobs) == len(planned) == 3 + 5
    for at in jobs.values():
        local = at.astimezone(VN)
        assert timeutil.is_working_day(local.date()) and 7 <= local.hour < 20
    for job in scheduler.get_jobs():
        assert job.coalesce is True and job.misfire_grace_time == MISFIRE_GRACE_SECONDS


def test_replanning_follows_a_changed_deadline_and_a_closed_campaign(engine, scheduler):
    seeded = seed_campaign(engine, ["self_assessment"] * 3, due_at=HOLIDAY_DUE)
    now = datetime(2025, 8, 22, 10, 0, tzinfo=VN)
    plan_campaign(scheduler, seeded.campaign_id, now=now)
    with Session(engine) as s:
        s.execute(update(CampaignMilestone).values(due_at=datetime(2025, 9, 30, 23, 59, tzinfo=VN)))
        s.commit()
    assert plan_all(scheduler, engine, now=now) == 9  # before-7/3/1, due, 5 overdue
    jobs = _planned(scheduler)
    assert jobs[job_id(seeded.campaign_id, "to_trinh", "before-1")] == datetime(2025, 9, 29, 7, 0, tzinfo=VN)
    assert len(jobs) == 9  # fixed ids: replaced, not duplicated
    with Session(engine) as s:
        s.execute(update(Campaign).values(status="closed"))
        s.commit()
    plan_all(scheduler, engine, now=now)
    assert _planned(scheduler) == {}


def test_fired_jobs_fill_the_outbox_and_night_fires_wait_for_the_morning(engine, scheduler):
    seeded = seed_campaign(engine, ["self_assessment", "proposal", "plan_issued"], due_at=HOLIDAY_DUE)
    plan_campaign(scheduler, seeded.campaign_id, now=datetime(2025, 8, 25, 10, 0, tzinfo=VN))
    fire_at = datetime(2025, 8, 27, 7, 0, tzinfo=VN)
    with freeze_time(fire_at):
        due = [j for j in scheduler.get_jobs() if j.next_run_time <= fire_at]
        assert [j.id for j in due] == [job_id(seeded.campaign_id, "to_trinh", "before-3")]
        assert due[0].func(*due[0].args) == 2
    # A late fire at night (the worker was down until 22:30): queued, held until 07:00.
    with freeze_time(datetime(2025, 8, 29, 22, 30, tzinfo=VN)):
        assert reminder_job(seeded.campaign_id, "to_trinh", "before-1") == 2
    with Session(engine) as s:
        held = s.scalars(select(OutboxMessage).where(OutboxMessage.offset_key == "before-1")).all()
    # Friday night: the next sending hour is Wednesday 3 September (weekend, then Quốc khánh).
    assert {m.next_attempt_at for m in held} == {datetime(2025, 9, 3, 7, 0, tzinfo=VN)}
    port = free_port()
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    settings = replace(load_settings({}), port=port)
    try:
        night = datetime(2025, 8, 29, 23, 0, tzinfo=VN)
        assert drain_outbox_sync(engine, settings, clock=lambda: night).sent == 2  # the 27 August ones
        morning = datetime(2025, 9, 3, 7, 0, tzinfo=VN)
        assert drain_outbox_sync(engine, settings, clock=lambda: morning).sent == 2
    finally:
        controller.stop()
    assert len(store.messages) == 4


def test_a_reminder_passed_just_before_launch_is_caught_up_once(engine, scheduler):
    seeded = seed_campaign(engine, ["self_assessment"] * 2, due_at=HOLIDAY_DUE)
    launched = datetime(2025, 8, 27, 9, 30, tzinfo=VN)  # before-3 was due at 07:00 today
    plan_campaign(scheduler, seeded.campaign_id, now=launched)
    missed = scheduler.get_job(job_id(seeded.campaign_id, "to_trinh", "before-3"))
    assert missed is not None and scheduler.get_job(job_id(seeded.campaign_id, "to_trinh", "before-7")) is None
    with freeze_time(launched):
        assert missed.func(*missed.args) == 2
    missed.remove()  # what APScheduler does with a date job once it ran
    plan_campaign(scheduler, seeded.campaign_id, now=launched + timedelta(minutes=10))
    assert scheduler.get_job(job_id(seeded.campaign_id, "to_trinh", "before-3")) is None


def test_a_started_scheduler_runs_a_missed_job_once(engine):
    seeded = seed_campaign(engine, ["self_assessment"] * 2)
    sched = make_scheduler(engine)
    ran = threading.Event()
    outcomes: list[int] = []

    def listener(event):
        outcomes.append(event.code)
        ran.set()

    sched.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    # Due two hours ago, while the worker was down: with the default 1 s grace it would be skipped.
    sched.add_job(reminder_job, "date", run_date=datetime.now(timezone.utc) - timedelta(hours=2),
                  args=[seeded.campaign_id, "to_trinh", "overdue-2"], id="remind:test", replace_existing=True)
    sched.start()
    try:
        assert ran.wait(30)
    finally:
        sched.shutdown(wait=True)
    assert outcomes == [EVENT_JOB_EXECUTED]
    with Session(engine) as s:
        kinds = Counter(s.scalars(select(OutboxMessage.kind)))
    assert kinds == Counter({"reminder": 2, "overdue_digest": 1})


def test_only_one_scheduler_is_leader(engine):
    first, second = LeaderLock(engine), LeaderLock(engine)
    assert first.acquire() is True
    try:
        assert second.acquire() is False
    finally:
        first.release()
    assert second.acquire() is True
    second.release()
