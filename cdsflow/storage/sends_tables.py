"""What a school sent with each proposal (calendars FORMAT.md "The send that counts")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.tables import _ts


class ProposalSend(SQLModel, table=True):
    """One send of the proposal, frozen as it was sent: never updated afterwards."""

    __tablename__ = "proposal_send"
    __table_args__ = (UniqueConstraint("assessment_id", "number"),)
    id: int = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="assessment.id")  # indexed by the unique constraint
    number: int  # 1, 2, … in the order of sending
    sent_at: datetime = _ts(nullable=False)
    sent_by: str = Field(max_length=200)
    after_return: bool = False  # sent inside a returned file's own window
    answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # item -> raw answer
    item_points: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total: float = 0.0
    evidence: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    committee: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
