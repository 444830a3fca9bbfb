"""What a loaded calendar is: the contract between calendar files and the rest of cdsflow.

Every instant here is timezone-aware (Asia/Ho_Chi_Minh when it comes from a file).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from cdsflow.workflow.stages import Actor, Stage


@dataclass(frozen=True)
class SubmissionPolicy:
    """An online form's rules (Bắc Giang: closes 24h00 03/6/2024, at most 3 sends, the last counts)."""

    opens_at: datetime | None = None
    closes_at: datetime | None = None
    max_submissions: int | None = None
    counts: str = "last"  # "last" or "first": which send is the one kept


@dataclass(frozen=True)
class ReminderPolicy:
    """When to remind the actor, counted in working days around the deadline."""

    before_working_days: tuple[int, ...] = (7, 3, 1)
    on_the_day: bool = True
    overdue_every_working_days: int | None = 2
    escalate_to: Actor | None = None

    def to_dict(self) -> dict:
        return {"before": list(self.before_working_days), "on_the_day": self.on_the_day,
                "overdue_every": self.overdue_every_working_days,
                "escalate_to": self.escalate_to.value if self.escalate_to else None}

    @classmethod
    def from_dict(cls, data: dict) -> "ReminderPolicy":
        return cls(before_working_days=tuple(data.get("before", ())), on_the_day=bool(data.get("on_the_day")),
                   overdue_every_working_days=data.get("overdue_every"),
                   escalate_to=Actor(data["escalate_to"]) if data.get("escalate_to") else None)


@dataclass(frozen=True)
class Milestone:
    """One line of an authority's timetable.

    `stage` is the workflow stage each school must have reached by `due_at`: a school whose
    stage comes earlier after that instant is late for this milestone.
    """

    key: str
    title: str
    actor: Actor
    stage: Stage | None
    due_at: datetime
    opens_at: datetime | None = None
    documents: tuple[str, ...] = ()
    channel: str | None = None
    reminders: ReminderPolicy | None = None
    submission: SubmissionPolicy | None = None
    line: int | None = None
    # Added by the calendars area: a contradiction of the source text, recorded on purpose
    # (the validator reports it as a warning instead of refusing the file) …
    known_issue: str | None = None
    # … and the key of the parent calendar's milestone this one must fit inside.
    parent_milestone: str | None = None


@dataclass(frozen=True)
class Calendar:
    issuer: str
    school_year: str
    milestones: tuple[Milestone, ...]
    issuer_kind: Actor = Actor.BUREAU
    issued_on: date | None = None
    parent: str | None = None
    index_sets: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    dossier: tuple[str, ...] = ()  # document type codes in the order the authority binds them
    source: Path | None = None
    content_hash: str | None = None
    extra: dict = field(default_factory=dict)

    def milestones_for(self, actor: Actor) -> list[Milestone]:
        return [m for m in self.milestones if m.actor == actor]
