"""Excel workbooks: the index-set template an officer fills from the official table, and the
school's answer form. Reading turns a workbook into the same plain mapping a YAML file gives,
so one validator (loader.parse_index_set) judges both.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from cdsflow.assessment.loader import IndexSetError, parse_index_set
from cdsflow.assessment.model import ANSWER_KIND_LABELS, AnswerKind, IndexSet, Item, Tier, answer_hint
from cdsflow.assessment.rates import RateError, parse_rate, stored_rate
from cdsflow.assessment.scoring import answer_problem
from cdsflow.assessment.versions import check_answer_version
from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage.filelimits import check_xlsx

INFO_SHEET = "Thông tin"
LEVEL_SHEET = "Mức độ"
CRITERIA_SHEET = "Tiêu chí"
GUIDE_SHEET = "Hướng dẫn"
ANSWER_SHEET = "Trả lời"
CHANGELOG_SHEET = "Thay đổi"
CHANGELOG_COLUMNS = ["Ngày", "Thay cho phiên bản (mã băm nội dung)", "Tóm tắt", "Mã mục", "Trước đây", "Nay",
                     "Cách ghi câu trả lời"]

# (label in the sheet, key in the mapping)
INFO_ROWS = [
    ("Mã bộ chỉ số", "code"),
    ("Phiên bản", "version"),
    ("Tên bộ chỉ số", "title"),
    ("Số quyết định", "decision_number"),
    ("Ngày quyết định (YYYY-MM-DD)", "decision_date"),
    ("Bản tạm thời (có/không)", "provisional"),
    ("Phạm vi xếp mức (per_group: từng nhóm; total: tổng điểm)", "scope"),
    ("Điều kiện bắt buộc không đạt (flag: chỉ ghi nhận; lowest_level: nhóm xếp mức thấp nhất; "
     "not_reached: nhóm chưa đạt)", "failed_mandatory"),
    ("Mức chung của đơn vị (none: không gộp; min: mức thấp hơn của các nhóm)", "overall_level"),
    ("Đối tượng áp dụng (mỗi dòng một đối tượng)", "applies_to"),
    ("Loại đơn vị được đánh giá (school, bureau, department; mỗi dòng một loại)", "covers_kinds"),
    ("Cấp học được đánh giá (mam_non, tieu_hoc, thcs, thpt, pho_thong_nhieu_cap, gdtx; mỗi dòng một cấp)",
     "covers_levels"),
    ("Ghi chú", "note"),
]
CRITERIA_COLUMNS = [
    "Nhóm", "Mã", "Cấp (nhóm / tiêu chí / mục)", "Nội dung", "Điểm tối đa", "Loại trả lời",
    "Bắt buộc (x)", "Bậc điểm / các mức chọn", "Minh chứng cần có (mỗi dòng một loại)", "Cần minh chứng (x)",
    "Chưa chắc chắn (x)", "Ghi chú (cho người chấm)", "Nguồn (cho người bảo trì, không hiện cho trường)",
]
# The 'Tiêu chí' columns by name, in order (A…M).
_CRITERIA_FIELDS = ("group", "code", "kind", "label", "max_points", "answer", "mandatory", "tiers", "evidence",
                    "evidence_required", "uncertain", "note", "source")
LEVEL_COLUMNS = ["Mức", "Tên mức", "Khoảng điểm (ví dụ [0, 50) hoặc [50, 75] hoặc (75, 100])"]
KINDS = [k.value for k in AnswerKind]
ROW_KINDS = {"nhom": "nhóm", "nhóm": "nhóm", "tieu chi": "tiêu chí", "tiêu chí": "tiêu chí", "muc": "mục", "mục": "mục"}

GUIDE = [
    "Cách điền bộ chỉ số từ bảng chính thức (Phụ lục của quyết định):",
    "1. Trang 'Thông tin': mã, phiên bản mới (ví dụ 2025-01-15), tên, số và ngày quyết định; 'Bản tạm"
    " thời' ghi 'không' khi đã đủ bảng chính thức.",
    "2. Trang 'Mức độ': mỗi dòng một mức với khoảng điểm. [a, b) là từ a đến dưới b; (a, b] là trên a"
    " đến b; các khoảng phải liền nhau, không chồng nhau.",
    "3. Trang 'Tiêu chí': mỗi dòng một nhóm, một tiêu chí hoặc một mục con (cột 'Cấp'). Mục con nằm ngay dưới tiêu chí của nó.",
    "   Điểm tối đa của nhóm = tổng các tiêu chí; của tiêu chí = tổng các mục con.",
    "4. Loại trả lời: yes_no (có/không), count (số lượng), percentage (tỉ lệ %), choice (chọn mức),"
    " points (người đánh giá cho điểm trong mức tối đa).",
    "5. Bậc điểm (count, percentage): mỗi dòng một bậc, dạng  [0, 20) = 3 | Ít hơn 20 học liệu  — các"
    " bậc phải phủ hết các giá trị (count: từ 0; percentage: 0 đến 100).",
    "   Thêm ghi chú cho một bậc sau dấu | thứ hai; bắt đầu ghi chú bằng ? nếu bậc chưa chắc chắn:  [40,"
    " ) = 10 | Từ 40 | ? chưa rõ đúng 40 thuộc bậc nào.",
    "   Các mức chọn (choice): mỗi dòng  mã = điểm | tên mức, ví dụ  ky_so = 10 | Có chữ ký số.",
    "6. Điều kiện bắt buộc: Loại trả lời yes_no, Điểm tối đa 0, cột 'Bắt buộc' ghi x.",
    "7. Ghi chú (cho người chấm) hiện trên trang chấm điểm; Nguồn (cho người bảo trì) không hiện cho trường. Trang 'Thay đổi':"
    " mục nào đổi nghĩa so với phiên bản trước (mã băm), trước đây và nay ra sao, nay ghi câu trả lời thế nào.",
    "8. Kiểm tra: cdsflow indexset check TỆP.xlsx ; nhập: cdsflow indexset import TỆP.xlsx",
]

_HEAD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _num(d: Decimal | None) -> int | float | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def _header(ws: Worksheet, columns: list[str], widths: list[int]) -> None:
    ws.append(columns)
    for cell, width in zip(ws[1], widths, strict=False):
        assert isinstance(cell, Cell)  # a header row just appended: never merged
        cell.font, cell.fill, cell.alignment = _HEAD, _FILL, _WRAP
        ws.column_dimensions[cell.column_letter].width = width
    ws.freeze_panes = "A2"


def _tiers_text(item: Item) -> str:
    if item.tiers:
        def line(t: Tier) -> str:
            text = f"{t.range.text} = {_num(t.points)}"
            if t.label or t.note or t.uncertain:
                text += f" | {t.label}"
            if t.note or t.uncertain:
                text += " | " + ("? " if t.uncertain else "") + t.note
            return text.rstrip()
        return "\n".join(line(t) for t in item.tiers)
    if item.choices:
        return "\n".join(f"{c.code} = {_num(c.points)} | {c.label}" for c in item.choices)
    return ""


def write_index_set_workbook(path: str | Path, index_set: IndexSet | None = None) -> Path:
    """Write the template; prefilled with `index_set` (a frame, or a set to revise) when given."""
    path = Path(path)
    wb = Workbook()
    guide = wb.active
    assert isinstance(guide, Worksheet)  # a new workbook has one sheet
    guide.title = GUIDE_SHEET
    for line in GUIDE:
        guide.append([line])
    guide.column_dimensions["A"].width = 140

    info = wb.create_sheet(INFO_SHEET)
    _header(info, ["Thông tin", "Giá trị"], [60, 90])
    s = index_set
    values = {
        "code": s.code if s else "",
        "version": s.version if s else "",
        "title": s.title if s else "",
        "decision_number": s.decision_number if s else "",
        "decision_date": s.decision_date if s else "",
        "provisional": ("có" if s.provisional else "không") if s else "không",
        "scope": s.level_scope.value if s else "per_group",
        "failed_mandatory": s.policy.failed_mandatory.value if s else "flag",
        "overall_level": s.policy.overall_level.value if s else "none",
        "applies_to": "\n".join(s.applies_to) if s else "",
        "covers_kinds": "\n".join(s.covers_kinds) if s else "",
        "covers_levels": "\n".join(s.covers_levels) if s else "",
        "note": s.note if s else "",
    }
    for label, key in INFO_ROWS:
        info.append([label, values[key]])
    for row in info.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = _WRAP

    levels = wb.create_sheet(LEVEL_SHEET)
    _header(levels, LEVEL_COLUMNS, [8, 30, 50])
    bands = s.levels if s else ()
    for b in bands:
        levels.append([b.level, b.name, b.range.text if b.range else ""])

    ws = wb.create_sheet(CRITERIA_SHEET)
    _header(ws, CRITERIA_COLUMNS, [7, 9, 12, 60, 10, 13, 10, 38, 45, 12, 12, 45, 45])
    kinds = DataValidation(type="list", formula1='"' + ",".join(KINDS) + '"', allow_blank=True)
    row_kinds = DataValidation(type="list", formula1='"nhóm,tiêu chí,mục"', allow_blank=False)
    ws.add_data_validation(kinds)
    ws.add_data_validation(row_kinds)
    kinds.add("F2:F2000")
    row_kinds.add("C2:C2000")
    for col in ("A", "B"):  # codes are text: typed 1.10 must not become the number 1.1
        ws.column_dimensions[col].number_format = "@"
    if s:
        for g in s.groups:
            ws.append([g.code, g.code, "nhóm", g.name, _num(g.max_points), None, None, None, None, None,
                       "x" if g.uncertain else None, g.note or None, g.source or None])
            for c in g.criteria:
                first = c.items[0]
                leaf = not c.has_sub_items
                ws.append([
                    g.code, c.code, "tiêu chí", c.label, _num(c.max_points), first.kind.value if leaf else None,
                    "x" if c.mandatory else None, _tiers_text(first) if leaf else None,
                    "\n".join(c.evidence) or None, "x" if c.evidence_required else None,
                    "x" if c.uncertain else None, c.note or None, c.source or None,
                ])
                if c.has_sub_items:
                    for i in c.items:
                        ws.append([g.code, i.code, "mục", i.label, _num(i.max_points), i.kind.value, None,
                                   _tiers_text(i) or None, None, None, "x" if i.uncertain else None, i.note or None,
                                   i.source or None])
    _write_changelog(wb, s)
    return _save(wb, ws, path)


def _write_changelog(wb: Workbook, s: IndexSet | None) -> None:
    sheet = wb.create_sheet(CHANGELOG_SHEET)
    _header(sheet, CHANGELOG_COLUMNS, [12, 30, 40, 9, 40, 40, 40])
    for change in (s.changelog if s else ()):
        for item in change.items or (None,):
            sheet.append([change.date, change.replaces, change.summary or None,
                          *((item.code, item.before, item.after, item.write) if item else (None,) * 4)])


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(wb: Workbook) -> int:
    """Every text cell that Excel could take for a formula is stored as text, shown as typed.

    openpyxl writes a string starting with "=" as a live formula (a label "=HYPERLINK(…)" would
    run when the officer opens the file); "+", "-", "@", tab and CR start formulas once the
    cell is edited or the sheet saved as CSV. Forcing the string type and Excel's quote prefix
    keeps the text exactly as the user wrote it. Returns the number of cells changed.
    """
    changed = 0
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    changed += 1
    return changed


def _save(wb: Workbook, ws: Worksheet, path: Path) -> Path:
    """Wrap every data cell (long Vietnamese labels), neutralise formulas, write the workbook."""
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = _WRAP
    neutralise_formulas(wb)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# ---------------------------------------------------------------- reading


def _check_zip(path: Path) -> None:
    """Absurd sizes refused from the zip directory, before openpyxl parses anything."""
    try:
        check_xlsx(path)
    except InvalidInput as err:
        raise IndexSetError(err.message) from None


def _cell(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _flag(v: Any) -> bool:
    return isinstance(v, str) and v.strip().lower() in {"x", "có", "co", "yes", "true", "1"} or v is True or v == 1


def _code(v: Any) -> str | None:
    # Excel turns "1.3" into the float 1.3; a code is text, so give it back as typed.
    if v is None:
        return None
    if isinstance(v, float):
        return repr(v)
    return str(v).strip()


def _lines(v: Any) -> list[str]:
    return [x.strip() for x in str(v).splitlines() if x.strip()] if v is not None else []


def _parse_pairs(text: Any, where: str, problems: list[str], *, choices: bool) -> list[dict[str, Any]]:
    out = []
    for line in _lines(text):
        head, _, label = line.partition("|")
        key, eq, pts = head.rpartition("=")
        if not eq:
            problems.append(f"{where}: dòng bậc/mức '{line}' phải có dạng "
                            + ("'mã = điểm | tên mức'" if choices else "'[a, b) = điểm | nhãn'"))
            continue
        pts = pts.strip().replace(",", ".")
        try:
            points: Any = Decimal(pts)
            points = int(points) if points == points.to_integral_value() else float(points)
        except Exception:
            problems.append(f"{where}: điểm '{pts}' không phải số (dòng '{line}')")
            continue
        if choices:
            out.append({"code": key.strip(), "label": label.strip() or key.strip(), "points": points})
        else:
            label, _, note = label.partition("|")
            entry = {"range": key.strip(), "points": points}
            if label.strip():
                entry["label"] = label.strip()
            note = note.strip()
            if note.startswith("?"):
                entry["uncertain"] = True
                note = note[1:].strip()
            if note:
                entry["note"] = note
            out.append(entry)
    return out


def read_index_set_workbook(path: str | Path) -> dict[str, Any]:
    """Turn a filled template into the mapping `parse_index_set` validates.

    Layout problems (a sub-item before any criterion, an unknown row kind, a bad tier line) are
    reported with sheet, row and cell; content problems by the validator, with the item code
    (`load_index_set_workbook` adds the cell).
    """
    return _read_index_set_workbook(path)[0]


def load_index_set_workbook(path: str | Path) -> IndexSet:
    """Read and validate a filled template; every problem names its sheet and cell."""
    data, rows = _read_index_set_workbook(path)
    try:
        return parse_index_set(data, Path(path).name)
    except IndexSetError as err:
        raise IndexSetError(err.message, details=[cell_of_problem(d, rows) for d in err.details]) from None


_SUBJECT = re.compile(r"^[^:]*: (?:tiêu chí|mục|nhóm) ([^\s,:]+)")
_BAND = re.compile(r"^[^:]*: mức độ \(levels\)(?:, mức (\d+))?")
# Which column of 'Tiêu chí' a validator's words point at (first match wins).
_COLUMN_WORDS = [
    ("H", ("bậc", "tiers", "choices", "mức '", "mức trùng", "điểm của mức", "mã mức")),
    ("F", ("loại trả lời",)),
    ("I", ("minh chứng", "evidence")),
    ("G", ("điều kiện bắt buộc", "mandatory")),
    ("E", ("điểm tối đa", "max_points", "tổng điểm")),
    ("B", ("mã",)),
]
_INFO_WORDS = [("code", "mã bộ chỉ số"), ("version", "phiên bản"), ("title", "tên (title)"),
               ("decision_number", "decision"), ("covers_kinds", "covers"), ("failed_mandatory", "failed_mandatory"),
               ("overall_level", "overall_level"), ("scope", "scope"), ("applies_to", "đối tượng áp dụng")]


def cell_of_problem(detail: str, rows: dict[str, Any]) -> str:
    """A validator's problem with the sheet and cell to look at put first ("Trang 'Tiêu chí', ô E7: …")."""
    m = _SUBJECT.match(detail)
    if m and m.group(1) in rows["criteria"]:
        rest = detail[m.end():].lower()
        column = next((col for col, words in _COLUMN_WORDS if any(w in rest for w in words)), "B")
        return f"Trang '{CRITERIA_SHEET}', ô {column}{rows['criteria'][m.group(1)]}: {detail}"
    m = _BAND.match(detail)
    if m:
        n = int(m.group(1)) if m.group(1) else None
        if n is not None:
            return f"Trang '{LEVEL_SHEET}', ô C{n + 1}: {detail}"
        if "scope" in detail:
            return f"Trang '{INFO_SHEET}', ô B{rows['info']['scope']}: {detail}"
        return f"Trang '{LEVEL_SHEET}': {detail}"
    low = detail.lower()
    key = next((k for k, words in _INFO_WORDS if words in low), None)
    if key is not None:
        return f"Trang '{INFO_SHEET}', ô B{rows['info'][key]}: {detail}"
    return detail


