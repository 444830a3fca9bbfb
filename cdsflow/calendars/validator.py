"""`check_calendar(path)`: read a calendar file, resolve its parent, report every problem."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from cdsflow.calendars.catalog import DATA_DIR
from cdsflow.calendars.model import Calendar
from cdsflow.calendars.parse import parse_calendar
from cdsflow.calendars.problems import ERROR, WARNING, Problem, error, warning
from cdsflow.calendars.rules import check_rules
from cdsflow.kernel import safeyaml


@dataclass
class CheckResult:
    path: Path
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    calendar: Calendar | None = None  # set when there is no error

    @property
    def ok(self) -> bool:
        return not self.errors


def resolve_parent(ref: str, child: Path) -> Path:
    """A parent written as a file path (ends in .yaml) is relative to the child's folder;
    otherwise it is a shipped name relative to the calendars data folder."""
    if ref.endswith((".yaml", ".yml")):
        p = Path(ref)
        return p if p.is_absolute() else child.parent / p
    return DATA_DIR / f"{ref}.yaml"


def check_calendar(path: str | Path, *, parents: Mapping[str, Path] | None = None) -> CheckResult:
    """`parents`: references the caller resolved itself (a calendar saved in the database, "saved:12",
    written to a file for this check), used before the file and shipped-name rules."""
    path = Path(path)
    parents = parents or {}
    result = CheckResult(path)
    try:
        raw = safeyaml.read_bytes(path)  # size and encoding checked before parsing
        text = safeyaml.decode(raw, path.name)
    except safeyaml.YamlInputError as exc:
        result.errors.append(error(exc.line, exc.code, str(exc)).at(path))
        return result

    parsed = parse_calendar(text)
    problems = list(parsed.problems)
    parent_cal = None
    if parsed.parent is not None and parsed.parent.calendar:
        parent_path = parents.get(parsed.parent.calendar) or resolve_parent(parsed.parent.calendar, path)
        if not parent_path.is_file():
            problems.append(error(parsed.parent.line, "parent_missing",
                                  f"không tìm thấy lịch cấp trên '{parsed.parent.calendar}' ({parent_path})"))
        elif parent_path.resolve() == path.resolve():
            problems.append(error(parsed.parent.line, "parent_self", "lịch không thể là cấp trên của chính nó"))
        else:
            parent_parsed = parse_calendar(parent_path.read_text(encoding="utf-8"))
            if parent_parsed.calendar is None:
                problems.append(error(parsed.parent.line, "parent_invalid",
                                      f"lịch cấp trên '{parsed.parent.calendar}' có lỗi: mở và kiểm tra lịch đó trước"))
            else:
                parent_cal = parent_parsed.calendar
    for line, note in parsed.known_issues:
        problems.append(warning(line, "known_issue", f"ghi chú mâu thuẫn của văn bản gốc: {note}"))
    if parsed.calendar is not None:
        problems.extend(check_rules(parsed.calendar, issued_month=parsed.issued_month, parent=parent_cal))

    problems.sort(key=lambda p: (p.line or 0))
    result.errors = [p.at(path) for p in problems if p.severity == ERROR]
    result.warnings = [p.at(path) for p in problems if p.severity == WARNING]
    if parsed.calendar is not None and not result.errors:
        extra = dict(parsed.calendar.extra)
        if parent_cal is not None:
            assert parsed.parent is not None and parsed.parent.calendar is not None  # parent_cal was read from it
            extra["parent_path"] = str(parents.get(parsed.parent.calendar)
                                       or resolve_parent(parsed.parent.calendar, path))
        result.calendar = replace(parsed.calendar, source=path, content_hash=hashlib.sha256(raw).hexdigest(),
                                  extra=extra)
    return result
