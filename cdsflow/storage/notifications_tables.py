"""Notification tables: the outbox every email goes through, and the local mail sink's inbox.

The outbox is the hand-over point between "decide to mail" (fan-out, transactional mail, in
the business transaction) and "deliver" (the sender, retried until done). `dedup_key` is unique:
writing the same message twice is a no-op, so a re-run after a crash sends nothing twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
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
    id: int | None = Field(default=None, primary_key=True)
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
    next_attempt_at: datetime | None = _ts(nullable=False)
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False)
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
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime | None = _ts(nullable=False)
    mail_from: str = Field(default="", max_length=320)
    rcpt_tos: str = Field(default="", max_length=4000)  # comma-separated
    subject: str = Field(default="", max_length=1000)  # decoded
    message_id: str = Field(default="", max_length=300, index=True)
    raw: str = Field(sa_column=Column(Text, nullable=False))