def _open_index_set_workbook(path: Path) -> Workbook:
    _check_zip(path)
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise IndexSetError(f"Không đọc được tệp Excel {path.name}: {exc}") from None
    missing = [f"thiếu trang '{name}' (tạo mẫu bằng: cdsflow indexset template)"
               for name in (INFO_SHEET, LEVEL_SHEET, CRITERIA_SHEET) if name not in wb.sheetnames]
    if missing:
        raise IndexSetError(f"Tệp bộ chỉ số {path.name} không đúng mẫu", details=missing)
    return wb


def _read_info(ws: Worksheet, rows: dict[str, dict[str, int]], problems: list[str]) -> dict[str, Any]:
    labels = {label: key for label, key in INFO_ROWS}
    info: dict[str, Any] = {}
    for n, row in enumerate(ws.iter_rows(min_row=2, values_only=True), 2):
        if not row or row[0] is None:
            continue
        key = labels.get(str(row[0]).strip())
        if key is None:
            problems.append(f"trang '{INFO_SHEET}', dòng {n} (ô A{n}): thông tin không rõ '{row[0]}'")
            continue
        info[key] = _cell(row[1]) if len(row) > 1 else None
        rows["info"][key] = n
    return info


def _read_bands(ws: Worksheet) -> list[dict[str, Any]]:
    bands = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        row = tuple(_cell(v) for v in (tuple(row) + (None,) * 3)[:3])
        if any(v is not None for v in row):
            bands.append({"level": row[0], "name": row[1], "range": row[2]})
    return bands


