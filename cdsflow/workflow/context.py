"""What a transition's guards may look at: a snapshot gathered by the service layer, no I/O here."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ActorRef:
    """Who asks for a step: a person (name or login) acting for a unit."""

    name: str
    unit_id: int | None = None


@dataclass(frozen=True)
class MemberView:
    full_name: str
    role: str  # chair | vice_chair | secretary | member


@dataclass
class TransitionContext:
    actor: ActorRef
    now: datetime
    school_id: int
    # The school's supervising chain, nearest first (bureau, then department…).
    supervisors: tuple[int, ...] = ()
    committee: tuple[MemberView, ...] = ()
    proposed_by: str | None = None
    # Filled by the service layer from the index set and the calendar:
    proposal_gaps: list[str] = field(default_factory=list)
    submission_refusal: str | None = None
    reason: str = ""
    criteria_notes: dict[str, str] = field(default_factory=dict)
