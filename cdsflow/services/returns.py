"""The reviewers' return of a file for supplement, as the school must see it until it resubmits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from cdsflow.kernel.stages import Stage
from cdsflow.storage.tables import Assessment, AssessmentEvent

RETURN_TRIGGER = "return_for_supplement"


@dataclass(frozen=True)
class ReturnNote:
    at: datetime | None
    by: str
    reason: str
    criteria: dict[str, str] = field(default_factory=dict)  # criterion code → the reviewers' note


def open_return(session: Session, assessment_id: int) -> ReturnNote | None:
    """The latest return, while the file is back in self-assessment (none after it went out again)."""
    a = session.get(Assessment, assessment_id)
    if a is None or a.state != Stage.SELF_ASSESSMENT.value:
        return None
    # The last change of stage: a return, unless the school has moved on since (committee edits and
    # other same-stage entries of the history do not count).
    event = session.exec(select(AssessmentEvent).where(
        AssessmentEvent.assessment_id == assessment_id, AssessmentEvent.from_state != AssessmentEvent.to_state)
        .order_by(col(AssessmentEvent.id).desc())).first()
    if event is None or event.trigger != RETURN_TRIGGER:
        return None
    notes = (event.details or {}).get("criteria") or {}
    return ReturnNote(event.at, event.actor, event.reason, {str(k): str(v) for k, v in notes.items()})


def returned_ids(session: Session, assessment_ids: list[int]) -> set[int]:
    """Which of these files wait for the school's supplement (for a home page listing several)."""
    return set(_open_returns(session, assessment_ids))


def extra_send_ids(session: OrmSession, assessment_ids: list[int]) -> set[int]:
    """Which of these files are back with the school after a return that came with one more send
    granted by the officer, and have not gone out since (their last change of stage is that return).

    One query for any number of files: the scheduler asks it for a whole campaign's late schools.
    """
    return {aid for aid, details in _open_returns(session, assessment_ids).items() if details.get("extra_send")}


def _open_returns(session: OrmSession, assessment_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The files among these whose last change of stage is a return and which are still back in
    self-assessment, with that return's details; one query (`open_return`'s rule, for many)."""
    if not assessment_ids:
        return {}
    last_change = (select(AssessmentEvent.assessment_id, func.max(AssessmentEvent.id).label("last_id"))
                   .where(col(AssessmentEvent.assessment_id).in_(assessment_ids),
                          AssessmentEvent.from_state != AssessmentEvent.to_state)
                   .group_by(col(AssessmentEvent.assessment_id)).subquery())
    rows = session.execute(
        select(AssessmentEvent.assessment_id, AssessmentEvent.details)
        .join(last_change, last_change.c.last_id == AssessmentEvent.id)
        .join(Assessment, col(Assessment.id) == AssessmentEvent.assessment_id)
        .where(AssessmentEvent.trigger == RETURN_TRIGGER, Assessment.state == Stage.SELF_ASSESSMENT.value)
    ).all()
    return {aid: details or {} for aid, details in rows}