def _set_answer(node: dict[str, Any], v: Any, r: dict[str, Any]) -> None:
    node["answer"] = str(v).strip()


def _set_tiers(node: dict[str, Any], v: Any, r: dict[str, Any]) -> None:
    is_choice = node.get("answer") == AnswerKind.CHOICE.value
    node["choices" if is_choice else "tiers"] = _parse_pairs(v, f"{r['where']} (ô H{r['n']}, mã {node['code']})",
                                                             r["problems"], choices=is_choice)


def _set_flag(key: str) -> Callable[[dict[str, Any], Any, dict[str, Any]], None]:
    def setter(node: dict[str, Any], v: Any, r: dict[str, Any]) -> None:
        if _flag(v):
            node[key] = True
    return setter


def _set_plain(key: str) -> Callable[[dict[str, Any], Any, dict[str, Any]], None]:
    def setter(node: dict[str, Any], v: Any, r: dict[str, Any]) -> None:
        node[key] = v
    return setter


def _set_evidence(node: dict[str, Any], v: Any, r: dict[str, Any]) -> None:
    node["evidence"] = _lines(v)


# How each column of a criterion or item row lands in the mapping, in column order (the answer
# column comes before the tiers, which depend on it). Evidence belongs to criteria only.
_NODE_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("answer", _set_answer), ("tiers", _set_tiers), ("mandatory", _set_flag("mandatory")),
    ("uncertain", _set_flag("uncertain")), ("note", _set_plain("note")), ("source", _set_plain("source")),
)
_CRITERION_COLUMNS = (("evidence", _set_evidence), ("evidence_required", _set_flag("evidence_required")))


