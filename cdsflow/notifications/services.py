"""Use-cases behind the mail commands and the mailbox page: an officer's manual nudge, reading the
local sink, sending failed mail again, whether the worker and the relay are well."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.calendars.timeutil import local, next_sending_instant
from cdsflow.notifications.fanout import plan_reminder
from cdsflow.notifications.outbox import (
    failed_ids,
    failed_messages,
    insert_ignoring_duplicates,
    retry_failed,
    status_counts,
)
from cdsflow.notifications.settings import load_settings
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage, SinkMessage, WorkerBeat
from cdsflow.storage.tables import Campaign
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.errors import NotFound


@dataclass(frozen=True)
class NudgeResult:
    offset_key: str
    late_schools: int
    written: int
    planned: int
    overdue: bool
    goes_out_at: datetime
    skipped_reason: str | None
    schools_without_email: tuple[str, ...]


def remind_now(engine: Engine, campaign_id: int, milestone_key: str, now: datetime,
               actor: ActorRef | None = None) -> NudgeResult:
    """An officer's manual nudge: at most one per milestone and day (offset `manual-YYYYMMDD`).
    The rulebook's `remind` decides who may and in which campaign status (without `actor`: the
    command line, acting for the issuing unit)."""
    from cdsflow.workflow.services import authorization

    offset = f"manual-{local(now):%Y%m%d}"
    with UnitOfWork(engine) as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
        authorization.check_campaign(uow.session, actor or ActorRef("cán bộ phụ trách", campaign.issuer_id),
                                     "remind", campaign_id, now=now)
        plan = plan_reminder(uow.session, campaign_id, milestone_key, offset, now)
        written = insert_ignoring_duplicates(uow.session, plan.rows)
        uow.commit()
    return NudgeResult(offset, plan.late_schools, written, len(plan.rows), plan.overdue,
                       next_sending_instant(now), plan.skipped_reason, tuple(plan.schools_without_email))


def sink_messages(session: Session, limit: int = 50) -> tuple[list[SinkMessage], int]:
    total = session.scalar(select(func.count()).select_from(SinkMessage)) or 0
    rows = list(session.scalars(select(SinkMessage).order_by(SinkMessage.id.desc()).limit(limit)))
    return rows, total


def sink_message(session: Session, message_id: int) -> SinkMessage:
    row = session.get(SinkMessage, message_id)
    if row is None:
        raise NotFound(f"Không có thư số {message_id} trong hộp thư cục bộ")
    return row


def retry_failed_mail(engine: Engine, ids: list[int] | None, now: datetime) -> int:
    """Failed mail back to the queue (all of it when `ids` is None); an unknown or not failed
    id is refused with nothing changed."""
    settings = load_settings()
    with UnitOfWork(engine) as uow:
        if ids is not None:
            found = failed_ids(uow.session, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"Không có thư thất bại số {', '.join(map(str, missing))} trong hàng đợi")
        n = retry_failed(uow.session, now, ids=ids, useful_for=timedelta(days=settings.notice_useful_days))
        uow.commit()
    return n


@dataclass(frozen=True)
class WorkerStatus:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_beat_at: datetime
    last_send_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    alive: bool


@dataclass(frozen=True)
class MailboxStatus:
    """What the administrator's mailbox page says about delivery."""

    workers: list[WorkerStatus]
    counts: dict[str, int]
    failed: list[OutboxMessage]
    relay_failing_since: datetime | None  # the earliest among live workers
    relay_alert: bool  # failing for longer than `relay_alert_minutes`

    @property
    def alive(self) -> bool:
        return any(w.alive for w in self.workers)


def mailbox_status(session: Session, now: datetime, *, failed_limit: int = 100) -> MailboxStatus:
    """Workers alive (a beat within three periods and not stopped), queue counts, failed mail,
    and whether the relay has been failing long enough to warn about."""
    settings = load_settings()
    beats = list(session.scalars(select(WorkerBeat).order_by(WorkerBeat.last_beat_at.desc()).limit(20)))
    workers = [
        WorkerStatus(b.worker_id, b.hostname, b.pid, b.started_at, b.last_beat_at, b.last_send_at, b.last_error,
                     b.last_error_at,
                     alive=b.stopped_at is None and now - b.last_beat_at <= timedelta(seconds=3 * max(b.beat_seconds, 1.0)))
        for b in beats
    ]
    failing = [b.relay_failing_since for b, w in zip(beats, workers) if w.alive and b.relay_failing_since]
    since = min(failing) if failing else None
    alert = since is not None and now - since >= timedelta(minutes=settings.relay_alert_minutes)
    return MailboxStatus(workers, status_counts(session), failed_messages(session, failed_limit), since, alert)
