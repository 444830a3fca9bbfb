"""Move a calendar draft to another school year: dates move by whole years, and a date that lands
on a weekend or a Vietnamese holiday is flagged with a working day to use instead. Pure.

Only the cells of `dated` columns move (table.COLUMNS / table.HEADER say which). The parent
plan's reference is last year's document: it is cleared, not guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from cdsflow.calendars import timeutil
from cdsflow.calendars.table import COLUMNS, HEADER, Draft, TableError

# YYYY-MM or YYYY-MM-DD, not part of a longer number (a school year "2024-2025" is not a month).
_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?![\d])")
# A date that opens something: the first date of a range, or after `opens:`/`from:`.
_OPENING = re.compile(r"(?:opens|from)\s*:\s*\"?$")


@dataclass(frozen=True)
class Flag:
    """A shifted date on a day off. `row` is None for the header."""

    row: int | None
    column: str
    found: str  # the date as now written in the cell, e.g. "2026-04-30"
    suggested: str  # the working day to use instead, same form
    reason: str  # "ngày nghỉ lễ (Ngày Giải phóng miền Nam)", "thứ Bảy"

    @property
    def message(self) -> str:
        d, s = timeutil.parse_date(self.found), timeutil.parse_date(self.suggested)
        return (f"ngày {timeutil.format_date_vi(d)} rơi vào {self.reason}; "
                f"đề xuất ngày làm việc {timeutil.format_date_vi(s)}")

    @property
    def found_text(self) -> str:  # as the editor's cell shows it
        return timeutil.vn_dates(self.found)

    @property
    def suggested_text(self) -> str:
        return timeutil.vn_dates(self.suggested)

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "found": self.found_text, "suggested": self.suggested_text,
                "message": self.message}


def _move(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _shift_cell(text: str, years: int, row: int | None, column: str, opening_column: bool,
                flags: list[Flag]) -> str:
    text = timeutil.iso_dates(text)  # 31/05/2026 as typed moves like 2026-05-31
    out, last = [], 0
    for m in _DATE.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
        out.append(text[last:m.start()])
        last = m.end()
        if d is None:
            out.append(f"{y + years:04d}-{mo:02d}")
            continue
        try:
            moved = _move(date(y, mo, int(d)), years)
        except ValueError:
            out.append(m.group(0))  # an impossible date stays as written: the validator names it
            continue
        written = moved.isoformat()
        out.append(written)
        reason = timeutil.day_off_reason(moved)
        if reason:
            before = text[:m.start()]
            opening = opening_column or bool(_OPENING.search(before)) or text[m.end():].startswith("..")
            fix = timeutil.next_working_day(moved) if opening else timeutil.previous_working_day(moved)
            flags.append(Flag(row, column, written, fix.isoformat(), reason))
    out.append(text[last:])
    return "".join(out)


def target_years(draft: Draft, school_year: str) -> int:
    """Whole years from the draft's school year to `school_year` ("2027-2028")."""
    current = draft.header.get("school_year", "")
    for label, value in (("lịch", current), ("đích", school_year)):
        parts = value.split("-")
        if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts) or int(parts[1]) != int(parts[0]) + 1:
            raise TableError(f"năm học {label} không hợp lệ: «{value}» (dạng 2024-2025)")
    return int(school_year[:4]) - int(current[:4])


def shift_draft(draft: Draft, school_year: str) -> tuple[Draft, list[Flag]]:
    years = target_years(draft, school_year)
    flags: list[Flag] = []
    header = dict(draft.header)
    for col in HEADER:
        if col.dated and header.get(col.key):
            header[col.key] = _shift_cell(header[col.key], years, None, col.key, col.opening, flags)
    header["school_year"] = school_year
    if years:  # last year's parent plan: its number and date are not this year's
        for col in HEADER:
            if col.path[0] == "parent":
                header.pop(col.key, None)
    rows = []
    for i, row in enumerate(draft.rows):
        new = dict(row)
        for col in COLUMNS:
            if col.dated and new.get(col.key):
                new[col.key] = _shift_cell(new[col.key], years, i, col.key, col.opening, flags)
        rows.append(new)
    return Draft(header, rows), flags


def day_off_flags(draft: Draft) -> list[Flag]:
    """The same flags for a draft as it stands (after the officer edited it)."""
    _, flags = shift_draft(draft, draft.header.get("school_year", ""))
    return flags