class _CriteriaReader:
    """Rows of 'Tiêu chí' → groups → criteria → items, each problem named by its cell."""

    def __init__(self, rows: dict[str, dict[str, int]], problems: list[str]) -> None:
        self.rows, self.problems = rows, problems
        self.groups: list[dict[str, Any]] = []
        self.group: dict[str, Any] | None = None
        self.criterion: dict[str, Any] | None = None

    def read(self, ws: Worksheet) -> list[dict[str, Any]]:
        width = len(_CRITERIA_FIELDS)
        for n, raw in enumerate(ws.iter_rows(min_row=2, values_only=True), 2):
            values = tuple(_cell(v) for v in (tuple(raw) + (None,) * width)[:width])
            if any(v is not None for v in values):
                self.row(n, dict(zip(_CRITERIA_FIELDS, values, strict=True)))
        return self.groups

    def row(self, n: int, r: dict[str, Any]) -> None:
        where = f"trang '{CRITERIA_SHEET}', dòng {n}"
        code = _code(r["code"])
        if code is not None:
            self.rows["criteria"].setdefault(code, n)
        kind = ROW_KINDS.get(str(r["kind"] or "").strip().lower())
        if kind is None:
            self.problems.append(f"{where} (ô C{n}): cột 'Cấp' phải là nhóm, tiêu chí hoặc mục (đang là '{r['kind']}')")
        elif kind == "nhóm":
            self.new_group(code, r)
        elif self.group is None:
            self.problems.append(f"{where} (ô C{n}): {kind} {code} đứng trước mọi dòng nhóm")
        else:
            self.leaf(kind, code, {**r, "where": where, "n": n, "problems": self.problems})

    def new_group(self, code: str | None, r: dict[str, Any]) -> None:
        self.group = {"code": code, "name": r["label"], "max_points": r["max_points"], "criteria": []}
        if _flag(r["uncertain"]):
            self.group["uncertain"] = True
        for key in ("note", "source"):
            if r[key] is not None:
                self.group[key] = r[key]
        self.groups.append(self.group)
        self.criterion = None

    def leaf(self, kind: str, code: str | None, r: dict[str, Any]) -> None:
        group, where, n = self.group, r["where"], r["n"]
        assert group is not None
        if r["group"] is not None and _code(r["group"]) != group["code"]:
            self.problems.append(f"{where} (ô A{n}): cột 'Nhóm' ghi {_code(r['group'])} nhưng dòng nằm trong nhóm "
                                 f"{group['code']}")
        node: dict[str, Any] = {"code": code, "label": r["label"], "max_points": r["max_points"]}
        for key, setter in _NODE_COLUMNS:
            if r[key] is not None:
                setter(node, r[key], r)
        if kind == "tiêu chí":
            for key, setter in _CRITERION_COLUMNS:
                if r[key] is not None:
                    setter(node, r[key], r)
            group["criteria"].append(node)
            self.criterion = node
        elif self.criterion is None:
            self.problems.append(f"{where} (ô C{n}): mục {code} đứng trước mọi dòng tiêu chí của nhóm {group['code']}")
        else:
            if r["evidence"] is not None or _flag(r["evidence_required"]):
                self.problems.append(f"{where} (ô I{n}): minh chứng ghi ở dòng tiêu chí {self.criterion['code']}, "
                                     "không ở mục con")
            self.criterion.setdefault("items", []).append(node)


