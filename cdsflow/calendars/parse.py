"""Calendar YAML text -> Calendar, with a problem (line + Vietnamese message) for each bad value.

Pure: no file access. Shape checks only (keys, types, dates that exist, known stages, actors,
document types and channels); rules between milestones live in `rules.py`.
See FORMAT.md for the format.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import (
    RELATIVE_EVENTS,
    Calendar,
    Milestone,
    RelativeRule,
    ReminderPolicy,
    SubmissionPolicy,
)
from cdsflow.calendars.problems import Problem, error
from cdsflow.calendars.yamlsource import Map, Seq, Text, read_tree
from cdsflow.kernel.stages import Actor, Stage
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.workflow.document_types import document_types

CHANNELS: dict[str, str] = {
    "email": "Thư điện tử",
    "online_form": "Biểu mẫu trực tuyến",
    "sector_database": "Cơ sở dữ liệu ngành",
    "website": "Cổng/Trang thông tin điện tử",
    "paper": "Hồ sơ giấy",
}

ACTOR_LABELS: dict[Actor, str] = {
    Actor.SCHOOL: "Cơ sở giáo dục",
    Actor.BUREAU: "Phòng GDĐT / Phòng VH-XH",
    Actor.DEPARTMENT: "Sở GDĐT",
}

_TOP_KEYS = {"issuer", "issuer_kind", "number", "issued", "school_year", "index_sets", "parent",
             "references", "reminders", "known_issues", "milestones", "dossier", "days_off"}
_MILESTONE_KEYS = {"key", "title", "actor", "stage", "due", "opens", "window", "documents", "channel",
                   "reminders", "submission", "parent_milestone", "known_issue", "note", "after", "marker"}
_PARENT_KEYS = {"calendar", "issuer", "number", "date"}
_REMINDER_KEYS = {"before", "on_the_day", "overdue_every", "escalate_to", "overdue_limit", "digest_every",
                  "digest_limit"}
_SUBMISSION_KEYS = {"opens", "closes", "max_sends", "counts", "after_return"}
_AFTER_KEYS = {"event", "milestone", "working_days", "days", "not_later_than"}
_AFTER_RETURN_KEYS = {"working_days", "days", "not_later_than", "beyond_cap"}
_MARKERS = {"start"}
_CADENCES = {"daily": 1, "weekly": 5}
_WINDOW_KEYS = {"from", "to"}
_TRUE = {"true", "yes", "có"}
_FALSE = {"false", "no", "không"}


@dataclass
class ParentRef:
    calendar: str | None
    line: int
    text: str  # "Kế hoạch số 330/KH-SGDĐT ngày 05/02/2025 của Sở GDĐT Hà Nội"


@dataclass
class Parsed:
    calendar: Calendar | None
    problems: list[Problem] = field(default_factory=list)
    parent: ParentRef | None = None
    issued_line: int | None = None
    issued_month: tuple[int, int] | None = None  # when the source gives only "tháng 3 năm 2025"
    known_issues: list[tuple[int, str]] = field(default_factory=list)  # calendar-level notes


_E = TypeVar("_E", bound=Enum)
_T = TypeVar("_T")


class _Reader:
    """Collects problems while reading values; every helper returns None on a bad value."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, line: int | None, code: str, message: str) -> None:
        self.problems.append(error(line, code, message))

    def unknown_keys(self, m: Map, allowed: set[str], where: str) -> None:
        for key in m:
            if key not in allowed:
                self.err(m.key_lines[key], "unknown_key",
                         f"{where}: khóa '{key}' không được hỗ trợ (dùng: {', '.join(sorted(allowed))})")

    def text(self, m: Map, key: str, where: str, *, required: bool = False) -> Text | None:
        value = m.get(key)
        if value is None or (isinstance(value, Text) and value.null):
            if required:
                self.err(m.line if key not in m else m.key_lines[key], "missing_key", f"{where}: thiếu '{key}'")
            return None
        if not isinstance(value, Text):
            self.err(m.key_lines[key], "bad_type", f"{where}: '{key}' phải là một giá trị đơn")
            return None
        try:
            cleaned = clean_text(value, field=key)
        except TextError as exc:
            self.err(value.line, "bad_text", f"{where}: {exc}")
            return None
        if required and not cleaned:
            self.err(value.line, "missing_key", f"{where}: '{key}' đang để trống")
            return None
        return Text(cleaned, value.line)

    def text_list(self, m: Map, key: str, where: str) -> list[Text]:
        value = m.get(key)
        if value is None or (isinstance(value, Text) and value.null):
            return []
        if not isinstance(value, Seq):
            self.err(m.key_lines[key], "bad_type", f"{where}: '{key}' phải là một danh sách")
            return []
        out = []
        for item in value:
            if not isinstance(item, Text):
                self.err(value.line, "bad_type", f"{where}: mỗi phần tử của '{key}' phải là một giá trị đơn")
                continue
            out.append(item)
        return out

    def enum(self, value: Text | None, enum_type: type[_E], what: str, where: str) -> _E | None:
        if value is None:
            return None
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(e.value for e in enum_type)
            self.err(value.line, f"unknown_{what}", f"{where}: {_WHAT_VI[what]} không tồn tại: '{value}' (dùng: {allowed})")
            return None

    def guarded(self, value: Text | None, parse: Callable[[str], _T], where: str) -> _T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except timeutil.TimeFormatError as exc:
            self.err(value.line, "bad_date", f"{where}: {exc}")
            return None

    def integer(self, value: Text, where: str, *, minimum: int) -> int | None:
        try:
            n = int(value)
        except ValueError:
            self.err(value.line, "bad_number", f"{where}: '{value}' không phải số nguyên")
            return None
        if n < minimum:
            self.err(value.line, "bad_number", f"{where}: {n} phải từ {minimum} trở lên")
            return None
        return n

    def boolean(self, value: Text, where: str) -> bool | None:
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.err(value.line, "bad_bool", f"{where}: '{value}' phải là true hoặc false")
        return None


