"""Figures the officers' screens read at national scale, kept in the database so that every web
process (and every worker) shares them; `workflow/services/listing.py` recomputes a row when the data
it was computed from has changed (its `data_key`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


class CampaignFigures(SQLModel, table=True):
    """Figures of one campaign by kind: "province" (per Phòng/ward: submitted, late, levels per group),
    "dashboard" (counts per stage, late schools, per child, levels charts)."""

    __tablename__ = "campaign_figures"
    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=16, primary_key=True)
    data_key: str = Field(max_length=200)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=False))
