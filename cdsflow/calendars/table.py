"""A calendar as officers see it: a header of fields and a table of milestones, every cell text.

The web editor and the Excel workbook both use this shape; YAML stays the storage format.
`COLUMNS` and `HEADER` are the one declarative list of "column ↔ YAML key": a new key of the
format is one line here. Cells of kind YAML hold the value in YAML's one-line (flow) form, e.g.
`{before: [3, 1], on_the_day: true}`; LIST cells are comma-separated. Pure: no file access.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from cdsflow.calendars.problems import Problem
from cdsflow.calendars.yamlsource import Map, Seq, Text, read_tree

TEXT, LIST, YAML = "text", "list", "yaml"


@dataclass(frozen=True)
class Column:
    key: str  # the YAML key
    label: str  # the Vietnamese header (web table and Excel)
    kind: str = TEXT
    dated: bool = False  # holds dates that move when the calendar is shifted to another year
    hint: str = ""  # a short example shown to the officer


COLUMNS: tuple[Column, ...] = (
    Column("key", "Mã mốc", hint="truong-to-trinh"),
    Column("title", "Nội dung"),
    Column("actor", "Đối tượng", hint="school | bureau | department"),
    Column("stage", "Giai đoạn", hint="proposal"),
    Column("due", "Hạn", dated=True, hint="2025-03-31 hoặc 2024-06-03 24:00"),
    Column("opens", "Mở từ", dated=True, hint="2025-03-01"),
    Column("window", "Khoảng thời gian", YAML, dated=True, hint="2025-05 hoặc 2025-05-05..2025-05-16"),
    Column("after", "Hạn tương đối", YAML, dated=True, hint="{event: returned, working_days: 5}"),
    Column("marker", "Mốc không ngày", hint="start"),
    Column("documents", "Văn bản", LIST, hint="bien_ban, to_trinh"),
    Column("channel", "Kênh", hint="online_form"),
    Column("reminders", "Nhắc hạn", YAML, hint="{before: [3, 1], overdue_every: daily} hoặc none"),
    Column("submission", "Biểu mẫu gửi", YAML, dated=True, hint="{closes: 2024-06-03 24:00, max_sends: 3}"),
    Column("parent_milestone", "Mốc của lịch cấp trên"),
    Column("known_issue", "Mâu thuẫn của văn bản gốc"),
    Column("note", "Ghi chú"),
)

HEADER: tuple[Column, ...] = (
    Column("issuer", "Đơn vị ban hành"),
    Column("issuer_kind", "Loại đơn vị ban hành", hint="school | bureau | department"),
    Column("number", "Số văn bản", hint="/KH-PGDĐT"),
    Column("issued", "Ngày ban hành", dated=True, hint="2025-03-12 hoặc 2025-03"),
    Column("school_year", "Năm học", hint="2025-2026"),
    Column("index_sets", "Bộ chỉ số", LIST, hint="4725, 3276"),
    Column("parent", "Văn bản cấp trên", YAML, hint='{issuer: "Sở GDĐT Hà Nội", number: "330/KH-SGDĐT"}'),
    Column("references", "Căn cứ", YAML, hint='["Quyết định số 4725/QĐ-BGDĐT …"]'),
    Column("known_issues", "Mâu thuẫn chung của văn bản gốc", YAML),
    Column("reminders", "Nhắc hạn mặc định", YAML, hint="{before: [7, 3, 1], on_the_day: true, overdue_every: 2}"),
    Column("dossier", "Thứ tự hồ sơ", LIST, hint="bia_ho_so, to_trinh, bien_ban"),
)

COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
HEADER_BY_KEY = {c.key: c for c in HEADER}


class TableError(ValueError):
    """The YAML cannot be shown as a table (syntax, or a key with no column); Vietnamese message."""


@dataclass
class Draft:
    """header: {yaml key: text}; rows: one {yaml key: text} per milestone. Empty text = absent."""

    header: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"header": dict(self.header), "rows": [dict(r) for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> Draft:
        if not isinstance(data, dict):
            raise TableError("dữ liệu lịch phải là một bảng (header, rows)")
        header = data.get("header") or {}
        rows = data.get("rows") or []
        if not isinstance(header, dict) or not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TableError("dữ liệu lịch phải có header (bảng) và rows (danh sách các dòng)")
        return cls({k: _cell(v) for k, v in header.items() if k in HEADER_BY_KEY},
                   [{k: _cell(v) for k, v in r.items() if k in COLUMN_BY_KEY} for r in rows])


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


# ---------------------------------------------------------------- YAML -> table

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(?: \d{1,2}:\d{2})?")


def flow(node) -> str:
    """A YAML node (Map/Seq/Text from yamlsource) in one line of YAML flow style."""
    if isinstance(node, Map):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in node.items()) + "}"
    if isinstance(node, Seq):
        return "[" + ", ".join(flow(v) for v in node) + "]"
    if isinstance(node, Text) and node.null:
        return "null"
    text = str(node)
    return text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _to_cell(col: Column, node, where: str) -> str:
    if col.kind == YAML:
        return flow(node)
    if col.kind == LIST:
        if isinstance(node, Text) and node.null:
            return ""
        if not isinstance(node, Seq) or not all(isinstance(x, Text) for x in node):
            raise TableError(f"{where}: '{col.key}' phải là một danh sách giá trị")
        return ", ".join(str(x) for x in node)
    if not isinstance(node, Text):
        return flow(node)  # the validator will name it; the cell keeps what was written
    return "" if node.null else str(node)


def draft_from_yaml(text: str) -> Draft:
    tree, problems = read_tree(text)
    if tree is None or problems:
        first = (problems or [Problem(None, "tệp lịch rỗng", "empty")])[0]
        raise TableError(f"dòng {first.line}: {first.message}" if first.line else first.message)
    if not isinstance(tree, Map):
        raise TableError("tệp lịch phải là một bảng (issuer, school_year, milestones…)")
    draft = Draft()
    for key, node in tree.items():
        if key == "milestones":
            continue
        col = HEADER_BY_KEY.get(key)
        if col is None:
            raise TableError(f"dòng {tree.key_lines[key]}: khóa '{key}' chưa có ô trong bảng soạn lịch")
        draft.header[key] = _to_cell(col, node, "lịch")
    milestones = tree.get("milestones")
    for i, m in enumerate(milestones if isinstance(milestones, Seq) else [], start=1):
        if not isinstance(m, Map):
            raise TableError(f"dòng {getattr(m, 'line', '?')}: mốc thứ {i} phải là một bảng")
        row = {}
        for key, node in m.items():
            col = COLUMN_BY_KEY.get(key)
            if col is None:
                raise TableError(f"dòng {m.key_lines[key]}: khóa '{key}' của mốc thứ {i} chưa có cột trong bảng soạn lịch")
            row[key] = _to_cell(col, node, f"mốc thứ {i}")
        draft.rows.append(row)
    return draft


# ---------------------------------------------------------------- table -> YAML


@dataclass(frozen=True)
class Rendered:
    text: str
    header_lines: dict[int, str]  # YAML line -> header key
    row_of_line: dict[int, int]  # YAML line -> row index (0-based)


def _yaml_value(col: Column, value: str) -> str:
    if col.kind == TEXT:
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    if col.kind == LIST:
        return "[" + ", ".join(json.dumps(v.strip(), ensure_ascii=False) for v in value.split(",") if v.strip()) + "]"
    return " ".join(value.split())  # YAML flow text, written as the officer typed it, on one line


def draft_to_yaml(draft: Draft) -> Rendered:
    """YAML text of the draft, with where each line came from (to name rows in messages)."""
    lines: list[str] = []
    header_lines: dict[int, str] = {}
    row_of_line: dict[int, int] = {}
    for col in HEADER:
        value = draft.header.get(col.key, "")
        if value:
            lines.append(f"{col.key}: {_yaml_value(col, value)}")
            header_lines[len(lines)] = col.key
    lines.append("milestones:")
    for i, row in enumerate(draft.rows):
        if is_blank(row):  # an empty line of the table is not a milestone
            continue
        first = True
        for col in COLUMNS:
            value = row.get(col.key, "")
            if not value:
                continue
            lines.append(f"  {'- ' if first else '  '}{col.key}: {_yaml_value(col, value)}")
            row_of_line[len(lines)] = i
            first = False
    return Rendered("\n".join(lines) + "\n", header_lines, row_of_line)


def is_blank(row: dict[str, str]) -> bool:
    return not any(v.strip() for v in row.values())