def _read_changelog(wb: Workbook) -> list[dict[str, Any]]:
    if CHANGELOG_SHEET not in wb.sheetnames:
        return []
    out: list[dict[str, Any]] = []
    for row in wb[CHANGELOG_SHEET].iter_rows(min_row=2, values_only=True):
        date, replaces, summary, code, before, after, write = (tuple(_cell(v) for v in row) + (None,) * 7)[:7]
        if date is None and replaces is None and code is None:
            continue
        date = date.date().isoformat() if hasattr(date, "date") else date
        key = {"date": date, "replaces": replaces, **({"summary": summary} if summary else {})}
        if not out or {k: out[-1].get(k) for k in key} != key:
            out.append({**key, "items": []})
        if code is not None:
            out[-1]["items"].append({"code": _code(code), "before": before, "after": after, "write": write})
    return out


def _read_index_set_workbook(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    path = Path(path)
    wb = _open_index_set_workbook(path)
    problems: list[str] = []
    # Where each thing was read, so a validator's problem can name its cell.
    rows: dict[str, dict[str, int]] = {"criteria": {}, "info": {key: n for n, (_, key) in enumerate(INFO_ROWS, 2)}}
    info = _read_info(wb[INFO_SHEET], rows, problems)
    bands = _read_bands(wb[LEVEL_SHEET])
    groups = _CriteriaReader(rows, problems).read(wb[CRITERIA_SHEET])
    changelog = _read_changelog(wb)
    wb.close()
    if problems:
        raise IndexSetError(f"Tệp bộ chỉ số {path.name} không hợp lệ ({len(problems)} lỗi)", details=problems)
    return _index_set_mapping(info, bands, groups, changelog), rows


def _index_set_mapping(info: dict[str, Any], bands: list[dict[str, Any]], groups: list[dict[str, Any]],
                       changelog: list[dict[str, Any]]) -> dict[str, Any]:
    decision_date: Any = info.get("decision_date")
    if hasattr(decision_date, "date"):
        decision_date = decision_date.date().isoformat()
    provisional = info.get("provisional")
    return {
        "code": _code(info.get("code")) if not isinstance(info.get("code"), int) else str(info.get("code")),
        "version": str(info["version"]) if info.get("version") is not None else None,
        "title": info.get("title"),
        "provisional": _flag(provisional) if provisional is not None else False,
        "decision": {"number": info.get("decision_number"), "date": decision_date},
        "applies_to": _lines(info.get("applies_to")),
        **({"covers": {"unit_kinds": _lines(info.get("covers_kinds")),
                       "education_levels": _lines(info.get("covers_levels"))}}
           if info.get("covers_kinds") else {}),
        "note": info.get("note"),
        "levels": {"scope": info.get("scope") or "per_group", "bands": bands},
        "policy": {"failed_mandatory": info.get("failed_mandatory") or "flag",
                   "overall_level": info.get("overall_level") or "none"},
        "groups": groups,
        **({"changelog": changelog} if changelog else {}),
    }


# ---------------------------------------------------------------- answer form


ANSWER_COLUMNS = ["Mã", "Nội dung", "Loại trả lời", "Cách trả lời", "Điểm tối đa", "Trả lời",
                  "Điểm cho (nếu thấp hơn mức tối đa)", "Ghi chú của bộ chỉ số"]


def percent_value(value: Any, number_format: str = "General") -> Any:
    """What a cell says, with Excel's percent format made explicit: a number in a %-formatted cell
    (Excel keeps "70%" as 0.7) becomes the text "70%", so the one rate reader (`rates.parse_rate`)
    reads it as 70 % and a count cell typed "45%" is refused rather than read as 45. Anything else
    is returned as it came: "0,7" or 0.7 in a General cell is the rate reader's to refuse."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in (number_format or ""):
        return f"{format(parse_rate(value, percent_cell=True), 'f')}%"
    return value


def _stored_answer(item: Item | None, value: Any) -> Any:
    """A rate kept as a number (70), or "0.7%" under 1 %; other answers as read."""
    if item is None or item.kind is not AnswerKind.PERCENTAGE or not isinstance(value, str):
        return value
    try:
        return stored_rate(parse_rate(value))
    except RateError:
        return value


_PERCENT_FORMAT = "0.##%"
_ANSWER_COL, _POINTS_COL = "F", "G"


def _answer_validations(ws: Worksheet, index_set: IndexSet, first_row: int) -> None:
    """One data validation per answer cell: lists for yes/no and choices, ranges for numbers.

    Percentage cells carry a % format, so 70 typed there is 70 % (Excel stores 0.7); their range is
    checked on the stored fraction.
    """
    def add(dv: DataValidation, cell: str) -> None:
        dv.error = dv.error or "Giá trị không hợp lệ cho mục này."
        dv.errorTitle, dv.showErrorMessage, dv.showInputMessage = "Trả lời không hợp lệ", True, True
        ws.add_data_validation(dv)
        dv.add(cell)

    for n, item in enumerate(index_set.items.values(), first_row):
        cell, points_cell = f"{_ANSWER_COL}{n}", f"{_POINTS_COL}{n}"
        cap = _num(item.max_points)
        if item.kind is AnswerKind.YES_NO:
            add(DataValidation(type="list", formula1='"có,không"', allow_blank=True,
                               error="Chọn «có» hoặc «không»."), cell)
        elif item.kind is AnswerKind.CHOICE:
            codes = ",".join(c.code for c in item.choices)
            if len(codes) <= 250:  # Excel's limit for an inline list
                add(DataValidation(type="list", formula1=f'"{codes}"', allow_blank=True,
                                   error="Chọn một mã trong danh sách: " + codes), cell)
        elif item.kind is AnswerKind.COUNT:
            add(DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                               error="Ghi một số nguyên từ 0 trở lên."), cell)
        elif item.kind is AnswerKind.PERCENTAGE:
            ws[cell].number_format = _PERCENT_FORMAT
            add(DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                               error="Ghi tỉ lệ từ 0% đến 100% (ví dụ 70 hoặc 70%)."), cell)
        else:
            add(DataValidation(type="decimal", operator="between", formula1="0", formula2=str(cap), allow_blank=True,
                               error=f"Ghi số điểm từ 0 đến {cap}."), cell)
        add(DataValidation(type="decimal", operator="between", formula1="0", formula2=str(cap), allow_blank=True,
                           error=f"Điểm cho phải từ 0 đến {cap}."), points_cell)


def write_answer_workbook(path: str | Path, index_set: IndexSet, answers: dict[str, Any] | None = None) -> Path:
    path = Path(path)
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook has one sheet
    ws.title = ANSWER_SHEET
    _header(ws, ANSWER_COLUMNS, [9, 60, 16, 60, 10, 14, 14, 50])
    ws.append([f"Bộ chỉ số {index_set.code}", index_set.title, "phiên bản", index_set.version, None, None, None,
               index_set.content_hash])
    for code, item in index_set.items.items():
        given = (answers or {}).get(code)
        value, points = (given.get("value"), given.get("points")) if isinstance(given, dict) else (given, None)
        if item.kind is AnswerKind.PERCENTAGE and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(Decimal(repr(value)) / 100)  # the cell is formatted %: 70 % is stored 0.7
        elif item.kind is AnswerKind.YES_NO and isinstance(value, bool):
            value = "có" if value else "không"
        ws.append([code, item.label, ANSWER_KIND_LABELS[item.kind], answer_hint(item), _num(item.max_points),
                   value, points, item.note or None])
    _answer_validations(ws, index_set, 3)
    return _save(wb, ws, path)


def read_answer_workbook(path: str | Path, index_set: IndexSet | None = None) -> tuple[str | None, dict[str, Any]]:
    """(index-set code written in the form, answers by item code); blank answers are left out.

    Percentages are read as the person meant them (`percent_value`). Given the index set, every
    answer is checked against its item, and the first unreadable ones are refused by cell address
    ("Ô F14: …"), nothing kept.
    """
    path = Path(path)
    _check_zip(path)
    try:
        wb = load_workbook(path, data_only=True, read_only=True)
    except Exception as exc:
        raise IndexSetError(f"Không đọc được tệp Excel {path.name}: {exc}") from None
    if ANSWER_SHEET not in wb.sheetnames:
        raise IndexSetError(f"Tệp {path.name} không có trang '{ANSWER_SHEET}' (tạo mẫu bằng: cdsflow score form)")
    code = digest = None
    answers: dict[str, Any] = {}
    where: dict[str, tuple[str, str]] = {}
    for n, read in enumerate(wb[ANSWER_SHEET].iter_rows(min_row=2), 2):
        cells = (tuple(read) + (None,) * 8)[:8]
        row = tuple(_cell(getattr(c, "value", None)) for c in cells)
        if n == 2 and isinstance(row[0], str) and row[0].startswith("Bộ chỉ số"):
            code = row[0].removeprefix("Bộ chỉ số").strip()
            digest = str(row[7]) if row[7] is not None else None
            continue
        item_code = _code(row[0])
        if item_code is None or (row[5] is None and row[6] is None):
            continue
        value = percent_value(row[5], getattr(cells[5], "number_format", "General") or "General")
        answers[item_code] = value if row[6] is None else {"value": value, "points": row[6]}
        where[item_code] = (f"{_ANSWER_COL}{n}", f"{_POINTS_COL}{n}")
    wb.close()
    if index_set is not None and code in (None, index_set.code):
        check_answer_version(index_set, digest, answers, path.name)
    if index_set is not None:
        _check_cells(index_set, answers, where, path.name)
        answers = {c: ({**v, "value": _stored_answer(index_set.items.get(c), v["value"])} if isinstance(v, dict)
                       else _stored_answer(index_set.items.get(c), v)) for c, v in answers.items()}
    return code, answers


def _check_cells(index_set: IndexSet, answers: dict[str, Any], where: dict[str, Any], name: str) -> None:
    problems = []
    for code, raw in answers.items():
        item = index_set.items.get(code)
        cell = where[code][0]
        if item is None:
            problems.append(f"Ô A{cell[1:]}: mã {code} không có trong bộ chỉ số {index_set.code}")
            continue
        # The answer alone first (its cell), then with the points given below the ceiling (theirs).
        problem = answer_problem(item, raw["value"] if isinstance(raw, dict) else raw)
        if problem is None and isinstance(raw, dict):
            problem, cell = answer_problem(item, raw), where[code][1]
        if problem is not None:
            problems.append(f"Ô {cell}: mục {code}: {problem}")
    if problems:
        raise InvalidInput(f"Phiếu trả lời {name}: {problems[0]}", details=problems if len(problems) > 1 else None)