_WHAT_VI = {"stage": "giai đoạn", "actor": "đối tượng", "issuer_kind": "loại đơn vị ban hành"}


def _reminders(r: _Reader, value: Any, where: str) -> tuple[bool, ReminderPolicy | None]:
    """(given, policy). `reminders: none` (or false) means: explicitly no reminder."""
    if isinstance(value, Text):
        if value.null or value.lower() in {"none", "false", "no", "không"}:
            return True, None
        r.err(value.line, "bad_reminders",
              f"{where}: 'reminders' phải là một bảng (before, on_the_day, overdue_every, escalate_to) hoặc none")
        return True, None
    if not isinstance(value, Map):
        r.err(getattr(value, "line", None), "bad_reminders", f"{where}: 'reminders' phải là một bảng")
        return True, None
    r.unknown_keys(value, _REMINDER_KEYS, where + " › reminders")
    defaults = ReminderPolicy()
    before = defaults.before_working_days
    if "before" in value:
        days = []
        for item in r.text_list(value, "before", where + " › reminders"):
            n = r.integer(item, where + " › reminders › before", minimum=1)
            if n is not None:
                days.append(n)
        before = tuple(sorted(set(days), reverse=True))
    on_day = defaults.on_the_day
    if (t := r.text(value, "on_the_day", where)) is not None:
        given = r.boolean(t, where + " › reminders › on_the_day")
        on_day = defaults.on_the_day if given is None else given
    every = defaults.overdue_every_working_days
    if "overdue_every" in value:
        every = _cadence(r, value, "overdue_every", where)
    digest, digest_given = None, "digest_every" in value
    if digest_given:
        digest = _cadence(r, value, "digest_every", where)
    limits = {}
    for key in ("overdue_limit", "digest_limit"):
        t = r.text(value, key, where)
        limits[key] = None if t is None or t.lower() == "none" else r.integer(t, f"{where} › reminders › {key}", minimum=1)
    escalate = r.enum(r.text(value, "escalate_to", where), Actor, "actor", where + " › reminders › escalate_to")
    return True, ReminderPolicy(before_working_days=before, on_the_day=on_day,
                                overdue_every_working_days=every, escalate_to=escalate,
                                overdue_limit=limits["overdue_limit"], digest_every_working_days=digest,
                                digest_limit=limits["digest_limit"], digest_given=digest_given)


def _cadence(r: _Reader, value: Map, key: str, where: str) -> int | None:
    """daily | weekly | N (working days) | none."""
    t = r.text(value, key, where)
    if t is None or t.lower() in {"none", "false", "không"}:
        return None
    if t.lower() in _CADENCES:
        return _CADENCES[t.lower()]
    if not t.strip().isdigit():
        r.err(t.line, "bad_cadence", f"{where} › reminders › {key}: '{t}' phải là daily (hằng ngày), "
              "weekly (hằng tuần), một số ngày làm việc hoặc none")
        return None
    return r.integer(t, f"{where} › reminders › {key}", minimum=1)


