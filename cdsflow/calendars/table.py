"""A calendar as officers see it: a header of fields and a table of milestones, every cell plain text.

The web editor and the Excel workbook both use this shape; YAML stays the storage format.
`COLUMNS` and `HEADER` are the one declarative list of "cell ↔ place in the YAML": a new key of
the format is one line here. No cell holds YAML: enumerations are Vietnamese labels (codes are
still accepted), a relative rule is its parts (event, N, kind of days, cap), a window its two
ends, a form and a reminder policy their fields, a list one value per comma (LIST) or per line
(LINES). Pure: no file access.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import RELATIVE_EVENTS
from cdsflow.calendars.parse import CHANNELS
from cdsflow.calendars.problems import Problem
from cdsflow.calendars.yamlsource import Map, Seq, Text, read_tree
from cdsflow.kernel.stages import STAGE_LABELS
from cdsflow.kernel.text import fold

TEXT, LIST, LINES, CHOICE = "text", "list", "lines", "choice"

# Path parts starting with "#" are not YAML keys: a rule's target (event: or milestone:), its
# number and its kind of days (working_days: N or days: N).
TARGET, COUNT, UNIT = "#target", "#n", "#unit"
NO_REMINDER = "không nhắc"  # in the "Nhắc trước" cell: `reminders: none`
MILESTONE_PREFIX = "mốc "  # a rule counted from another milestone: "mốc truong-to-trinh"

ACTORS = (("school", "Trường"), ("bureau", "Phòng"), ("department", "Sở"))
STAGES = tuple((s.value, label) for s, label in STAGE_LABELS.items())
EVENTS = (("returned", "trả hồ sơ bổ sung"), ("proposal_sent", "gửi tờ trình"),
          ("recognized", "ban hành quyết định công nhận"), ("launched", "phát động"))
assert {c for c, _ in EVENTS} == set(RELATIVE_EVENTS), "every event of the format needs its label"
UNITS = (("working_days", "ngày làm việc"), ("days", "ngày"))
COUNTS = (("first", "đầu tiên"), ("last", "cuối cùng"))
YES_NO = (("true", "có"), ("false", "không"))
CADENCES = (("daily", "hằng ngày"), ("weekly", "hằng tuần"), ("none", "không"))
MARKERS = (("start", "Bắt đầu"),)


@dataclass(frozen=True)
class Column:
    key: str  # the cell's name in a Draft row (and the Excel info sheet's "Khóa")
    label: str  # the Vietnamese header: Excel column, messages; unique in its table
    path: tuple[str, ...]  # where the value lives in the YAML
    kind: str = TEXT
    choices: tuple[tuple[str, str], ...] = ()  # (code, Vietnamese label) of a CHOICE
    closed: bool = True  # a CHOICE outside its list is refused (else written as typed)
    dated: bool = False  # holds dates that move when the calendar is shifted to another year
    opening: bool = False  # its date opens something (a day off moves it later, not earlier)
    hint: str = ""  # a short example shown to the officer
    group: str = ""  # the web shows the columns of one group in one cell, each with `short`
    short: str = ""

    @property
    def control_label(self) -> str:
        return self.short or self.label

    def label_of(self, code: str) -> str:
        return next((label for c, label in self.choices if c == code), code)

    def code_of(self, cell: str) -> str | None:
        folded = fold(cell)
        return next((c for c, label in self.choices if folded in (fold(label), fold(c))), None)


def _reminder_columns() -> tuple[Column, ...]:
    g = "Nhắc hạn"
    return (
        Column("rem_before", "Nhắc trước hạn (ngày làm việc)", ("reminders", "before"), LIST, group=g,
               short="Nhắc trước (ngày làm việc)", hint=f"7, 3, 1 — hoặc «{NO_REMINDER}»"),
        Column("rem_on_day", "Nhắc đúng ngày hạn", ("reminders", "on_the_day"), CHOICE, YES_NO, group=g,
               short="Nhắc đúng ngày hạn"),
        Column("rem_overdue", "Nhắc trường khi trễ hạn", ("reminders", "overdue_every"), CHOICE, CADENCES,
               closed=False, group=g, short="Trễ hạn: nhắc đối tượng", hint="một số ngày làm việc, ví dụ 2"),
        Column("rem_overdue_limit", "Số lần nhắc trễ hạn tối đa", ("reminders", "overdue_limit"), group=g,
               short="tối đa (lần)", hint="10"),
        Column("rem_digest", "Tổng hợp trễ hạn gửi cấp quản lý", ("reminders", "digest_every"), CHOICE, CADENCES,
               closed=False, group=g, short="Tổng hợp gửi cấp quản lý", hint="một số ngày làm việc, ví dụ 5"),
        Column("rem_digest_limit", "Số lần gửi tổng hợp tối đa", ("reminders", "digest_limit"), group=g,
               short="tối đa (lần)", hint="4"),
        Column("rem_escalate", "Tổng hợp gửi tới", ("reminders", "escalate_to"), CHOICE, ACTORS, group=g,
               short="gửi tới"),
    )


def _rule_columns(prefix: str, path: tuple[str, ...], group: str, *, target: bool) -> tuple[Column, ...]:
    lead = (Column(f"{prefix}_event", f"{group}: sau khi", (*path, TARGET), CHOICE, EVENTS, closed=False,
                   group=group, short="Sau khi", hint=f"trả hồ sơ bổ sung — hoặc «{MILESTONE_PREFIX}mã-mốc»"),) if target else ()
    return (*lead,
            Column(f"{prefix}_n", f"{group}: số ngày", (*path, COUNT), group=group, short="Số ngày", hint="5"),
            Column(f"{prefix}_unit", f"{group}: loại ngày", (*path, UNIT), CHOICE, UNITS, group=group,
                   short="Loại ngày"),
            Column(f"{prefix}_cap", f"{group}: không muộn hơn", (*path, "not_later_than"), dated=True, group=group,
                   short="Không muộn hơn", hint="30/06/2026"))


COLUMNS: tuple[Column, ...] = (
    Column("key", "Mã mốc", ("key",), hint="truong-to-trinh"),
    Column("title", "Nội dung", ("title",)),
    Column("actor", "Đối tượng", ("actor",), CHOICE, ACTORS),
    Column("stage", "Giai đoạn", ("stage",), CHOICE, STAGES),
    Column("due", "Hạn", ("due",), dated=True, group="Hạn cố định", short="Hạn", hint="31/03/2025 hoặc 03/06/2024 24:00"),
    Column("opens", "Mở từ", ("opens",), dated=True, opening=True, group="Hạn cố định", short="Mở từ", hint="01/03/2025"),
    Column("window_from", "Khoảng thời gian: từ", ("window", "from"), dated=True, opening=True,
           group="Khoảng thời gian", short="Từ (tháng hoặc ngày)", hint="05/2025 hoặc 05/05/2025"),
    Column("window_to", "Khoảng thời gian: đến", ("window", "to"), dated=True, group="Khoảng thời gian",
           short="Đến (trống: cả tháng)", hint="16/05/2025"),
    *_rule_columns("after", ("after",), "Hạn tương đối", target=True),
    Column("marker", "Mốc không ngày", ("marker",), CHOICE, MARKERS),
    Column("documents", "Văn bản", ("documents",), LIST, hint="bien_ban, to_trinh"),
    Column("channel", "Kênh", ("channel",), CHOICE, tuple(CHANNELS.items())),
    *_reminder_columns(),
    Column("sub_opens", "Biểu mẫu: mở", ("submission", "opens"), dated=True, opening=True, group="Biểu mẫu gửi",
           short="Mở", hint="15/05/2024"),
    Column("sub_closes", "Biểu mẫu: đóng", ("submission", "closes"), dated=True, group="Biểu mẫu gửi",
           short="Đóng", hint="03/06/2024 24:00"),
    Column("sub_max", "Biểu mẫu: số lần gửi tối đa", ("submission", "max_sends"), group="Biểu mẫu gửi",
           short="Số lần gửi tối đa", hint="3"),
    Column("sub_counts", "Biểu mẫu: lần gửi được tính", ("submission", "counts"), CHOICE, COUNTS,
           group="Biểu mẫu gửi", short="Lần gửi được tính"),
    *_rule_columns("ret", ("submission", "after_return"), "Gửi lại sau khi bị trả", target=False),
    Column("ret_beyond", "Gửi lại sau khi bị trả: vượt số lần tối đa", ("submission", "after_return", "beyond_cap"),
           CHOICE, YES_NO, group="Gửi lại sau khi bị trả", short="Được vượt số lần tối đa"),
    Column("parent_milestone", "Mốc của lịch cấp trên", ("parent_milestone",)),
    Column("known_issue", "Mâu thuẫn của văn bản gốc", ("known_issue",)),
    Column("note", "Ghi chú", ("note",)),
)

HEADER: tuple[Column, ...] = (
    Column("issuer", "Đơn vị ban hành", ("issuer",)),
    Column("issuer_kind", "Loại đơn vị ban hành", ("issuer_kind",), CHOICE, ACTORS),
    Column("number", "Số văn bản", ("number",), hint="/KH-PGDĐT"),
    Column("issued", "Ngày ban hành", ("issued",), dated=True, hint="12/03/2025 hoặc 03/2025"),
    Column("school_year", "Năm học", ("school_year",), hint="2025-2026"),
    Column("index_sets", "Bộ chỉ số", ("index_sets",), LIST, hint="4725, 3276"),
    Column("parent_calendar", "Văn bản cấp trên: lịch trong phần mềm", ("parent", "calendar"),
           group="Văn bản cấp trên", short="Lịch trong phần mềm", hint="hanoi/so-2024-2025"),
    Column("parent_issuer", "Văn bản cấp trên: đơn vị ban hành", ("parent", "issuer"), group="Văn bản cấp trên",
           short="Đơn vị ban hành", hint="Sở GDĐT Hà Nội"),
    Column("parent_number", "Văn bản cấp trên: số", ("parent", "number"), group="Văn bản cấp trên",
           short="Số", hint="330/KH-SGDĐT"),
    Column("parent_date", "Văn bản cấp trên: ngày", ("parent", "date"), group="Văn bản cấp trên",
           short="Ngày", hint="05/02/2025"),
    Column("references", "Căn cứ (mỗi dòng một văn bản)", ("references",), LINES,
           hint="Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ GDĐT"),
    Column("known_issues", "Mâu thuẫn chung của văn bản gốc (mỗi dòng một ý)", ("known_issues",), LINES),
    *_reminder_columns(),
    Column("dossier", "Thứ tự hồ sơ", ("dossier",), LIST, hint="bia_ho_so, to_trinh, bien_ban"),
)

COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
HEADER_BY_KEY = {c.key: c for c in HEADER}


def groups(columns: tuple[Column, ...]) -> list[tuple[str, list[Column]]]:
    """The web's cells: consecutive columns of one group together, a column without group alone."""
    out: list[tuple[str, list[Column]]] = []
    for c in columns:
        if c.group and out and out[-1][0] == c.group:
            out[-1][1].append(c)
        else:
            out.append((c.group or c.label, [c]))
    return out


