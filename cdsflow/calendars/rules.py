"""Rules between the milestones of a calendar (and its parent's). Pure: Calendar in, problems out.

A contradiction the source text really contains is recorded with `known_issue:` on the milestone:
the rule then reports a warning quoting it instead of an error, so nothing is silently fixed.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import cast

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.calendars.problems import Problem, error, warning


def _refuse(m: Milestone, code: str, message: str, used: set[str]) -> Problem:
    if m.known_issue:
        used.add(m.key)
        return warning(m.line, code, f"{message} (đã ghi nhận: {m.known_issue})")
    return error(m.line, code, message)


def _is_whole_month(m: Milestone) -> bool:
    """A window of whole months (`window: 2025-05`, or from 2026-03 to 2026-04)."""
    if m.opens_at is None:
        return False
    assert m.due_at is not None  # a window has both ends
    start, due = timeutil.local(m.opens_at), timeutil.local(m.due_at)
    return (start == timeutil.month_bounds(start.year, start.month)[0]
            and due == timeutil.month_bounds(due.year, due.month)[1])


def _issue_date(cal: Calendar, m: Milestone, issued_month: tuple[int, int] | None, used: set[str]) -> Problem | None:
    if m.due_at is None:
        return None
    if cal.issued_on is not None:
        start, shown = timeutil.start_of_day(cal.issued_on), timeutil.format_date_vi(cal.issued_on)
    elif issued_month is not None:
        start = timeutil.month_bounds(*issued_month)[0]
        shown = f"tháng {issued_month[1]:02d}/{issued_month[0]}"
    else:
        return None
    if m.due_at >= start:
        return None
    return _refuse(m, "deadline_before_issue",
                   f"mốc '{m.key}': hạn {timeutil.format_date_vi(timeutil.local(m.due_at).date())} "
                   f"trước ngày ban hành văn bản ({shown})", used)


def _order(milestones: tuple[Milestone, ...], used: set[str]) -> list[Problem]:
    """A milestone for a later stage may not fall due before one for an earlier stage."""
    out = []
    staged = [m for m in milestones if m.stage is not None and m.due_at is not None]
    for later in staged:
        for earlier in staged:
            assert earlier.stage is not None and later.stage is not None  # filtered above
            assert earlier.due_at is not None and later.due_at is not None
            if earlier.stage.order < later.stage.order and later.due_at < earlier.due_at:
                out.append(_refuse(
                    later, "out_of_order",
                    f"mốc '{later.key}' ({later.stage.label}, {timeutil.format_span_vi(later.opens_at, later.due_at)}) "
                    f"đến hạn trước mốc '{earlier.key}' ở dòng {earlier.line} ({earlier.stage.label}, "
                    f"{timeutil.format_span_vi(earlier.opens_at, earlier.due_at)}): sai thứ tự quy trình", used))
                break
    return out


def _parent_problems(cal: Calendar, parent: Calendar, used: set[str]) -> list[Problem]:
    out = []
    by_key = {p.key: p for p in parent.milestones}
    for m in cal.dated_milestones:
        assert m.due_at is not None  # dated
        if m.parent_milestone is not None:
            match = by_key.get(m.parent_milestone)
            if match is None:
                out.append(error(m.line, "unknown_parent_milestone",
                                 f"mốc '{m.key}': lịch cấp trên không có mốc '{m.parent_milestone}'"))
                continue
        else:
            same = [p for p in parent.dated_milestones if p.stage is not None and p.stage == m.stage and p.actor == m.actor]
            if not same:
                continue
            match = max(same, key=lambda p: cast(datetime, p.due_at))  # dated
        if match.due_at is not None and m.due_at > match.due_at:
            out.append(_refuse(
                m, "after_parent",
                f"mốc '{m.key}': hạn {timeutil.format_instant_vi(m.due_at)} muộn hơn hạn của lịch cấp trên "
                f"(mốc '{match.key}', {timeutil.format_instant_vi(match.due_at)})", used))
    return out


def _relative_problems(cal: Calendar) -> list[Problem]:
    """A relative rule names a milestone of this calendar, and the rules form no cycle."""
    out: list[Problem] = []
    by_key = {m.key: m for m in cal.milestones}
    for m in cal.milestones:
        rule = m.relative
        if rule is None or rule.milestone is None:
            continue
        target = by_key.get(rule.milestone)
        if target is None:
            out.append(error(m.line, "unknown_event",
                             f"mốc '{m.key}': hạn tương đối tính theo mốc không tồn tại '{rule.milestone}'"))
        elif target.marker is not None:
            out.append(error(m.line, "unknown_event",
                             f"mốc '{m.key}': mốc '{rule.milestone}' (dòng {target.line}) là mốc bắt đầu, "
                             "không có hạn để tính theo"))
    reported: set[str] = set()
    for m in cal.milestones:
        path, cur = [m.key], m
        while cur.relative is not None and cur.relative.milestone in by_key:
            cur = by_key[cur.relative.milestone]
            if cur.key in path:
                cycle = path[path.index(cur.key):] + [cur.key]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    lines = ", ".join(f"'{k}' (dòng {by_key[k].line})" for k in cycle[:-1])
                    out.append(error(by_key[cur.key].line, "relative_cycle",
                                     f"các hạn tương đối tạo thành vòng lặp: {' → '.join(cycle)}; sửa một trong các mốc {lines}"))
                break
            path.append(cur.key)
    return out


def _outside_school_year(cal: Calendar) -> list[Problem]:
    """A deadline outside the school year the calendar says it is for (01/08 to 31/07 of the next
    year): most often a year typed wrong, so said before the calendar is used."""
    try:
        first = int(cal.school_year[:4])
    except (TypeError, ValueError):
        return []
    start, end = date(first, 8, 1), date(first + 1, 7, 31)
    out = []
    for m in cal.milestones:
        day = timeutil.local(m.due_at).date() if m.due_at is not None else None
        if day is not None and not start <= day <= end:
            out.append(warning(m.line, "deadline_outside_year",
                               f"mốc '{m.key}': hạn {timeutil.format_date_vi(day)} nằm ngoài năm học "
                               f"{cal.school_year} ({timeutil.format_date_vi(start)} – "
                               f"{timeutil.format_date_vi(end)}): kiểm tra lại năm"))
    return out


def check_rules(cal: Calendar, *, issued_month: tuple[int, int] | None = None,
                parent: Calendar | None = None) -> list[Problem]:
    used: set[str] = set()  # milestones whose known_issue already explained a problem
    out: list[Problem] = _relative_problems(cal) + _outside_school_year(cal)
    for m in cal.milestones:
        if (p := _issue_date(cal, m, issued_month, used)) is not None:
            out.append(p)
    out.extend(_order(cal.milestones, used))
    if parent is not None:
        out.extend(_parent_problems(cal, parent, used))
    for m in cal.milestones:
        due_day = timeutil.local(m.due_at).date() if m.due_at is not None else None
        reason = timeutil.day_off_reason(due_day) if due_day else None
        # A whole-month window ends on the month's last day whatever it is: not a chosen date.
        if reason and due_day and not _is_whole_month(m):
            out.append(warning(m.line, "deadline_day_off",
                               f"mốc '{m.key}': hạn {timeutil.format_date_vi(due_day)} rơi vào {reason}"))
        if m.reminders is None and m.marker is None:
            out.append(warning(m.line, "no_reminder", f"mốc '{m.key}': không có lịch nhắc hạn"))
        if m.known_issue and m.key not in used:
            out.append(warning(m.line, "known_issue", f"mốc '{m.key}': {m.known_issue}"))
    return out
