"""Figures the officers' screens read at national scale, kept in the database so that every web
process (and every worker) shares them; `workflow/services/listing.py` recomputes a row when the data
it was computed from has changed (its `data_key`: the campaign family's counters, `figures_stamp`, and the
deadlines around the moment of computing)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from cdsflow.storage.tables import Assessment
from cdsflow.storage.types import UTCDateTime


class CampaignFigures(SQLModel, table=True):
    """Figures of one campaign by kind: "province" (per Phòng/ward: submitted, late, levels per group),
    "dashboard" (counts per stage, late schools, per child, levels charts)."""

    __tablename__ = "campaign_figures"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=16, primary_key=True)
    data_key: str = Field(max_length=200)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = Field(default=None, sa_column=Column(UTCDateTime(), nullable=False))


class AssessmentResult(SQLModel, table=True):
    """One line per scored assessment: both phases' group points and levels side by side and the
    levels that count, so that the schools list filters and sorts a province's 54,000 schools through
    an index instead of joining two score rows per school. Derived from `assessment_score` only;
    `workflow/services/result_lines.py` rewrites a line whenever a score is stored or removed."""

    __tablename__ = "assessment_result"
    __table_args__ = (
        Index("ix_assessment_result_root_levels", "root_id", "level1", "level2"),
        Index("ix_assessment_result_campaign_levels", "campaign_id", "level1", "level2"),
        Index("ix_assessment_result_root_self1", "root_id", "self1"),
        Index("ix_assessment_result_root_self2", "root_id", "self2"),
        Index("ix_assessment_result_root_ext1", "root_id", "ext1"),
        Index("ix_assessment_result_root_ext2", "root_id", "ext2"),
    )
    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    campaign_id: int = Field(foreign_key="campaign.id")
    root_id: int = Field(foreign_key="campaign.id")  # the Sở campaign of a Phòng child, else the campaign itself
    self1: float | None = None
    self1_level: int | None = None
    self2: float | None = None
    self2_level: int | None = None
    ext1: float | None = None
    ext1_level: int | None = None
    ext2: float | None = None
    ext2_level: int | None = None
    review_counts: bool = False  # the review scored every item: its levels are the ones that count
    unconfirmed: bool = False  # either phase's points stand on a tier marked unconfirmed
    level1: int | None = None
    level2: int | None = None


# The schools list sorts a province by send date along this index: page 100 reads 5,000 index
# entries (the campaign is in the index: no row is read) instead of sorting 54,000 rows. Declared
# here with the list's other indexes rather than in tables.py.
Index("ix_assessment_proposed_at", Assessment.proposed_at, Assessment.campaign_id)
