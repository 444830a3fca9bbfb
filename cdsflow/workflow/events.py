"""Domain events raised by the service layer, handled in the same transaction by outer layers.

`workflow` must not import notifications or documents, so they subscribe here instead (the
cosmicpython message bus, reduced to what we need).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class PasswordLink:
    """A set-password or reset link just issued for one account (the token travels only in the mail:
    the database keeps its hash)."""

    account_id: int
    username: str
    full_name: str
    role: str
    email: str
    unit_id: int | None
    purpose: str  # setup | reset
    token: str
    token_id: str  # the stored hash, which keys the mail (a retry never mails twice)
    expires_at: datetime
    unit_name: str = ""


@dataclass(frozen=True)
class PasswordLinksIssued:
    """Links issued in one go (one for a reset, thousands when a campaign's school accounts are made)."""

    links: tuple[PasswordLink, ...]
    at: datetime
    base_url: str | None = None  # the web address the links open (None: the configured one)


Event = AssessmentMoved | PasswordLinksIssued
Handler = Callable[[Session, Any], None]
_handlers: dict[type, list[Handler]] = {}
# Events whose only effect is a mail: raised with nobody listening, the mail would be lost silently.
MUST_BE_HANDLED = (PasswordLinksIssued,)


def subscribe(handler: Handler, event_type: type = AssessmentMoved) -> None:
    found = _handlers.setdefault(event_type, [])
    if handler not in found:
        found.append(handler)


def unsubscribe(handler: Handler, event_type: type = AssessmentMoved) -> None:
    found = _handlers.get(event_type, [])
    if handler in found:
        found.remove(handler)


def publish(session: Session, event: Event) -> None:
    """Run the handlers of the event's type in the caller's transaction (a mail commits with the change)."""
    handlers = list(_handlers.get(type(event), ()))
    if not handlers and isinstance(event, MUST_BE_HANDLED):
        raise RuntimeError(f"{type(event).__name__} has no handler: the entry point must call wiring.install()")
    for handler in handlers:
        handler(session, event)
