"""A calendar as the rows of a timetable, in Vietnamese (pure; the CLI and exports print it)."""
from __future__ import annotations

from dataclasses import dataclass

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


def timeline(cal: Calendar) -> list[TimelineRow]:
    """Milestones in time order (file order among equal deadlines), numbered from 1."""
    ordered = sorted(enumerate(cal.milestones), key=lambda im: (im[1].due_at, im[0]))
    return [
        TimelineRow(
            number=n,
            milestone=m,
            title=m.title,
            actor=ACTOR_LABELS[m.actor],
            stage=m.stage.label if m.stage else "",
            deadline=timeutil.format_span_vi(m.opens_at, m.due_at),
            documents="; ".join(document_names(m.documents)),
            channel=CHANNELS.get(m.channel, "") if m.channel else "",
        )
        for n, (_, m) in enumerate(ordered, start=1)
    ]