def _count(r: _Reader, value: Map, where: str) -> tuple[int, bool] | None:
    """Exactly one of working_days / days: (N, working?)."""
    given = [k for k in ("working_days", "days") if k in value]
    if len(given) != 1:
        r.err(value.line, "bad_relative", f"{where}: cần đúng một trong 'working_days' (ngày làm việc) hoặc 'days' (ngày)")
        return None
    t = r.text(value, given[0], where, required=True)
    n = r.integer(t, f"{where} › {given[0]}", minimum=1) if t is not None else None
    return None if n is None else (n, given[0] == "working_days")


def _after(r: _Reader, value: Any, where: str) -> RelativeRule | None:
    """`after: {event|milestone, working_days|days, not_later_than}` (the milestone key is checked later)."""
    where += " › after"
    if not isinstance(value, Map):
        r.err(getattr(value, "line", None), "bad_relative",
              f"{where}: phải là một bảng (event hoặc milestone, working_days hoặc days, not_later_than)")
        return None
    r.unknown_keys(value, _AFTER_KEYS, where)
    event, other = r.text(value, "event", where), r.text(value, "milestone", where)
    if (event is None) == (other is None):
        r.err(value.line, "bad_relative", f"{where}: cần đúng một trong 'event' (sự kiện của hồ sơ) hoặc 'milestone' (mốc khác)")
        return None
    if event is not None and event not in RELATIVE_EVENTS:
        r.err(event.line, "unknown_event",
              f"{where}: sự kiện không tồn tại: '{event}' (dùng: {', '.join(RELATIVE_EVENTS)})")
        return None
    count = _count(r, value, where)
    cap = r.guarded(r.text(value, "not_later_than", where), timeutil.parse_deadline, where + " › not_later_than")
    if count is None:
        return None
    return RelativeRule(count=count[0], working=count[1], event=str(event) if event else None,
                        milestone=str(other) if other else None, cap=cap)


def _after_return(r: _Reader, value: Any, where: str) -> tuple[RelativeRule | None, bool]:
    where += " › after_return"
    if not isinstance(value, Map):
        r.err(getattr(value, "line", None), "bad_relative",
              f"{where}: phải là một bảng (working_days hoặc days, not_later_than, beyond_cap)")
        return None, True
    r.unknown_keys(value, _AFTER_RETURN_KEYS, where)
    count = _count(r, value, where)
    cap = r.guarded(r.text(value, "not_later_than", where), timeutil.parse_deadline, where + " › not_later_than")
    beyond = True
    if (t := r.text(value, "beyond_cap", where)) is not None:
        b = r.boolean(t, where + " › beyond_cap")
        beyond = True if b is None else b
    if count is None:
        return None, beyond
    return RelativeRule(count=count[0], working=count[1], event="returned", cap=cap), beyond


def _window(r: _Reader, value: Any, where: str) -> tuple[datetime | None, datetime | None]:
    if isinstance(value, Text) and ".." in value:
        # A day (or month) range: 2025-05-05..2025-05-16.
        first, _, last = str(value).partition("..")
        start = r.guarded(Text(first.strip(), value.line), timeutil.parse_start, where + " › window")
        end = r.guarded(Text(last.strip(), value.line), timeutil.parse_end, where + " › window")
        if start and end and end < start:
            r.err(value.line, "window_reversed",
                  f"{where}: khoảng thời gian kết thúc ({timeutil.format_instant_vi(end)}) "
                  f"trước khi bắt đầu ({timeutil.format_instant_vi(start)})")
            return None, None
        return start, end
    if isinstance(value, Text):
        if not timeutil.is_month(value):
            r.err(value.line, "bad_window", f"{where}: 'window' phải là một tháng (YYYY-MM), một khoảng ngày "
                  "(2025-05-05..2025-05-16) hoặc bảng from/to")
            return None, None
        bounds = r.guarded(value, lambda v: timeutil.month_bounds(*timeutil.parse_month(v)), where)
        return bounds if bounds else (None, None)
    if isinstance(value, Map):
        r.unknown_keys(value, _WINDOW_KEYS, where + " › window")
        start = r.guarded(r.text(value, "from", where + " › window", required=True), timeutil.parse_start,
                          where + " › window › from")
        end = r.guarded(r.text(value, "to", where + " › window", required=True), timeutil.parse_end, where + " › window › to")
        if start and end and end < start:
            r.err(value.key_lines["to"], "window_reversed",
                  f"{where}: khoảng thời gian kết thúc ({timeutil.format_instant_vi(end)}) "
                  f"trước khi bắt đầu ({timeutil.format_instant_vi(start)})")
            return None, None
        return start, end
    r.err(getattr(value, "line", None), "bad_window", f"{where}: 'window' phải là một tháng (YYYY-MM) hoặc bảng from/to")
    return None, None


