"""Each school's own deadlines from its history (FORMAT.md "Relative deadlines"). Pure.

A relative milestone falls due N (working) days after an event of the school's file, or after
another milestone's deadline (itself fixed or relative). Until its event has happened for the
school it has no deadline for it (None): not late, nothing to remind.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import RelativeRule


def resolve(rules: Mapping[str, RelativeRule | None], fixed: Mapping[str, datetime | None],
            events: Mapping[str, datetime]) -> dict[str, datetime | None]:
    """Deadline per milestone key for one school.

    `rules`: key -> its relative rule (None for a dated milestone or a marker);
    `fixed`: key -> its fixed deadline (None when relative or a marker);
    `events`: event name (model.RELATIVE_EVENTS) -> its latest time for this school.
    The calendar validator refuses cycles; a cycle met here anyway resolves to None.
    """
    out: dict[str, datetime | None] = {}
    visiting: set[str] = set()

    def due(key: str) -> datetime | None:
        if key in out:
            return out[key]
        rule = rules.get(key)
        if rule is None:
            out[key] = fixed.get(key)
            return out[key]
        if key in visiting:
            return None
        visiting.add(key)
        start = events.get(rule.event) if rule.event else (due(rule.milestone) if rule.milestone else None)
        visiting.discard(key)
        out[key] = None if start is None else timeutil.due_after(start, rule.count, working=rule.working, cap=rule.cap)
        return out[key]

    for key in list(rules) + [k for k in fixed if k not in rules]:
        due(key)
    return out


def window_after_return(rule: RelativeRule, returned_at: datetime) -> tuple[datetime, datetime]:
    """A returned file's own window: from the return to the rule's deadline counted from it."""
    return returned_at, timeutil.due_after(returned_at, rule.count, working=rule.working, cap=rule.cap)
