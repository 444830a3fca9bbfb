"""A calendar as the rows of a timetable, in Vietnamese (pure; the CLI and exports print it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.calendars.parse import ACTOR_LABELS, CHANNELS
from cdsflow.workflow.document_types import document_types


@dataclass(frozen=True)
class TimelineRow:
    number: int
    milestone: Milestone
    title: str
    actor: str
    stage: str
    deadline: str
    documents: str
    channel: str


def document_names(codes: tuple[str, ...]) -> list[str]:
    known = document_types()
    return [known[c].name if c in known else c for c in codes]


def deadline_text(m: Milestone) -> str:
    """The deadline as the plan says it: a date or window, a relative rule, or a start marker."""
    if m.relative is not None:
        return "Trong " + m.relative.describe()
    if m.due_at is None:
        return "Bắt đầu (không có hạn)"
    return timeutil.format_span_vi(m.opens_at, m.due_at)


def _placed(cal: Calendar) -> list[tuple[int, Milestone]]:
    """Time order; a milestone without a fixed date stays right after the one it follows in the file."""
    keyed, last = [], None
    for i, m in enumerate(cal.milestones):
        if m.due_at is not None:
            last = m.due_at
        keyed.append(((m.due_at or last or timeutil.start_of_day(date.min)), i, m))
    return [(i, m) for _, i, m in sorted(keyed, key=lambda t: (t[0], t[1]))]


def timeline(cal: Calendar) -> list[TimelineRow]:
    """Milestones in time order (file order among equal deadlines), numbered from 1."""
    ordered = _placed(cal)
    return [
        TimelineRow(
            number=n,
            milestone=m,
            title=m.title,
            actor=ACTOR_LABELS[m.actor],
            stage=m.stage.label if m.stage else "",
            deadline=deadline_text(m),
            documents="; ".join(document_names(m.documents)),
            channel=CHANNELS.get(m.channel, "") if m.channel else "",
        )
        for n, (_, m) in enumerate(ordered, start=1)
    ]