class TableError(ValueError):
    """The YAML cannot be shown as a table (syntax, or a key with no column); Vietnamese message."""


@dataclass
class Draft:
    """header: {cell key: text}; rows: one {cell key: text} per milestone. Empty text = absent."""

    header: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"header": dict(self.header), "rows": [dict(r) for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        if not isinstance(data, dict):
            raise TableError("dữ liệu lịch phải là một bảng (header, rows)")
        header = data.get("header") or {}
        rows = data.get("rows") or []
        if not isinstance(header, dict) or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TableError("dữ liệu lịch phải có header (bảng) và rows (danh sách các dòng)")
        return cls({k: v for k, v in ((k, _cell(v)) for k, v in header.items() if k in HEADER_BY_KEY) if v},
                   [{k: v for k, v in ((k, _cell(v)) for k, v in r.items() if k in COLUMN_BY_KEY) if v} for r in rows])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    lines = [" ".join(line.split()) for line in str(value).replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- YAML -> table


def _scalar(node: Any) -> str:
    if isinstance(node, Text):
        return "" if node.null else str(node)
    raise TypeError


def _leaf(col: Column, node: Any, where: str) -> str:
    if col.kind in (LIST, LINES):
        if isinstance(node, Text) and node.null:
            return ""
        items = node if isinstance(node, Seq) else [node] if col.kind == LINES and isinstance(node, Text) else None
        if items is None or not all(isinstance(x, Text) for x in items):
            raise TableError(f"dòng {getattr(node, 'line', '?')}: {where}: «{col.label}» phải là một danh sách giá trị")
        return (", " if col.kind == LIST else "\n").join(str(x) for x in items)
    if not isinstance(node, Text):
        raise TableError(f"dòng {getattr(node, 'line', '?')}: {where}: «{col.label}» phải là một giá trị, không phải một bảng")
    text = _scalar(node)
    return col.label_of(text) if col.kind == CHOICE else text


def _read(node: Map, columns: list[Column], depth: int, where: str, cells: dict[str, str]) -> None:
    """Fill `cells` from a YAML table whose keys are path[depth] of `columns`; unknown keys refused."""
    by_key: dict[str, list[Column]] = {}
    special = {c.path[depth]: c for c in columns if c.path[depth].startswith("#")}
    for c in columns:
        if not c.path[depth].startswith("#"):
            by_key.setdefault(c.path[depth], []).append(c)
    for key, value in node.items():
        line = node.key_lines[key]
        if key in ("event", "milestone") and TARGET in special:
            col = special[TARGET]
            text = _scalar(value) if isinstance(value, Text) else ""
            cells[col.key] = col.label_of(text) if key == "event" else MILESTONE_PREFIX + text
            continue
        if key in ("working_days", "days") and COUNT in special:
            cells[special[COUNT].key] = _leaf(special[COUNT], value, where)
            if UNIT in special:
                cells[special[UNIT].key] = special[UNIT].label_of(key)
            continue
        cols = by_key.get(key)
        if cols is None:
            raise TableError(f"dòng {line}: khóa '{key}' {where} chưa có cột trong bảng soạn lịch")
        if len(cols) == 1 and len(cols[0].path) == depth + 1:
            cells[cols[0].key] = _leaf(cols[0], value, where)
        elif key == "window" and isinstance(value, Text):
            first, dots, last = _scalar(value).partition("..")
            cells["window_from"] = first.strip()
            if dots:
                cells["window_to"] = last.strip()
        elif key == "reminders" and isinstance(value, Text):
            cells["rem_before"] = NO_REMINDER if _scalar(value).lower() in {"", "none", "false", "no", "không"} \
                else _scalar(value)
        elif isinstance(value, Map):
            _read(value, cols, depth + 1, f"{where} › {key}", cells)
        else:
            raise TableError(f"dòng {line}: {where}: '{key}' phải là một bảng")


def draft_from_yaml(text: str) -> Draft:
    tree, problems = read_tree(text)
    if tree is None or problems:
        first = (problems or [Problem(None, "tệp lịch rỗng", "empty")])[0]
        raise TableError(f"dòng {first.line}: {first.message}" if first.line else first.message)
    if not isinstance(tree, Map):
        raise TableError("tệp lịch phải là một bảng (issuer, school_year, milestones…)")
    draft = Draft()
    milestones = tree.get("milestones")
    top = Map()
    top.line, top.key_lines = tree.line, {k: v for k, v in tree.key_lines.items() if k != "milestones"}
    top.update({k: v for k, v in tree.items() if k != "milestones"})
    _read(top, list(HEADER), 0, "của lịch", draft.header)
    for i, m in enumerate(milestones if isinstance(milestones, Seq) else [], start=1):
        if not isinstance(m, Map):
            raise TableError(f"dòng {getattr(m, 'line', '?')}: mốc thứ {i} phải là một bảng")
        row: dict[str, str] = {}
        _read(m, list(COLUMNS), 0, f"của mốc thứ {i}", row)
        draft.rows.append({k: v for k, v in row.items() if v})
    draft.header = {k: v for k, v in draft.header.items() if v}
    return draft


# ---------------------------------------------------------------- table -> YAML


@dataclass(frozen=True)
class CellError:
    row: int | None  # None: the header
    column: str  # cell key
    message: str  # Vietnamese, without its place


@dataclass(frozen=True)
class Rendered:
    text: str
    header_lines: dict[int, str]  # YAML line -> header cell key
    row_of_line: dict[int, int]  # YAML line -> row index (0-based)
    column_of_line: dict[int, str] = field(default_factory=dict)  # YAML line -> the row's cell key
    cell_errors: tuple[CellError, ...] = ()


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _value(col: Column, text: str, errors: list[str]) -> str | list[str] | None:
    if col.dated:  # 31/05/2026 as typed: the format's own form is written
        text = timeutil.iso_dates(text)
    if col.kind == LIST:
        return [v.strip() for v in text.replace("\n", ",").split(",") if v.strip()]
    if col.kind == LINES:
        return [v.strip() for v in text.split("\n") if v.strip()]
    if col.kind == CHOICE:
        code = col.code_of(text)
        if code is not None:
            return code
        if col.closed:  # still written as typed, so the validator does not also say it is missing
            errors.append(f"«{text}» không có trong danh sách ({', '.join(label for _, label in col.choices)})")
    return text


def _tree(cells: dict[str, str], columns: tuple[Column, ...], errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The nested YAML table of a row's cells: {yaml key: (text | [texts], cell key) | {…}}."""
    out: dict[str, Any] = {}
    for col in columns:
        text = cells.get(col.key, "").strip()
        if not text or col.path[-1] == UNIT:
            continue
        problems: list[str] = []
        if col.key == "rem_before" and fold(text) == fold(NO_REMINDER):
            others = [c.label for c in columns if c.path[0] == "reminders" and c.key != col.key and cells.get(c.key)]
            if others:
                errors.append((col.key, f"«{NO_REMINDER}» thì để trống các ô {', '.join('«' + o + '»' for o in others)}"))
            out["reminders"] = ("none", col.key)
            continue
        value = _value(col, text, problems)
        for p in problems:
            errors.append((col.key, p))
        if value is None or isinstance(out.get(col.path[0]), tuple):
            continue
        place = out
        for part in col.path[:-1]:
            place = place.setdefault(part, {})
        last = col.path[-1]
        if last == TARGET:
            code = col.code_of(text)
            if code is not None:
                place["event"] = (code, col.key)
            else:
                name = text[len(MILESTONE_PREFIX):] if fold(text).startswith(fold(MILESTONE_PREFIX)) else text
                place["milestone"] = (name.strip(), col.key)
        elif last == COUNT:
            unit_col = next(c for c in columns if c.path == (*col.path[:-1], UNIT))
            unit_text = cells.get(unit_col.key, "").strip()
            unit = unit_col.code_of(unit_text) if unit_text else "working_days"
            if unit is None:
                errors.append((unit_col.key, f"«{unit_text}» không có trong danh sách (ngày làm việc, ngày)"))
                unit = "working_days"
            place[unit] = (value, col.key)
        else:
            place[last] = (value, col.key)
    for col in columns:  # a kind of days with no number says nothing: tell, do not drop it
        if col.path[-1] == UNIT and cells.get(col.key, "").strip() and not cells.get(col.key.replace("_unit", "_n"), "").strip():
            errors.append((col.key, "thiếu số ngày ở ô bên cạnh"))
    window = out.get("window")
    if isinstance(window, dict) and set(window) == {"from"}:
        out["window"] = window["from"]  # one month, one day or "a..b": the format's own short forms
    return out


def _emit(tree: dict[str, Any], indent: str, first: str, lines: list[str], where: dict[int, str]) -> None:
    for i, (key, value) in enumerate(tree.items()):
        lead = first if i == 0 else indent
        if isinstance(value, dict):
            lines.append(f"{lead}{key}:")
            where[len(lines)] = _first_cell(value)
            _emit(value, indent + "  ", indent + "  ", lines, where)
            continue
        text, cell = value
        shown = "[" + ", ".join(_q(v) for v in text) + "]" if isinstance(text, list) else _q(text)
        lines.append(f"{lead}{key}: {shown}")
        where[len(lines)] = cell


def _first_cell(tree: dict[str, Any]) -> str:
    value = next(iter(tree.values()))
    return _first_cell(value) if isinstance(value, dict) else value[1]


def draft_to_yaml(draft: Draft) -> Rendered:
    """YAML text of the draft, with where each line came from (to name rows and cells in messages)."""
    lines: list[str] = []
    header_lines: dict[int, str] = {}
    row_of_line: dict[int, int] = {}
    column_of_line: dict[int, str] = {}
    cell_errors: list[CellError] = []
    errors: list[tuple[str, str]] = []
    _emit(_tree(draft.header, HEADER, errors), "", "", lines, header_lines)
    cell_errors += [CellError(None, k, m) for k, m in errors]
    lines.append("milestones:")
    for i, row in enumerate(draft.rows):
        if is_blank(row):  # an empty line of the table is not a milestone
            continue
        errors = []
        start = len(lines)
        _emit(_tree(row, COLUMNS, errors), "    ", "  - ", lines, column_of_line)
        cell_errors += [CellError(i, k, m) for k, m in errors]
        for n in range(start + 1, len(lines) + 1):
            row_of_line[n] = i
    return Rendered("\n".join(lines) + "\n", header_lines, row_of_line, column_of_line, tuple(cell_errors))


def is_blank(row: dict[str, str]) -> bool:
    return not any(v.strip() for v in row.values())


def as_typed(draft: Draft) -> Draft:
    """The draft as the editor shows it: dates of dated cells written dd/mm/yyyy (read back either way)."""
    header = {k: timeutil.vn_dates(v) if k in HEADER_BY_KEY and HEADER_BY_KEY[k].dated and v else v
              for k, v in draft.header.items()}
    rows = [{k: timeutil.vn_dates(v) if k in COLUMN_BY_KEY and COLUMN_BY_KEY[k].dated and v else v
             for k, v in row.items()} for row in draft.rows]
    return Draft(header, rows)
