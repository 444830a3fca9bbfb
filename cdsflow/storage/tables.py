"""Core tables: units, campaigns and their milestones, per-school assessments, history, committees.

Other areas keep their tables in `storage/<area>_tables.py`; `storage/schema.py` imports all of
them so that metadata and Alembic see one schema.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime

# A milestone the scheduler has not planned yet (`CampaignMilestone.next_reminder_at`): due at once.
NOT_PLANNED = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable), **kw)


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    id: int = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=300, index=True)  # lists sort by it (54,000 schools)
    short_code: str = Field(max_length=32)  # used in document numbers: Số: 07/QĐ-THHT
    kind: str = Field(max_length=16, index=True)  # department | bureau | school
    education_level: str | None = Field(default=None, max_length=32)
    place_name: str = Field(default="", max_length=120)
    parent_org: str = Field(default="", max_length=300)  # printed above the issuer in headers
    emails: str = Field(default="", max_length=1000)  # comma-separated
    supervisor_id: int | None = Field(default=None, foreign_key="unit.id", index=True)

    @property
    def email_list(self) -> list[str]:
        return [e for e in self.emails.split(",") if e]


class UnitName(SQLModel, table=True):
    """A name the unit had until `valid_until` (its current name is on `unit`): papers are headed and
    signed with the name and level in force on their date (the quận became a phường on 1/7/2025)."""

    __tablename__ = "unit_name"
    __table_args__ = (UniqueConstraint("unit_id", "valid_until", name="uq_unit_name_until"),)
    id: int = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    valid_until: date  # the last day the unit bore this name
    name: str = Field(max_length=300)
    parent_org: str = Field(default="", max_length=300)
    place_name: str = Field(default="", max_length=120)
    changed_by: str = Field(default="", max_length=200)


_OPEN = "status != 'closed'"


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"
    # One open plan per issuer, school year and index set (a child plan is its bureau's one);
    # enforced by the database so two launches at the same instant cannot both succeed.
    __table_args__ = (
        Index("uq_campaign_issuer_year_set_open", "issuer_id", "school_year", "index_set_code", unique=True,
              sqlite_where=text(_OPEN), postgresql_where=text(_OPEN)),
        # A family's figures key (count and sum of the counters) read from this index alone.
        Index("ix_campaign_parent_data_version", "parent_id", "data_version"),
    )
    id: int = Field(default=None, primary_key=True)
    issuer_id: int = Field(foreign_key="unit.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    school_year: str = Field(max_length=9)
    title: str = Field(max_length=500)
    status: str = Field(default="draft", max_length=16)
    index_set_code: str = Field(max_length=32)
    index_set_version: str = Field(default="", max_length=64)
    index_set_hash: str = Field(default="", max_length=64)
    calendar_source: str = Field(default="", max_length=500)
    calendar_hash: str = Field(default="", max_length=64)
    # The calendar's binding order of a school's dossier (document type codes); empty = the default.
    dossier: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    # The calendar's own days off ([iso day, reason]) besides weekends and national holidays.
    days_off: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    created_at: datetime | None = _ts()
    launched_at: datetime | None = _ts()
    version: int = Field(default=1)
    # Bumped in the same transaction as every change of one of its schools' files (a step, a score):
    # the stored figures of a campaign family are keyed by their campaigns' counters, so a step in
    # one ward leaves every other family's figures standing (services/figures_stamp.py).
    data_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class CampaignMilestone(SQLModel, table=True):
    """A snapshot of the calendar taken at launch: later edits of the file do not move it."""

    __tablename__ = "campaign_milestone"
    __table_args__ = (
        UniqueConstraint("campaign_id", "key"),
        # A family's passed deadlines (`campaigns.passed_ranks`) read from the index alone.
        Index("ix_campaign_milestone_due", "campaign_id", "due_at", "stage"),
        # The few campaigns whose calendar has relative deadlines, found without reading the others' rows.
        Index("ix_campaign_milestone_relative", "campaign_id", sqlite_where=text("relative IS NOT NULL"),
              postgresql_where=text("relative IS NOT NULL")),
    )
    id: int = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int = 0
    key: str = Field(max_length=64)
    title: str = Field(max_length=500)
    actor: str = Field(max_length=16)
    stage: str | None = Field(default=None, max_length=32)
    opens_at: datetime | None = _ts()
    # NULL: each school's own deadline (`relative`) or a start marker (`marker`).
    due_at: datetime | None = _ts()
    # Set only when the calendar enforces a submission window (an online form that closes).
    closes_at: datetime | None = _ts()
    max_submissions: int | None = None
    counts: str = Field(default="last", max_length=8)
    # calendars.model.RelativeRule.to_dict(): due N (working) days after an event of the school's file.
    # none_as_null: "no rule" is SQL NULL, so `relative IS NOT NULL` finds the campaigns that have one.
    relative: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    marker: str | None = Field(default=None, max_length=16)
    # The returned file's own window: RelativeRule.to_dict() plus "beyond_cap".
    after_return: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    documents: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The calendar's reminder policy ({} = the calendar asks for none; NULL = cdsflow's default).
    reminders: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # When the scheduler next has work for this milestone (its next reminder point or sweep), so a
    # tick reads only what is due (one indexed range) instead of every campaign's calendar.
    # NOT_PLANNED (the epoch) until the first tick plans it; NULL: nothing more to remind.
    # Whoever changes a milestone's dates or reminders sets it back to NOT_PLANNED.
    next_reminder_at: datetime | None = Field(
        default=NOT_PLANNED, sa_column=Column(UTCDateTime(), nullable=True, default=NOT_PLANNED, index=True))


class Assessment(SQLModel, table=True):
    """One school's run through the seven stages within one campaign."""

    __tablename__ = "assessment"
    __table_args__ = (
        UniqueConstraint("campaign_id", "school_id"),
        Index("ix_assessment_campaign_state", "campaign_id", "state"),
    )
    id: int = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    school_id: int = Field(foreign_key="unit.id", index=True)
    state: str = Field(max_length=32)
    version: int = Field(default=1)
    locked: bool = False
    proposed_by: str | None = Field(default=None, max_length=200)
    proposal_count: int = 0
    proposed_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class AssessmentEvent(SQLModel, table=True):
    """Append-only history: who moved which assessment, when, from where to where, and why."""

    __tablename__ = "assessment_event"
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    at: datetime = _ts(nullable=False)
    actor: str = Field(max_length=200)
    actor_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    trigger: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    reason: str = Field(default="", max_length=4000)
    details: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CommitteeMember(SQLModel, table=True):
    __tablename__ = "committee_member"
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    position_order: int = 0
    full_name: str = Field(max_length=200)
    position: str = Field(default="", max_length=200)  # chức vụ: Hiệu trưởng, Giáo viên…
    role: str = Field(max_length=16)  # chair | vice_chair | secretary | member
    duties: str = Field(default="", max_length=1000)
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)
