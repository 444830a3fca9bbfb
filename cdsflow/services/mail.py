"""Use-cases behind the mail commands and the mailbox page: an officer's manual nudge, reading the
local sink, sending failed mail again, whether the worker and the relay are well."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.timeutil import local, next_sending_instant, vn_datetime
from cdsflow.kernel.errors import NotFound
from cdsflow.kernel.stages import Actor, Stage
from cdsflow.notifications.outbox import (
    failed_ids,
    failed_messages,
    insert_ignoring_duplicates,
    retry_failed,
    status_counts,
)
from cdsflow.notifications.settings import load_settings
from cdsflow.services import authorization
from cdsflow.services.fanout import FanOutPlan, earlier_stages, plan_reminder
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage, SinkMessage, WorkerBeat
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit
from cdsflow.workflow.context import ActorRef


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
    milestone_title: str = ""
    stage_label: str = ""
    reminded_at: datetime | None = None  # the first manual reminder of this milestone today
    reminded_count: int = 0  # mails that reminder queued


def manual_offset(now: datetime) -> str:
    """One manual nudge per milestone and (Vietnamese) day: the offset part of its unique keys."""
    return f"manual-{local(now):%Y%m%d}"


@dataclass(frozen=True)
class MilestoneChoice:
    """One line of the reminders panel's list."""

    key: str
    title: str
    actor: str
    stage_label: str
    behind: int  # assessments of the campaign that have not reached the milestone's stage
    reminded_at: datetime | None  # already nudged today (first time), else None
    reminded_count: int

    @property
    def label(self) -> str:
        who = "" if self.actor == Actor.SCHOOL.value else " (việc của cơ quan quản lý)"
        text = f"{self.title}{who}: {self.behind} trường chưa hoàn thành"
        if self.reminded_at:
            text += f"; đã nhắc hôm nay lúc {local(self.reminded_at):%H:%M}"
        return text


def _reminded_today(session: Session, campaign_id: int, now: datetime,
                    keys: list[str]) -> dict[str, tuple[datetime, int]]:
    # Every column of ix_outbox_reminder is pinned: index seeks, not a scan of the campaign's mail.
    rows = session.execute(
        select(OutboxMessage.milestone_key, func.min(OutboxMessage.created_at), func.count())
        .where(OutboxMessage.campaign_id == campaign_id, col(OutboxMessage.milestone_key).in_(keys),
               OutboxMessage.offset_key == manual_offset(now))
        .group_by(OutboxMessage.milestone_key)
    )
    return {key: (at, n) for key, at, n in rows}


def reminder_choices(session: Session, campaign_id: int, now: datetime) -> list[MilestoneChoice]:
    """Every milestone with how many schools are behind it and whether it was nudged today:
    three small queries, whatever the number of schools."""
    by_state = dict(session.execute(
        select(Assessment.state, func.count()).where(Assessment.campaign_id == campaign_id).group_by(Assessment.state)
    ).all())
    stones = list(session.scalars(select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id)
                                  .order_by(col(CampaignMilestone.position))))
    reminded = _reminded_today(session, campaign_id, now, [ms.key for ms in stones])
    out = []
    for ms in stones:
        behind = sum(by_state.get(s, 0) for s in earlier_stages(Stage(ms.stage))) if ms.stage else 0
        at, n = reminded.get(ms.key, (None, 0))
        out.append(MilestoneChoice(ms.key, ms.title, ms.actor, Stage(ms.stage).label if ms.stage else "", behind,
                                   at, n))
    return out


def default_choice(choices: list[MilestoneChoice]) -> str | None:
    """The panel's preselected milestone: the first schools' milestone with schools behind that was
    not nudged today; then any with schools behind; a supervisor's own milestone ("0 trường")
    only when nothing else is left."""
    wanted: Callable[[MilestoneChoice], object]
    for wanted in (
        lambda c: c.behind and c.actor == Actor.SCHOOL.value and not c.reminded_at,
        lambda c: c.behind and c.actor == Actor.SCHOOL.value,
        lambda c: c.behind,
    ):
        for c in choices:
            if wanted(c):
                return c.key
    return choices[0].key if choices else None


def nudge_message(r: NudgeResult) -> str:
    """What the officer reads after «Nhắc ngay», with the reason whenever nothing was queued."""
    if r.skipped_reason:
        return f"Không nhắc: {r.skipped_reason}."
    if r.late_schools == 0:
        return (f"Không gửi thư nào: không có trường nào chậm mốc «{r.milestone_title}» "
                f"(mọi trường đã đạt giai đoạn «{r.stage_label}»).")
    if r.planned and not r.written:
        when = f" lúc {local(r.reminded_at):%H:%M}" if r.reminded_at else ""
        return (f"Không gửi lại: hôm nay đã nhắc mốc «{r.milestone_title}»{when} ({r.reminded_count} thư cho "
                f"{r.late_schools} trường chưa hoàn thành). Mỗi mốc chỉ nhắc một lần mỗi ngày; ngày mai có thể nhắc lại.")
    if not r.planned:
        return (f"Không gửi thư nào: {r.late_schools} trường chưa hoàn thành mốc «{r.milestone_title}» nhưng "
                f"không có địa chỉ thư nào để gửi ({len(r.schools_without_email)} trường chưa có địa chỉ thư).")
    text = f"{r.late_schools} trường chưa hoàn thành; đã xếp {r.written} thư nhắc vào hàng đợi."
    if r.schools_without_email:
        text += f" {len(r.schools_without_email)} trường chưa có địa chỉ thư."
    return text + f" Thư đi từ {vn_datetime(r.goes_out_at)}."