def _submission(r: _Reader, value: Any, where: str, opens_at: datetime | None,
                due_at: datetime | None) -> SubmissionPolicy | None:
    if not isinstance(value, Map):
        r.err(getattr(value, "line", None), "bad_submission",
              f"{where}: 'submission' phải là một bảng (opens, closes, max_sends, counts)")
        return None
    where += " › submission"
    r.unknown_keys(value, _SUBMISSION_KEYS, where)
    opens = r.guarded(r.text(value, "opens", where), timeutil.parse_start, where + " › opens") or opens_at
    closes = r.guarded(r.text(value, "closes", where), timeutil.parse_end, where + " › closes") or due_at
    if opens and closes and closes < opens:
        r.err(value.key_lines.get("closes", value.line), "window_reversed",
              f"{where}: biểu mẫu đóng ({timeutil.format_instant_vi(closes)}) trước khi mở ({timeutil.format_instant_vi(opens)})")
    cap = None
    if (t := r.text(value, "max_sends", where)) is not None:
        cap = r.integer(t, where + " › max_sends", minimum=1)
    counts = "last"
    if (t := r.text(value, "counts", where)) is not None:
        if t not in {"last", "first"}:
            r.err(t.line, "bad_counts", f"{where}: 'counts' phải là last (lần gửi cuối được tính) hoặc first (lần đầu)")
        else:
            counts = str(t)
    after_return, beyond = None, True
    if "after_return" in value:
        after_return, beyond = _after_return(r, value["after_return"], where)
    return SubmissionPolicy(opens_at=opens, closes_at=closes, max_submissions=cap, counts=counts,
                            after_return=after_return, beyond_cap=beyond)


def _days_off(r: _Reader, node: Any) -> list[tuple[date, str]]:
    """`days_off: ["2025-05-02 nghỉ bù ngày 30/4", …]`: the unit's days off, each with its reason."""
    out = []
    for item in r.text_list(node, "days_off", "lịch"):
        day_text, _, reason = str(item).strip().partition(" ")
        day = r.guarded(Text(day_text, item.line), timeutil.parse_date, "lịch › days_off")
        if day is not None and not reason.strip():
            r.err(item.line, "day_off_reason", f"lịch › days_off: ngày nghỉ {day:%d/%m/%Y} cần ghi lý do "
                  "(ví dụ «2025-05-02 nghỉ bù ngày 30/4»)")
        elif day is not None:
            out.append((day, reason.strip()))
    return out


def _document_codes(r: _Reader, node: Any, key: str, where: str) -> list[str]:
    """A list of document type codes (a milestone's papers, or the dossier's binding order)."""
    codes, known = [], document_types()
    for code in r.text_list(node, key, where):
        if code not in known:
            r.err(code.line, "unknown_document", f"{where}: loại văn bản không tồn tại: '{code}' (dùng: {', '.join(known)})")
        else:
            codes.append(str(code))
    return codes


def _deadline(r: _Reader, m: Map, where: str) -> tuple[datetime | None, datetime | None, RelativeRule | None, str | None]:
    """(opens, due, relative rule, marker): exactly one of due, window, after or marker."""
    opens_at = due_at = None
    relative: RelativeRule | None = None
    marker: str | None = None
    given = [k for k in ("due", "window", "after", "marker") if k in m]
    if len(given) > 1:
        r.err(m.key_lines[given[1]], "due_and_window",
              f"{where}: chỉ ghi một trong 'due', 'window', 'after' hoặc 'marker' (đang có: {', '.join(given)})")
    elif "due" in m:
        due_at = r.guarded(r.text(m, "due", where, required=True), timeutil.parse_deadline, where + " › due")
        opens_at = r.guarded(r.text(m, "opens", where), timeutil.parse_start, where + " › opens")
        if opens_at and due_at and due_at < opens_at:
            r.err(m.key_lines["due"], "window_reversed", f"{where}: hạn ({timeutil.format_instant_vi(due_at)}) "
                  f"trước ngày bắt đầu ({timeutil.format_instant_vi(opens_at)})")
    elif "window" in m:
        if "opens" in m:
            r.err(m.key_lines["opens"], "unknown_key",
                  f"{where}: 'opens' chỉ dùng cùng 'due'; với 'window' hãy ghi from/to")
        opens_at, due_at = _window(r, m["window"], where)
    elif "after" in m:
        if "opens" in m:
            r.err(m.key_lines["opens"], "unknown_key",
                  f"{where}: 'opens' không dùng với 'after' (mốc mở khi sự kiện xảy ra)")
        relative = _after(r, m["after"], where)
    elif "marker" in m:
        t = r.text(m, "marker", where, required=True)
        if t is not None and t not in _MARKERS:
            r.err(t.line, "bad_marker", f"{where}: 'marker' chỉ nhận giá trị start (mốc bắt đầu, không có hạn)")
        elif t is not None:
            marker = str(t)
        if "opens" in m:
            r.err(m.key_lines["opens"], "unknown_key", f"{where}: mốc bắt đầu (marker: start) không có ngày")
    else:
        r.err(m.line, "missing_key", f"{where}: thiếu thời hạn ('due', 'window', 'after' hoặc 'marker: start')")
    return opens_at, due_at, relative, marker


