"""Domain events raised by the service layer, handled in the same transaction by outer layers.

`workflow` must not import notifications or documents, so they subscribe here instead (the
cosmicpython message bus, reduced to what we need).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session


@dataclass(frozen=True)
class AssessmentMoved:
    assessment_id: int
    campaign_id: int
    school_id: int
    trigger: str
    from_state: str
    to_state: str
    actor: str
    at: datetime
    reason: str = ""
    event_id: int | None = None  # the history line written for this move
    criteria_notes: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Session, AssessmentMoved], None]
_handlers: list[Handler] = []


def subscribe(handler: Handler) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def unsubscribe(handler: Handler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def publish(session: Session, event: AssessmentMoved) -> None:
    for handler in list(_handlers):
        handler(session, event)
