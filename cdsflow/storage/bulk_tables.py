"""Bulk runs: a long step (a campaign's school accounts, …) done in short chunks, each its own
commit, so other writers get the database between them and a crash loses at most one chunk.

`BulkRun` is the run's progress (what the CLI's bar and the web's progress page read);
`BulkItem` is one line of its outcome per item (per school), written in the same transaction
as the item's work: the details workbook is read from it, and a resumed run skips the items
it already holds."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class BulkRun(SQLModel, table=True):
    __tablename__ = "bulk_run"
    id: int = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)  # "school_accounts", …
    subject: str = Field(max_length=120, index=True)  # what it runs over, e.g. "campaign:12"
    title: str = Field(max_length=300)  # shown to the user: the campaign's title
    status: str = Field(default="running", max_length=16)  # running | done | failed
    total: int = 0  # items to do
    done: int = 0  # items committed
    started_by: str = Field(default="", max_length=64)
    owner: str = Field(default="", max_length=200)  # host:pid of the process running it
    started_at: datetime = _ts(nullable=False)
    # Renewed by every chunk: a running run whose beat is old has stopped (a crash) and may be resumed.
    beat_at: datetime = _ts(nullable=False)
    finished_at: datetime | None = _ts()
    counts: str = Field(default="{}", max_length=2000)  # JSON {outcome: number}, the summary's figures
    error: str = Field(default="", max_length=2000)


class BulkItem(SQLModel, table=True):
    __tablename__ = "bulk_item"
    __table_args__ = (UniqueConstraint("run_id", "key"),)
    id: int = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="bulk_run.id", index=True)
    seq: int  # the item's place in the run's order (the details are listed in it)
    key: str = Field(max_length=120)  # the item, e.g. the school's code
    name: str = Field(default="", max_length=300)
    outcome: str = Field(max_length=40)
    detail: str = Field(default="", max_length=2000)
