"""Export a calendar as iCalendar (.ics) so officers can subscribe from a phone (icalendar package)."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar

from cdsflow.calendars import timeutil
from cdsflow.calendars.catalog import calendar_name
from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.calendars.timeline import TimelineRow, timeline


def _uid(cal: Calendar, m: Milestone) -> str:
    base = calendar_name(cal.source) if cal.source else f"{cal.issuer}-{cal.school_year}"
    return f"{base}/{m.key}@cdsflow".replace(" ", "-")


def _event(cal: Calendar, row: TimelineRow, stamp: datetime) -> icalendar.Event:
    m = row.milestone
    ev = icalendar.Event()
    ev.add("uid", _uid(cal, m))
    ev.add("dtstamp", stamp)
    ev.add("summary", f"[{row.actor}] {m.title}")
    assert m.due_at is not None  # only dated rows are exported
    due = timeutil.local(m.due_at)
    if timeutil.is_end_of_day(due):
        # Whole days: a window spans its days, a "due D" is an all-day event on D (DTEND exclusive).
        first = timeutil.local(m.opens_at).date() if m.opens_at else due.date()
        ev.add("dtstart", first)
        ev.add("dtend", due.date() + timedelta(days=1))
    else:
        ev.add("dtstart", timeutil.local(m.opens_at) if m.opens_at else due)
        ev.add("dtend", due)
    lines = [f"Hạn: {row.deadline}"]
    if row.stage:
        lines.append(f"Giai đoạn cần đạt: {row.stage}")
    if row.documents:
        lines.append(f"Văn bản: {row.documents}")
    if row.channel:
        lines.append(f"Kênh: {row.channel}")
    if m.known_issue:
        lines.append(f"Lưu ý: {m.known_issue}")
    ev.add("description", "\n".join(lines))
    ev.add("categories", [row.actor])
    return ev


def to_ics(cal: Calendar, *, now: datetime | None = None) -> bytes:
    """The calendar's milestones as VEVENTs, times in Asia/Ho_Chi_Minh (VTIMEZONE included)."""
    stamp = now or datetime.now(timeutil.TZ)
    out = icalendar.Calendar()
    out.add("prodid", "-//cdsflow//Lịch đánh giá chuyển đổi số//VI")
    out.add("version", "2.0")
    out.add("x-wr-calname", f"{cal.issuer} – năm học {cal.school_year}")
    out.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    for row in timeline(cal):
        if row.milestone.due_at is not None:  # a relative deadline or a start marker has no date to show
            out.add_component(_event(cal, row, stamp))
    out.add_missing_timezones()
    data: bytes = out.to_ical()
    return data


def undated(cal: Calendar) -> list[Milestone]:
    """The milestones `to_ics` leaves out: a relative deadline or a marker has no date of its own."""
    return [m for m in cal.milestones if m.due_at is None]