def _milestone(r: _Reader, m: Any, index: int, default_reminders: ReminderPolicy | None,
               seen: dict[str, int]) -> Milestone | None:
    if not isinstance(m, Map):
        r.err(getattr(m, "line", None), "bad_milestone", f"mốc thứ {index}: phải là một bảng")
        return None
    where = f"mốc thứ {index}"
    key = r.text(m, "key", where, required=True)
    if key is not None:
        where = f"mốc '{key}'"
        if key in seen:
            r.err(key.line, "duplicate_milestone", f"{where}: khóa mốc bị trùng (đã dùng ở dòng {seen[key]})")
        seen[str(key)] = key.line
    r.unknown_keys(m, _MILESTONE_KEYS, where)
    before = len(r.problems)
    title = r.text(m, "title", where, required=True)
    actor = r.enum(r.text(m, "actor", where, required=True), Actor, "actor", where)
    stage = r.enum(r.text(m, "stage", where), Stage, "stage", where)

    opens_at, due_at, relative, marker = _deadline(r, m, where)

    docs = _document_codes(r, m, "documents", where)
    channel = r.text(m, "channel", where)
    if channel is not None and channel not in CHANNELS:
        r.err(channel.line, "unknown_channel",
              f"{where}: kênh không tồn tại: '{channel}' (dùng: {', '.join(CHANNELS)})")

    reminders = default_reminders
    if "reminders" in m:
        _, reminders = _reminders(r, m["reminders"], where)
    submission = None
    if "submission" in m:
        submission = _submission(r, m["submission"], where, opens_at, due_at)
    known_issue = r.text(m, "known_issue", where)
    parent_key = r.text(m, "parent_milestone", where)
    if marker is not None:
        reminders = None  # a start marker has no deadline to remind of
        if "submission" in m:
            r.err(m.key_lines["submission"], "bad_marker",
                  f"{where}: mốc bắt đầu không có biểu mẫu gửi ('submission')")
    if relative is not None and submission is not None and (
            submission.opens_at is None or submission.closes_at is None):
        r.err(m.key_lines["submission"], "bad_relative",
              f"{where}: với hạn tương đối, 'submission' phải ghi rõ opens và closes")
    if len(r.problems) > before or key is None or title is None or actor is None or (
            due_at is None and relative is None and marker is None):
        return None
    return Milestone(
        key=str(key), title=str(title), actor=actor, stage=stage, due_at=due_at, opens_at=opens_at,
        documents=tuple(docs), channel=str(channel) if channel else None, reminders=reminders,
        submission=submission, line=m.line, known_issue=str(known_issue) if known_issue else None,
        parent_milestone=str(parent_key) if parent_key else None, relative=relative, marker=marker,
    )


def _school_year(r: _Reader, value: Text | None) -> str | None:
    if value is None:
        return None
    parts = value.split("-")
    if len(parts) == 2 and all(p.isdigit() and len(p) == 4 for p in parts) and int(parts[1]) == int(parts[0]) + 1:
        return str(value)
    r.err(value.line, "bad_school_year", f"năm học '{value}' không hợp lệ (dạng 2024-2025, hai năm liền nhau)")
    return None


