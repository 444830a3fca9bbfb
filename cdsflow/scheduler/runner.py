"""Build the deployment's one scheduler: APScheduler 3 with its jobs in the project's database."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.engine import Engine

from cdsflow.scheduler import jobs

TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
JOBS_TABLE = "apscheduler_jobs"
# A restart or a busy spell must not silently skip a reminder (APScheduler's default grace is
# 1 s): a job up to a week late still runs, and several missed runs of one job run once.
MISFIRE_GRACE_SECONDS = 7 * 24 * 3600
REPLAN_MINUTES = 10

_current: BaseScheduler | None = None


def make_scheduler(engine: Engine, *, scheduler_cls: type[BackgroundScheduler] = BackgroundScheduler) -> BackgroundScheduler:
    global _current
    scheduler = scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1},
        timezone=TIMEZONE,
    )
    jobs.configure(engine)
    _current = scheduler
    return scheduler


def add_replan_job(scheduler: BaseScheduler) -> None:
    scheduler.add_job(jobs.replan_job, trigger="interval", minutes=REPLAN_MINUTES, id="replan",
                      name="Lập lại lịch nhắc hạn", replace_existing=True)


def current_scheduler() -> BaseScheduler | None:
    return _current
