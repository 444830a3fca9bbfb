"""Check a calendar draft with THE validator of `cdsflow calendar check` (validator.check_calendar),
and say each problem by the table's row ("Dòng 7: …") instead of the YAML line."""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdsflow.calendars.model import Calendar
from cdsflow.calendars.problems import ERROR
from cdsflow.calendars.shift import Flag, day_off_flags
from cdsflow.calendars.table import COLUMN_BY_KEY, COLUMNS, HEADER_BY_KEY, Draft, TableError, draft_to_yaml
from cdsflow.calendars.validator import check_calendar

# How the validator points at another line of the file ("đã dùng ở dòng 12", "ở dòng 31 (…)").
_YAML_LINE = re.compile(r"ở dòng (\d+)")
# The table's user never sees the YAML keys: "mốc 'x' › due: …" in a named cell is just "…", and a
# quoted key ('due', 'window') is the column's name as the table shows it.
_YAML_PATH = re.compile(r"^mốc '[^']*' › [\w ›]+: ")
_KEY_LABELS: dict[str, str] = {}
for _c in COLUMNS:
    _KEY_LABELS.setdefault(_c.path[0], _c.group or _c.label)
_QUOTED_KEY = re.compile(r"'(" + "|".join(map(re.escape, _KEY_LABELS)) + r")'")


def _users_words(message: str, *, in_cell: bool) -> str:
    if in_cell:
        message = _YAML_PATH.sub("", message)
    return _QUOTED_KEY.sub(lambda m: f"«{_KEY_LABELS[m.group(1)]}»", message)



@dataclass(frozen=True)
class DraftProblem:
    row: int | None  # 0-based row of the milestone table; None: the header or the whole calendar
    field: str | None  # header key when the problem is in the header
    severity: str
    code: str
    text: str  # already said with its place: "Dòng 3, cột «Giai đoạn»: mốc 'to-trinh': …"
    column: str | None = None  # the row's cell key, when known

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "column": self.column, "severity": self.severity,
                "code": self.code, "message": self.text}


@dataclass
class DraftCheck:
    yaml: str
    problems: list[DraftProblem] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    calendar: Calendar | None = None

    @property
    def errors(self) -> list[DraftProblem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_json() for p in self.problems],
                "flags": [f.to_json() for f in self.flags],
                "milestones": len(self.calendar.milestones) if self.calendar else 0}


def table_row_label(index: int) -> str:
    return f"Dòng {index + 1}"


def check_draft(draft: Draft, *, row_label: Callable[[int], str] = table_row_label,
                parent_texts: Mapping[str, str] | None = None) -> DraftCheck:
    """`parent_texts`: {reference: YAML} of parents the caller read from the database ("saved:12")."""
    rendered = draft_to_yaml(draft)
    out = DraftCheck(rendered.text)
    with tempfile.TemporaryDirectory(prefix="cdsflow-lich-") as tmp:
        path = Path(tmp) / "lich.yaml"
        path.write_text(rendered.text, encoding="utf-8")
        parents = {}
        for n, (ref, text) in enumerate((parent_texts or {}).items()):
            parents[ref] = Path(tmp) / f"cap-tren-{n}.yaml"
            parents[ref].write_text(text, encoding="utf-8")
        result = check_calendar(path, parents=parents)
    def row_named(m: re.Match[str]) -> str:  # "… ở dòng 31" of the YAML is a row of the table here
        line = int(m.group(1))
        return f"ở {row_label(rendered.row_of_line[line]).lower()}" if line in rendered.row_of_line else m.group(0)

    # A cell the table itself refused (a label not in its list…) is said once, by the table.
    bad = {(e.row, e.column) for e in rendered.cell_errors}
    for e in rendered.cell_errors:
        if e.row is None:
            out.problems.append(DraftProblem(None, e.column, ERROR, "bad_cell",
                                             f"Thông tin chung › {HEADER_BY_KEY[e.column].label}: {e.message}"))
        else:
            out.problems.append(DraftProblem(e.row, None, ERROR, "bad_cell",
                                             f"{row_label(e.row)}, cột «{COLUMN_BY_KEY[e.column].label}»: {e.message}",
                                             e.column))
    first_lines = {min(n for n, r in rendered.row_of_line.items() if r == row) for row in set(rendered.row_of_line.values())}
    for p in [*result.errors, *result.warnings]:
        row = rendered.row_of_line.get(p.line) if p.line else None
        key = rendered.header_lines.get(p.line) if p.line else None
        # The first line of a milestone also stands for the whole milestone ("thiếu title"): no column then.
        column = (rendered.column_of_line.get(p.line)
                  if row is not None and p.line is not None and p.line not in first_lines else None)
        if (row, column if row is not None else key) in bad:
            continue
        message = _users_words(_YAML_LINE.sub(row_named, p.message), in_cell=row is not None and column is not None)
        if row is not None:
            place = row_label(row) + (f", cột «{COLUMN_BY_KEY[column].label}»" if column else "")
            text = f"{place}: {message}"
        elif key is not None:
            text = f"Thông tin chung › {HEADER_BY_KEY[key].label}: {message}"
        else:
            text = message
        out.problems.append(DraftProblem(row, key, p.severity, p.code, text, column))
    out.calendar = result.calendar
    try:
        out.flags = day_off_flags(draft)
    except TableError:
        out.flags = []  # a bad school year is already an error of the validator
    return out
