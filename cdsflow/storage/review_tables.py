"""External review: the team a supervising unit forms for a campaign, its members and school visits."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class ReviewTeam(SQLModel, table=True):
    """Đoàn đánh giá ngoài: one per campaign; its period bounds every visit date."""

    __tablename__ = "review_team"
    id: int = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", unique=True, index=True)
    name: str = Field(max_length=300)
    period_start: date
    period_end: date
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts(nullable=False)
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime | None = _ts()


class ReviewTeamMember(SQLModel, table=True):
    __tablename__ = "review_team_member"
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="review_team.id", index=True)
    position_order: int = 0
    full_name: str = Field(max_length=200)
    position: str = Field(default="", max_length=200)  # chức vụ: Phó Trưởng phòng, Chuyên viên…
    workplace: str = Field(default="", max_length=300)  # đơn vị công tác
    role: str = Field(max_length=16)  # head | deputy | secretary | member
    # The member's web login, when they enter external scores themselves.
    account_id: int | None = Field(default=None, foreign_key="web_account.id")


class ReviewVisit(SQLModel, table=True):
    """The day (and half-day) the team visits one school that proposed."""

    __tablename__ = "review_visit"
    __table_args__ = (UniqueConstraint("team_id", "assessment_id"),)
    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="review_team.id", index=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    visit_date: date
    session: str = Field(max_length=8)  # sáng | chiều
