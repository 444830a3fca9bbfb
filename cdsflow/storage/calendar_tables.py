"""Calendars officers make in the web or in Excel: each save is a new version, never an edit."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class CalendarVersion(SQLModel, table=True):
    """One saved calendar of a unit for a school year; `version` counts from 1 per (unit, year).

    The YAML text is the stored form (the same format as the shipped files, checked by the same
    validator); a campaign launched on it keeps its milestones as they were."""

    __tablename__ = "calendar_version"
    __table_args__ = (UniqueConstraint("unit_id", "school_year", "version"),)
    id: int = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    school_year: str = Field(max_length=9)
    version: int = 1
    issuer: str = Field(max_length=300)
    content: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    based_on: str = Field(default="", max_length=300)  # where the officer started from
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts(nullable=False)
