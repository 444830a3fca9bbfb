"""Notification tables: the outbox every email goes through, and the local mail sink's inbox.

The outbox is the hand-over point between "decide to mail" (fan-out, transactional mail, in
the business transaction) and "deliver" (the sender, retried until done). `dedup_key` is unique:
writing the same message twice is a no-op, so a re-run after a crash sends nothing twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        # The sender's claim query: pending rows whose time has come, oldest first.
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # The fan-out's "already written?" lookup for one (campaign, milestone, offset).
        Index("ix_outbox_reminder", "campaign_id", "milestone_key", "offset_key"),
    )
    id: int = Field(default=None, primary_key=True)
    # reminder: r:{campaign}:{school}:{milestone}:{offset}:{recipient}
    # digest:   d:{campaign}:{supervisor}:{milestone}:{offset}:{recipient}
    # transactional: t:{kind}:{assessment}:{event}:{recipient}
    dedup_key: str = Field(max_length=600, unique=True)
    kind: str = Field(max_length=32)
    campaign_id: int | None = None
    unit_id: int | None = None  # the unit the recipient belongs to (school or supervisor)
    assessment_id: int | None = None
    milestone_key: str | None = Field(default=None, max_length=64)
    offset_key: str | None = Field(default=None, max_length=32)
    recipient: str = Field(max_length=320)
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    claimed_at: datetime | None = _ts()
    # The claim is a lease: only `lease_owner` may send a `sending` row until `lease_until`;
    # the owner renews it while it sends, and only an expired lease lets another sender take it.
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _ts()
    # Past this instant the mail is no longer useful (its deadline is long gone): temporary
    # failures are retried until then, not a fixed number of times. NULL: no limit.
    useful_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    created_at: datetime = _ts(nullable=False)
    last_error: str = Field(default="", max_length=2000)
    subject: str = Field(max_length=500)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Extra headers (Reply-To override, X-Cdsflow-*) and files to attach at send time.
    headers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attachments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SinkMessage(SQLModel, table=True):
    """A message received by the local development mail sink (`cdsflow mail list|show`)."""

    __tablename__ = "mail_sink_message"
    id: int = Field(default=None, primary_key=True)
    received_at: datetime = _ts(nullable=False)
    mail_from: str = Field(default="", max_length=320)
    rcpt_tos: str = Field(default="", max_length=4000)  # comma-separated
    subject: str = Field(default="", max_length=1000)  # decoded
    message_id: str = Field(default="", max_length=300, index=True)
    raw: str = Field(sa_column=Column(Text, nullable=False))


class ReminderRun(SQLModel, table=True):
    """One reminder point (campaign, milestone, offset) that has run, or was folded into a later one.

    The scheduler computes due points from the campaign's milestone snapshot and runs those not
    in this table, so catch-up after any downtime does not depend on a job store.
    """

    __tablename__ = "reminder_run"
    __table_args__ = (UniqueConstraint("campaign_id", "milestone_key", "offset_key"),)
    id: int = Field(default=None, primary_key=True)
    campaign_id: int = Field(index=True)
    milestone_key: str = Field(max_length=64)
    offset_key: str = Field(max_length=32)
    due_at: datetime = _ts(nullable=False)  # the point's planned instant
    ran_at: datetime = _ts(nullable=False)
    written: int = 0  # outbox rows it added (0 when coalesced or nobody was late)
    # "" when it ran; otherwise why not (coalesced into a later point, no longer useful).
    note: str = Field(default="", max_length=300)


class WorkerBeat(SQLModel, table=True):
    """A worker's heartbeat: the administrator's mailbox page says from it whether mail flows."""

    __tablename__ = "worker_heartbeat"
    worker_id: str = Field(primary_key=True, max_length=120)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    started_at: datetime = _ts(nullable=False)
    last_beat_at: datetime = _ts(nullable=False)
    beat_seconds: float = 10.0  # its beat period: silent for three periods means it is gone
    last_send_at: datetime | None = _ts()
    last_error: str = Field(default="", max_length=2000)
    last_error_at: datetime | None = _ts()
    # Since when every delivery attempt has failed for a reason on the relay's side (NULL: fine).
    relay_failing_since: datetime | None = _ts()
    stopped_at: datetime | None = _ts()
