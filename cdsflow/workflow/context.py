"""What the rulebook and the transition guards may look at: facts gathered by the service layer
(`services/authorization.py`), no I/O here."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cdsflow.kernel.stages import CampaignStatus, Stage
from cdsflow.workflow.roles import Role


@dataclass(frozen=True)
class ActorRef:
    """Who asks: a person acting for a unit. `role` and `account_id` come from a web login; a person
    at the command line has neither and acts in the unit's natural role (see `rulebook`)."""

    name: str
    unit_id: int | None = None
    role: Role | None = None
    account_id: int | None = None


@dataclass(frozen=True)
class MemberView:
    full_name: str
    role: str  # chair | vice_chair | secretary | member


@dataclass
class TransitionContext:
    """The facts of one request: who asks, about which school and campaign, and what is stored."""

    actor: ActorRef
    now: datetime
    school_id: int | None = None
    # The school's supervising chain, nearest first (bureau, then department…).
    supervisors: tuple[int, ...] = ()
    # The campaign's issuing unit, then the units above it.
    issuer_chain: tuple[int, ...] = ()
    # Web logins that are members of the review team the school's campaign is assigned to.
    team_accounts: frozenset[int] = frozenset()
    stage: Stage | None = None
    locked: bool = False
    campaign_status: CampaignStatus | None = None
    committee: tuple[MemberView, ...] = ()
    proposed_by: str | None = None
    # Filled by the service layer from the index set and the calendar:
    proposal_gaps: list[str] = field(default_factory=list)
    submission_refusal: str | None = None
    # Return for supplement: why the school could not send again after it (None: it can), and
    # whether the officer grants one more send explicitly (recorded in the history).
    return_refusal: str | None = None
    extra_send: bool = False
    # External review: items of the index set the review has not scored (None: no review scores at all).
    external_unscored: tuple[str, ...] | None = None
    # The supervisor's written reason to recognise without a complete external review.
    override_reason: str = ""
    # "Số 12/QĐ-PGDĐT ngày …" of the recognition decision that names the school, if issued.
    recognition_decision: str | None = None
    # For the campaign's own steps: schools per stage (child campaigns included).
    stage_counts: Mapping[Stage, int] = field(default_factory=dict)
    reason: str = ""
    criteria_notes: dict[str, str] = field(default_factory=dict)
    # The names of the facts above that the service layer gathered. A rule's requirement names the
    # facts it reads (`needs`); asked without one, the rule refuses instead of reading a default.
    known: set[str] = field(default_factory=set)

    def supply(self, **facts: Any) -> TransitionContext:
        """Set gathered facts and record that they were gathered."""
        for name, value in facts.items():
            if name not in FACTS:
                raise AttributeError(f"TransitionContext has no fact {name!r}")
            setattr(self, name, value)
        self.known |= set(facts)
        return self


# The facts a requirement may need (every field but who asks and when).
FACTS = frozenset(TransitionContext.__dataclass_fields__) - {"actor", "now", "known"}


class MissingFacts(AssertionError):  # noqa: N818 - a programming error, not a user's
    """A rule was asked without facts it reads: the caller forgot to gather them. Raised only in
    strict mode (tests); in production the rule refuses instead."""


def strict_facts() -> bool:
    """Tests turn this on (tests/conftest.py) so that a forgotten fact fails loudly."""
    return os.environ.get("CDSFLOW_STRICT_RULES") == "1"


Check = Callable[[TransitionContext], list[str]]


def needs(*facts: str) -> Callable[[Check], Check]:
    """Declare the facts a requirement reads (`rulebook.refusals` refuses when one was not gathered)."""
    unknown = set(facts) - FACTS
    if unknown:
        raise AttributeError(f"TransitionContext has no fact {sorted(unknown)}")

    def mark(check: Check) -> Check:
        check.needs = frozenset(facts)  # type: ignore[attr-defined]
        return check
    return mark
