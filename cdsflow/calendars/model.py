"""What a loaded calendar is: the contract between calendar files and the rest of cdsflow.

Every instant here is timezone-aware (Asia/Ho_Chi_Minh when it comes from a file).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cdsflow.calendars import timeutil
from cdsflow.kernel.stages import Actor, Stage

# Events of a school's own file a relative deadline may count from (FORMAT.md "Relative deadlines"):
# event -> the history step that records it (None: the campaign's launch, the same for every school).
RELATIVE_EVENTS: dict[str, str | None] = {
    "launched": None,
    "proposal_sent": "submit_proposal",
    "returned": "return_for_supplement",
    "recognized": "recognise",
}
EVENT_LABELS: dict[str, str] = {
    "launched": "phát động kế hoạch",
    "proposal_sent": "gửi tờ trình đề nghị",
    "returned": "hồ sơ bị trả để bổ sung",
    "recognized": "có quyết định công nhận",
}


@dataclass(frozen=True)
class RelativeRule:
    """Due N (working) days after an event of the school's file, or after another milestone's deadline."""

    count: int
    working: bool = True
    event: str | None = None       # a key of RELATIVE_EVENTS
    milestone: str | None = None   # or: another milestone's key
    cap: datetime | None = None    # not_later_than

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "working": self.working, "event": self.event, "milestone": self.milestone,
                "cap": self.cap.isoformat() if self.cap else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelativeRule:
        return cls(count=int(data["count"]), working=bool(data.get("working", True)), event=data.get("event"),
                   milestone=data.get("milestone"),
                   cap=datetime.fromisoformat(data["cap"]) if data.get("cap") else None)

    def describe(self) -> str:
        unit = "ngày làm việc" if self.working else "ngày"
        what = EVENT_LABELS.get(self.event or "", "") if self.event else f"hạn của mốc '{self.milestone}'"
        text = f"{self.count} {unit} sau khi {what}" if self.event else f"{self.count} {unit} sau {what}"
        if self.cap is not None:
            text += f", không muộn hơn {timeutil.format_instant_vi(self.cap)}"
        return text


@dataclass(frozen=True)
class SubmissionPolicy:
    """An online form's rules (Bắc Giang: closes 24h00 03/6/2024, at most 3 sends, the last counts)."""

    opens_at: datetime | None = None
    closes_at: datetime | None = None
    max_submissions: int | None = None
    counts: str = "last"  # "last" or "first": which send is the one kept
    # A returned file's own window (FORMAT.md "Resubmission after a return"): counted from the
    # school's latest return; `beyond_cap`: a send inside it is allowed beyond max_submissions.
    after_return: RelativeRule | None = None
    beyond_cap: bool = True


@dataclass(frozen=True)
class ReminderPolicy:
    """When to remind the actor, counted in working days around the deadline."""

    before_working_days: tuple[int, ...] = (7, 3, 1)
    on_the_day: bool = True
    overdue_every_working_days: int | None = 2   # the actor (school) after the deadline
    escalate_to: Actor | None = None
    overdue_limit: int | None = None              # None: until the stage is reached or the year ends
    digest_every_working_days: int | None = None  # the supervisor's digest; None: as overdue_every
    digest_limit: int | None = None
    digest_given: bool = False                    # digest_every written (so `none` is not "as overdue")

    @property
    def digest_every(self) -> int | None:
        return self.digest_every_working_days if self.digest_given else self.overdue_every_working_days

    def to_dict(self) -> dict[str, Any]:
        out = {"before": list(self.before_working_days), "on_the_day": self.on_the_day,
               "overdue_every": self.overdue_every_working_days,
               "escalate_to": self.escalate_to.value if self.escalate_to else None}
        # Only when set, so snapshots taken before these keys existed compare equal.
        if self.overdue_limit is not None:
            out["overdue_limit"] = self.overdue_limit
        if self.digest_given:
            out["digest_every"] = self.digest_every_working_days
        if self.digest_limit is not None:
            out["digest_limit"] = self.digest_limit
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReminderPolicy:
        return cls(before_working_days=tuple(data.get("before", ())), on_the_day=bool(data.get("on_the_day")),
                   overdue_every_working_days=data.get("overdue_every"),
                   escalate_to=Actor(data["escalate_to"]) if data.get("escalate_to") else None,
                   overdue_limit=data.get("overdue_limit"), digest_every_working_days=data.get("digest_every"),
                   digest_limit=data.get("digest_limit"), digest_given="digest_every" in data)


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
    due_at: datetime | None  # None: a relative deadline (per school) or a start marker
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
    # Each school's own deadline, counted from its history (FORMAT.md "Relative deadlines") …
    relative: RelativeRule | None = None
    # … or "start": a start marker with no date at all.
    marker: str | None = None

    @property
    def dated(self) -> bool:
        return self.due_at is not None


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
    # The unit's own days off besides weekends and national holidays (a nghỉ bù, a local holiday):
    # (day, reason); a review visit is refused on them.
    days_off: tuple[tuple[date, str], ...] = ()
    source: Path | None = None
    content_hash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def milestones_for(self, actor: Actor) -> list[Milestone]:
        return [m for m in self.milestones if m.actor == actor]

    @property
    def dated_milestones(self) -> tuple[Milestone, ...]:
        """The milestones with one fixed deadline for everybody."""
        return tuple(m for m in self.milestones if m.due_at is not None)
