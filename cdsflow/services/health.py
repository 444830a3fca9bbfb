"""Readiness of the database for the probes (/readyz): reachable, and at this release's schema."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.migrate import schema_revisions


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str = ""  # why not, in Vietnamese
    detail: str = ""
    schema: list[str] = field(default_factory=list)  # the revisions the database is at


def readiness(uow: UnitOfWork) -> Readiness:
    try:
        current, heads = schema_revisions(uow.engine)
    except SQLAlchemyError as err:
        return Readiness(False, "Không kết nối được cơ sở dữ liệu", type(err).__name__)
    if not current:
        return Readiness(False, "Cơ sở dữ liệu chưa được khởi tạo: chạy «cdsflow init»")
    if current != heads:
        return Readiness(False, "Cơ sở dữ liệu chưa ở phiên bản mới nhất: chạy «cdsflow init»",
                         f"đang ở {', '.join(sorted(current))}, cần {', '.join(sorted(heads))}")
    return Readiness(True, schema=sorted(current))