@dataclass(frozen=True)
class ReminderPreview:
    """What «Nhắc ngay» would queue, rendered by the same code that queues it."""

    result: NudgeResult  # written = 0: nothing was written
    plan: FanOutPlan  # rows not yet in the outbox
    unit_names: dict[int, str]


def _checked(uow: UnitOfWork, campaign_id: int, milestone_key: str, now: datetime, actor: ActorRef | None) -> Campaign:
    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    authorization.check_campaign(uow.session, actor or ActorRef("cán bộ phụ trách", campaign.issuer_id),
                                 "remind", campaign_id, now=now)
    return campaign  # an unknown milestone is refused by plan_reminder


def _result(uow: UnitOfWork, plan: FanOutPlan, written: int, planned: int, now: datetime) -> NudgeResult:
    ms = uow.session.scalar(select(CampaignMilestone).where(
        CampaignMilestone.campaign_id == plan.campaign_id, CampaignMilestone.key == plan.milestone_key))
    assert ms is not None  # plan_reminder refused an unknown milestone
    at, n = _reminded_today(uow.session, plan.campaign_id, now, [plan.milestone_key]).get(plan.milestone_key,
                                                                                            (None, 0))
    return NudgeResult(plan.offset_key, plan.late_schools, written, planned, plan.overdue, next_sending_instant(now),
                       plan.skipped_reason, tuple(plan.schools_without_email), ms.title,
                       Stage(ms.stage).label if ms.stage else "", at, n)


def preview_reminder(engine: Engine, campaign_id: int, milestone_key: str, now: datetime,
                     actor: ActorRef | None = None, *, base_url: str | None = None) -> ReminderPreview:
    """Recipients and mails «Nhắc ngay» would queue now, without writing anything."""
    offset = manual_offset(now)
    with UnitOfWork(engine) as uow:
        _checked(uow, campaign_id, milestone_key, now, actor)
        existing = set(uow.session.scalars(select(OutboxMessage.dedup_key).where(
            OutboxMessage.campaign_id == campaign_id, OutboxMessage.milestone_key == milestone_key,
            OutboxMessage.offset_key == offset)))
        plan = plan_reminder(uow.session, campaign_id, milestone_key, offset, now, skip_keys=existing,
                             base_url=base_url)
        ids = {r["unit_id"] for r in plan.rows if r.get("unit_id")}
        names = dict(uow.session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(ids))).all()) if ids else {}
        result = _result(uow, plan, 0, len(plan.rows) + len(existing), now)
    return ReminderPreview(result, plan, names)


def remind_now(engine: Engine, campaign_id: int, milestone_key: str, now: datetime,
               actor: ActorRef | None = None, *, base_url: str | None = None) -> NudgeResult:
    """An officer's manual nudge: at most one per milestone and day (offset `manual-YYYYMMDD`).
    The rulebook's `remind` decides who may and in which campaign status (without `actor`: the
    command line, acting for the issuing unit). `base_url`: the address links in the mail use."""
    offset = manual_offset(now)
    with UnitOfWork(engine) as uow:
        _checked(uow, campaign_id, milestone_key, now, actor)
        plan = plan_reminder(uow.session, campaign_id, milestone_key, offset, now, base_url=base_url)
        written = insert_ignoring_duplicates(uow.session, plan.rows)
        uow.commit()
        return _result(uow, plan, written, len(plan.rows), now)


def sink_messages(session: Session, limit: int = 50) -> tuple[list[SinkMessage], int]:
    total = session.scalar(select(func.count()).select_from(SinkMessage)) or 0
    rows = list(session.scalars(select(SinkMessage).order_by(col(SinkMessage.id).desc()).limit(limit)))
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
    beats = list(session.scalars(select(WorkerBeat).order_by(col(WorkerBeat.last_beat_at).desc()).limit(20)))
    workers = [
        WorkerStatus(b.worker_id, b.hostname, b.pid, b.started_at, b.last_beat_at, b.last_send_at, b.last_error,
                     b.last_error_at,
                     alive=b.stopped_at is None and now - b.last_beat_at <= timedelta(seconds=3 * max(b.beat_seconds, 1.0)))
        for b in beats
    ]
    failing = [b.relay_failing_since for b, w in zip(beats, workers, strict=False) if w.alive and b.relay_failing_since]
    since = min(failing) if failing else None
    alert = since is not None and now - since >= timedelta(minutes=settings.relay_alert_minutes)
    return MailboxStatus(workers, status_counts(session), failed_messages(session, failed_limit), since, alert)


def record_worker_beat(engine: Engine, worker_id: str, values: dict[str, Any]) -> None:
    """Insert or update a worker's heartbeat row (the Mailbox page reads it)."""
    with Session(engine) as session:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert(WorkerBeat.__table__).values(worker_id=worker_id, **values)  # type: ignore[attr-defined]  # SQLModel sets it
        session.execute(stmt.on_conflict_do_update(index_elements=["worker_id"], set_=values))
        session.commit()


@dataclass(frozen=True)
class MailListing:
    """`cdsflow mail list`: the outbox's counts by status and either its failed messages or the sink's."""

    counts: dict[str, int]
    failed: list[OutboxMessage]
    received: list[SinkMessage]
    received_total: int


def mail_listing(engine: Engine, *, failed: bool, limit: int) -> MailListing:
    with Session(engine) as session:
        counts = status_counts(session)
        if failed:
            return MailListing(counts, failed_messages(session, limit), [], 0)
        rows, total = sink_messages(session, limit)
        return MailListing(counts, [], rows, total)


def sink_message_raw(engine: Engine, message_id: int) -> str:
    """The raw text of one message the local sink kept (NotFound in Vietnamese when there is none)."""
    with Session(engine) as session:
        return sink_message(session, message_id).raw
