"""Tables of the assessment area: index-set versions, answers, scores, evidence, assignments."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable), **kw)


class IndexSetVersion(SQLModel, table=True):
    """An imported (or pinned) index set. `content` is the canonical JSON its hash is computed from."""

    __tablename__ = "index_set_version"
    # One row per content (hash); a label may name several contents: a version is label + digest.
    id: int = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, index=True)
    version: str = Field(max_length=64)
    content_hash: str = Field(max_length=64, unique=True, index=True)
    provisional: bool = False
    title: str = Field(max_length=500)
    content: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(default="", max_length=500)  # file name it was imported from
    imported_by: str = Field(default="", max_length=200)
    # Stored by a campaign launch to keep a shipped set's content resolvable (not an import): a
    # newer shipped file, not this pin, is what "the latest 4725" means for the next campaign.
    pinned: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    imported_at: datetime = _ts(nullable=False)


class AssessmentAnswer(SQLModel, table=True):
    """One item's raw answer in one phase (self | external) of one assessment, with who/when."""

    __tablename__ = "assessment_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "phase", "item_code"),)
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id")  # indexed by the unique constraint
    phase: str = Field(max_length=16)  # self | external
    item_code: str = Field(max_length=32)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    answered_by: str = Field(max_length=200)
    answered_at: datetime = _ts(nullable=False)
    # The phase's revision (AssessmentScore.revision) that last wrote this answer: a save based on an
    # older revision that changes this item was made without seeing it and is refused.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AssessmentScore(SQLModel, table=True):
    """The scored result of one phase, against the exact index-set version (hash) it used."""

    __tablename__ = "assessment_score"
    # scored_at indexed: the province view's figures are recomputed when the newest score changes.
    __table_args__ = (UniqueConstraint("assessment_id", "phase"), Index("ix_assessment_score_scored_at", "scored_at"))
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id")  # indexed by the unique constraint
    phase: str = Field(max_length=16)
    index_set_hash: str = Field(max_length=64)
    group1_total: float | None = None  # first two groups as columns: what reports sort and count by
    group1_level: int | None = None
    group2_total: float | None = None
    group2_level: int | None = None
    total: float = 0.0
    overall_level: int | None = None
    complete: bool = False
    mandatory_met: bool | None = None  # None while a mandatory condition is unanswered
    # Points stand on a tier the index set marks unconfirmed: lists mark "bậc điểm chưa xác nhận".
    unconfirmed: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    item_points: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    scored_by: str = Field(default="", max_length=200)
    scored_at: datetime = _ts(nullable=False)
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # +1 per save of the phase


class EvidenceEntry(SQLModel, table=True):
    """A minh chứng for one criterion (or sub-item) of one assessment."""

    __tablename__ = "evidence_entry"
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    criterion_code: str = Field(max_length=32)
    title: str = Field(max_length=500)
    document_number: str = Field(default="", max_length=100)  # số, ký hiệu văn bản
    document_date: date | None = None
    link: str = Field(default="", max_length=2000)
    file_path: str = Field(default="", max_length=1000)
    responsible_member_id: int | None = Field(default=None, foreign_key="committee_member.id", index=True)
    valid_until: date | None = None  # None: stays valid (a quy chế); a plan is valid for its year
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = _ts(nullable=False)


class CriterionAssignment(SQLModel, table=True):
    """The committee's split of the criteria: who leads (chủ trì) and who does (thực hiện) each one."""

    __tablename__ = "criterion_assignment"
    __table_args__ = (UniqueConstraint("assessment_id", "criterion_code", "member_id"),)
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id")  # indexed by the unique constraint
    criterion_code: str = Field(max_length=32)
    member_id: int = Field(foreign_key="committee_member.id", index=True)
    role: str = Field(max_length=16)  # chu_tri | thuc_hien
    status: str = Field(default="chua_bat_dau", max_length=16)  # chua_bat_dau | dang_thuc_hien | hoan_thanh
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime = _ts(nullable=False)


class CommitteeMeeting(SQLModel, table=True):
    """What the self-assessment council recorded about its meeting: the Biên bản prints only this."""

    __tablename__ = "committee_meeting"
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id", index=True)
    started_at: datetime = _ts(nullable=False)
    ended_at: datetime = _ts(nullable=False)
    place: str = Field(max_length=300)
    chaired_by: str = Field(max_length=200)
    secretary: str = Field(max_length=200)
    attendees_present: int = 0
    attendees_total: int = 0
    absent: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [{full_name, reason}]
    vote_for: int = 0
    vote_against: int = 0
    vote_abstain: int = 0
    conclusions: str = Field(default="", sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = _ts(nullable=False)
