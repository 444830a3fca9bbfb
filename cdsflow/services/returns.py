"""The reviewers' return of a file for supplement, as the school must see it until it resubmits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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
    return {aid for aid in assessment_ids if open_return(session, aid) is not None}