def _parent(r: _Reader, tree: Map, out: Parsed, references: list[str]) -> str | None:
    """The parent calendar's id, its description first among the references."""
    parent_id = None
    if "parent" in tree:
        p = tree["parent"]
        if not isinstance(p, Map):
            r.err(tree.key_lines["parent"], "bad_parent",
                  "lịch › parent: phải là một bảng (calendar, issuer, number, date)")
        else:
            r.unknown_keys(p, _PARENT_KEYS, "lịch › parent")
            cal = r.text(p, "calendar", "lịch › parent")
            pnum, pissuer = r.text(p, "number", "lịch › parent"), r.text(p, "issuer", "lịch › parent")
            pdate = r.guarded(r.text(p, "date", "lịch › parent"), timeutil.parse_date, "lịch › parent › date")
            desc = "Văn bản cấp trên" + (f" số {pnum}" if pnum else "") + (
                f" ngày {timeutil.format_date_vi(pdate)}" if pdate else "") + (f" của {pissuer}" if pissuer else "")
            parent_id = str(cal) if cal else None
            out.parent = ParentRef(parent_id, p.line, desc)
            references.insert(0, desc)
    return parent_id


def _milestones(r: _Reader, tree: Map, default_reminders: ReminderPolicy | None) -> list[Milestone]:
    milestones: list[Milestone] = []
    raw = tree.get("milestones")
    if not isinstance(raw, Seq) or not raw:
        r.err(tree.key_lines.get("milestones", tree.line), "no_milestones",
              "lịch không có mốc nào ('milestones' phải là một danh sách)")
    else:
        seen: dict[str, int] = {}
        for i, m in enumerate(raw, start=1):
            ms = _milestone(r, m, i, default_reminders, seen)
            if ms is not None:
                milestones.append(ms)
        # Here rather than in rules.py, so the file's other errors do not hide it.
        for ms in milestones:
            if ms.relative is not None and ms.relative.milestone is not None and ms.relative.milestone not in seen:
                r.err(ms.line, "unknown_event",
                      f"mốc '{ms.key}': hạn tương đối tính theo mốc không tồn tại '{ms.relative.milestone}'")
    return milestones


def parse_calendar(text: str) -> Parsed:
    tree, problems = read_tree(text)
    if tree is None:
        return Parsed(None, problems)
    r = _Reader()
    r.problems.extend(problems)
    if not isinstance(tree, Map):
        r.err(getattr(tree, "line", 1), "bad_calendar", "tệp lịch phải là một bảng (issuer, school_year, milestones…)")
        return Parsed(None, r.problems)
    r.unknown_keys(tree, _TOP_KEYS, "lịch")
    issuer = r.text(tree, "issuer", "lịch", required=True)
    kind = r.enum(r.text(tree, "issuer_kind", "lịch"), Actor, "issuer_kind", "lịch") or Actor.BUREAU
    year = _school_year(r, r.text(tree, "school_year", "lịch", required=True))
    number = r.text(tree, "number", "lịch")

    out = Parsed(None, r.problems)
    issued_on: date | None = None
    if (t := r.text(tree, "issued", "lịch")) is not None:
        out.issued_line = t.line
        if timeutil.is_month(t):
            out.issued_month = r.guarded(t, timeutil.parse_month, "lịch › issued")
        else:
            issued_on = r.guarded(t, timeutil.parse_date, "lịch › issued")

    references = [str(x) for x in r.text_list(tree, "references", "lịch")]
    parent_id = _parent(r, tree, out, references)
    index_sets = tuple(str(x) for x in r.text_list(tree, "index_sets", "lịch"))
    dossier = tuple(_document_codes(r, tree, "dossier", "lịch › dossier"))
    days_off = tuple(_days_off(r, tree))
    for item in r.text_list(tree, "known_issues", "lịch"):
        out.known_issues.append((item.line, str(item)))

    default_reminders = None
    if "reminders" in tree:
        _, default_reminders = _reminders(r, tree["reminders"], "lịch")

    milestones = _milestones(r, tree, default_reminders)

    if any(p.severity == "error" for p in r.problems) or issuer is None or year is None:
        return out
    extra: dict[str, Any] = {}
    if number:
        extra["number"] = str(number)
    if out.issued_month:
        extra["issued_month"] = "{:04d}-{:02d}".format(*out.issued_month)
    if out.known_issues:
        extra["known_issues"] = [t for _, t in out.known_issues]
    out.calendar = Calendar(
        issuer=str(issuer), school_year=year, milestones=tuple(milestones), issuer_kind=kind,
        issued_on=issued_on, parent=parent_id, index_sets=index_sets, references=tuple(references),
        dossier=dossier, days_off=days_off, extra=extra,
    )
    return out
