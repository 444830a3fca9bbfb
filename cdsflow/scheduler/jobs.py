"""The functions APScheduler runs. Module-level, plain ids as arguments: the job store pickles them."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from cdsflow.notifications.fanout import fan_out_reminder
from cdsflow.storage.db import UnitOfWork, make_engine

log = logging.getLogger(__name__)

_engine: Engine | None = None


def configure(engine: Engine) -> None:
    """The worker hands its engine to the jobs (one process, one engine)."""
    global _engine
    _engine = engine


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = make_engine()
    return _engine


def reminder_job(campaign_id: int, milestone_key: str, offset_key: str) -> int:
    """Fan one reminder out into the outbox, in one transaction; the sender delivers it."""
    with UnitOfWork(get_engine()) as uow:
        written = fan_out_reminder(uow.session, campaign_id, milestone_key, offset_key, datetime.now(timezone.utc))
        uow.commit()
    log.info("nhắc hạn %s/%s/%s: %d thư vào hàng đợi", campaign_id, milestone_key, offset_key, written)
    return written


def replan_job() -> int:
    """Periodic: re-plan every active campaign, so calendar or campaign changes reach the jobs."""
    from cdsflow.scheduler.planner import plan_all
    from cdsflow.scheduler.runner import current_scheduler

    scheduler = current_scheduler()
    if scheduler is None:
        return 0
    return plan_all(scheduler, get_engine())
