"""The number register (§6): numbers per issuing unit, year and series, never reused.

A counter row per (unit, year, series) is bumped with one `UPDATE … SET last_number =
last_number + 1 … RETURNING`, so concurrent issuers serialise on that row (PostgreSQL row lock,
SQLite write lock) and no number is handed out twice. The number is taken in the same
transaction that stores the generated document: a rollback gives the number back unused.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from cdsflow.storage.documents_tables import DocumentCounter, GeneratedDocument
from cdsflow.workflow.document_types import document_types
from cdsflow.workflow.errors import InvalidInput

KEYINGS = ("unit_year_type", "unit_year")
ALL_TYPES = "*"
COUNCIL_PREFIX = "HĐ:"  # a council issuing in its own name keeps its own series


def series_for(doc_type: str, *, keying: str = "unit_year_type", council: bool = False) -> str:
    """The register series of a paper: its NĐ 30 type code, or '*' when a unit numbers all types
    in one run; a council's papers run apart from the school's."""
    if keying not in KEYINGS:
        raise InvalidInput(f"Cách đánh số không hợp lệ: «{keying}»", details=[f"chọn: {', '.join(KEYINGS)}"])
    dtype = document_types().get(doc_type)
    if dtype is None:
        raise InvalidInput(f"Loại văn bản không có trong danh mục: «{doc_type}»")
    base = ALL_TYPES if keying == "unit_year" else (dtype.type_code or doc_type)
    return f"{COUNCIL_PREFIX}{base}" if council else base


def next_number(session: Session, unit_id: int, year: int, series: str) -> int:
    """Take the next number of a series inside the caller's transaction (make it the first write)."""
    bump = (
        update(DocumentCounter)
        .where(DocumentCounter.unit_id == unit_id, DocumentCounter.year == year, DocumentCounter.series == series)
        .values(last_number=DocumentCounter.last_number + 1)
        .returning(DocumentCounter.last_number)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(DocumentCounter)
            .values(unit_id=unit_id, year=year, series=series, last_number=0)
            .on_conflict_do_nothing()
        )
        number = session.execute(bump).scalar_one()
    return number


def register_rows(session: Session, unit_id: int | None = None) -> list[GeneratedDocument]:
    """The register as a clerk reads it: numbered papers by unit, year, series and number."""
    stmt = select(GeneratedDocument).where(GeneratedDocument.number.is_not(None))
    if unit_id is not None:
        stmt = stmt.where(GeneratedDocument.unit_id == unit_id)
    stmt = stmt.order_by(GeneratedDocument.unit_id, GeneratedDocument.year, GeneratedDocument.series,
                         GeneratedDocument.number)
    return list(session.execute(stmt).scalars())
