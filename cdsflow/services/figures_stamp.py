"""What the stored figures of a campaign family (`listing.stored_figures`) depend on, per family.

Every change of a school's file (a step, the committee, a score) bumps its own campaign's
`data_version` in the same transaction, so the key of a family's figures (its campaigns' counters,
summed) changes with the steps of that family's schools only: a step in one ward no longer
recomputes the figures of every other campaign in the database."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from cdsflow.storage.tables import Assessment, Campaign


def touch_campaign(session: Session, campaign_id: int) -> None:
    """The campaign's files changed (the caller commits)."""
    session.execute(update(Campaign).where(col(Campaign.id) == campaign_id)
                    .values(data_version=col(Campaign.data_version) + 1)
                    .execution_options(synchronize_session=False))


def touch_assessments(session: Session, assessment_ids: Iterable[int]) -> None:
    """The campaigns of these files changed (scores stored or removed in bulk; the caller commits)."""
    ids = sorted(set(assessment_ids))
    if not ids:
        return
    session.execute(update(Campaign).where(col(Campaign.id).in_(
        select(col(Assessment.campaign_id)).where(col(Assessment.id).in_(ids)).distinct()))
        .values(data_version=col(Campaign.data_version) + 1).execution_options(synchronize_session=False))


def touch_all(session: Session) -> None:
    """Every campaign changed (the result lines rebuilt from scratch)."""
    session.execute(update(Campaign).values(data_version=col(Campaign.data_version) + 1)
                    .execution_options(synchronize_session=False))


def family_stamp(session: Session, campaign_id: int) -> str:
    """"campaigns:sum of counters" of the campaign and its children, read from one index: it changes
    when any of their schools' files changes (a counter only grows) or a child is added."""
    n, total = session.execute(select(func.count(), func.coalesce(func.sum(Campaign.data_version), 0)).where(
        or_(col(Campaign.id) == campaign_id, col(Campaign.parent_id) == campaign_id))).one()
    return f"{n}:{total}"
