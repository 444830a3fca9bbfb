"""The unit's steering group for IT and digital transformation (bộ phận chỉ đạo, phụ trách CNTT và
CĐS; criterion 2.1): each Phòng and school names one, its Quyết định thành lập prints these rows."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class SteeringMember(SQLModel, table=True):
    __tablename__ = "steering_member"
    id: int = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    position_order: int = 0
    full_name: str = Field(max_length=200)
    position: str = Field(default="", max_length=200)  # chức vụ: Hiệu trưởng, Giáo viên tin học…
    role: str = Field(max_length=16)  # head | deputy | secretary | member
    duties: str = Field(default="", max_length=500)  # nhiệm vụ được phân công
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=20)
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime = _ts(nullable=False)
