"""Where a school (or bureau) stands against a calendar: next milestone, late milestones. Pure.

A milestone is met once the actor has reached its stage; it is late when its deadline has
passed and the stage is not reached (model.Milestone docstring).
"""
from __future__ import annotations

from datetime import datetime
from typing import cast

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.kernel.stages import Actor, Stage


def is_met(milestone: Milestone, reached: Stage) -> bool:
    return milestone.stage is None or reached.order >= milestone.stage.order


def is_late(milestone: Milestone, reached: Stage, now: datetime | None = None,
            due_at: datetime | None = None) -> bool:
    """`due_at`: the school's own deadline for a relative milestone (None: not started for it)."""
    due = due_at if due_at is not None else milestone.due_at
    return due is not None and not is_met(milestone, reached) and timeutil.is_past(due, now)


def pending_milestones(cal: Calendar, actor: Actor, reached: Stage) -> list[Milestone]:
    """Dated milestones of `actor` whose stage is not reached yet, earliest deadline first
    (relative ones need a school's history: `workflow.services.deadlines`)."""
    return sorted((m for m in cal.milestones_for(actor) if m.due_at is not None and not is_met(m, reached)),
                  key=lambda m: cast(datetime, m.due_at))


def next_milestone(cal: Calendar, actor: Actor, reached: Stage) -> Milestone | None:
    pending = pending_milestones(cal, actor, reached)
    return pending[0] if pending else None


def late_milestones(cal: Calendar, actor: Actor, reached: Stage, now: datetime | None = None) -> list[Milestone]:
    return [m for m in pending_milestones(cal, actor, reached) if timeutil.is_past(cast(datetime, m.due_at), now)]
