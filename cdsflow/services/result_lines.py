"""Keeps `assessment_result` (one line per scored assessment, both phases side by side) equal to
what `assessment_score` says. The two places that store or remove scores (`scoring._store_score` and
the bulk import) call `refresh` in their own transaction; `rebuild` fills the table from scratch
(a database that had scores before the table existed, or benchmark data written in bulk)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Case, Select, and_, case, delete, func, insert, literal
from sqlalchemy.orm import Session, aliased
from sqlmodel import col, select

from cdsflow.services import figures_stamp
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.listing_tables import AssessmentResult
from cdsflow.storage.tables import Assessment, Campaign

CHUNK = 500


def _select(ids: list[int] | None) -> Select[*tuple[Any, ...]]:
    own = aliased(AssessmentScore, name="own")
    ext = aliased(AssessmentScore, name="ext")
    counts = func.coalesce(ext.complete, literal(False))

    def counted(column: str) -> Case[Any]:
        return case((col(ext.complete).is_(True), getattr(ext, column)), else_=getattr(own, column))

    stmt: Select[*tuple[Any, ...]]  # sqlmodel types select() up to 4 columns: the wide one below is checked loosely
    stmt = (select(col(Assessment.id), col(Assessment.campaign_id), func.coalesce(col(Campaign.parent_id), col(Campaign.id)),  # type: ignore[call-overload, misc]
                   own.group1_total, own.group1_level, own.group2_total, own.group2_level,
                   ext.group1_total, ext.group1_level, ext.group2_total, ext.group2_level, counts,
                   counted("group1_level"), counted("group2_level"),
                   func.coalesce(own.unconfirmed, literal(False)) | func.coalesce(ext.unconfirmed, literal(False)))
            .select_from(Assessment).join(Campaign, Campaign.id == Assessment.campaign_id)
            .outerjoin(own, and_(col(own.assessment_id) == Assessment.id, col(own.phase) == "self"))
            .outerjoin(ext, and_(col(ext.assessment_id) == Assessment.id, col(ext.phase) == "external"))
            .where(col(own.id).is_not(None) | col(ext.id).is_not(None)))
    return stmt if ids is None else stmt.where(col(Assessment.id).in_(ids))


_COLUMNS = ["assessment_id", "campaign_id", "root_id", "self1", "self1_level", "self2", "self2_level", "ext1",
            "ext1_level", "ext2", "ext2_level", "review_counts", "level1", "level2", "unconfirmed"]


def refresh(session: Session, assessment_ids: Iterable[int]) -> None:
    """Rewrite the lines of these assessments from their stored scores (flushes pending changes;
    the caller commits)."""
    ids = sorted(set(assessment_ids))
    session.flush()
    table = AssessmentResult.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        session.execute(delete(table).where(table.c.assessment_id.in_(chunk)))
        session.execute(insert(table).from_select(_COLUMNS, _select(chunk)))
        figures_stamp.touch_assessments(session, chunk)  # the levels and scores the figures count


def rebuild(session: Session) -> int:
    """Every line again from `assessment_score`; returns how many lines there are."""
    table = AssessmentResult.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    session.execute(delete(table))
    session.execute(insert(table).from_select(_COLUMNS, _select(None)))
    figures_stamp.touch_all(session)
    return session.execute(select(func.count()).select_from(table)).scalar_one()


def fill_if_missing(session: Session) -> int:
    """After an upgrade from a version without `assessment_result`: its lines, once, when the table is
    empty while scores exist (the lists and their filters read only this table). Returns lines written."""
    table = AssessmentResult.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    if session.execute(select(func.count()).select_from(table)).scalar_one():
        return 0
    if not session.execute(select(func.count()).select_from(AssessmentScore)).scalar_one():
        return 0
    return rebuild(session)
