"""A calendar draft as an Excel workbook (openpyxl), with the columns of table.COLUMNS.

Sheet "Thông tin chung": one line per header field (Mục, Khóa, Giá trị). Sheet "Các mốc": one
column per milestone column, one milestone per row; its row numbers are the ones messages name.
A choice column (Đối tượng, Giai đoạn, Kênh, loại ngày…) carries a drop-down list of its Vietnamese
labels; where the format also takes free text (another milestone, "2" working days) the list only
suggests. Lists of one value per line (Căn cứ) are one cell with line breaks.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from cdsflow.assessment.xlsx import neutralise_formulas
from cdsflow.calendars import timeutil
from cdsflow.calendars.table import CHOICE, COLUMNS, HEADER, Column, Draft
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import fold
from cdsflow.storage.filelimits import check_xlsx

INFO_SHEET = "Thông tin chung"
MILESTONE_SHEET = "Các mốc"
FIRST_ROW = 2  # the header is row 1


def excel_row_label(index: int) -> str:
    """How a message names a milestone of the workbook: its row in the sheet "Các mốc"."""
    return f"Dòng {index + FIRST_ROW}"


def _example(col: Column) -> str:
    if col.kind == CHOICE:
        return "Chọn: " + ", ".join(label for _, label in col.choices) + (f" — hoặc {col.hint}" if col.hint else "")
    return f"Ví dụ: {col.hint}" if col.hint else ""


LAST_ROW = 500  # the drop-down lists cover the rows an officer may add


def _choices(col: Column, cells: str) -> DataValidation:
    dv = DataValidation(type="list", formula1='"' + ",".join(label for _, label in col.choices) + '"',
                        allow_blank=True, showErrorMessage=col.closed)
    dv.error = f"Chọn một giá trị trong danh sách của cột «{col.label}»"
    dv.errorTitle = "Giá trị không có trong danh sách"
    dv.add(cells)
    return dv


def write_calendar_workbook(draft: Draft, path: str | Path) -> Path:
    path = Path(path)
    wb = Workbook()
    info = wb.active
    assert isinstance(info, Worksheet)  # a new workbook has one sheet
    info.title = INFO_SHEET
    info.append(["Mục", "Khóa", "Giá trị", "Ví dụ"])
    for col in HEADER:
        info.append([col.label, col.key, _cell(col, draft.header.get(col.key, "")), _example(col) or None])
    ws = wb.create_sheet(MILESTONE_SHEET)
    ws.append([c.label for c in COLUMNS])
    for row in draft.rows:
        ws.append([_cell(c, row.get(c.key, "")) for c in COLUMNS])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for sheet in (info, ws):
        for cell in sheet[1]:
            cell.font, cell.fill = bold, fill
        sheet.freeze_panes = "A2"
        _style_body(sheet)
    for letter, width in zip("ABCD", (28, 14, 60, 40), strict=False):
        info.column_dimensions[letter].width = width
    for i, col in enumerate(HEADER, start=2):
        if col.kind == CHOICE:
            info.add_data_validation(_choices(col, f"C{i}"))
    for i, c in enumerate(COLUMNS):
        head = ws.cell(row=1, column=i + 1)
        ws.column_dimensions[head.column_letter].width = 50 if c.key == "title" else 22
        if _example(c):
            head.comment = Comment(_example(c), "cdsflow")
        if c.kind == CHOICE:
            ws.add_data_validation(_choices(c, f"{head.column_letter}{FIRST_ROW}:{head.column_letter}{LAST_ROW}"))
    neutralise_formulas(wb)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}))?$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _cell(col: Column, text: str) -> datetime | str | None:
    """What a cell holds: a day of a dated column is a real date cell shown dd/mm/yyyy (Excel sorts and
    filters it), a month is written 05/2025; anything else (a range, a note) stays text as typed."""
    text = (text or "").strip()
    if not text:
        return None
    if col.dated:
        text = timeutil.iso_dates(text)
    if col.dated and (m := _ISO_DAY.match(text)):
        y, mo, d, hh, mm = m.groups()
        if hh is None:
            return datetime(int(y), int(mo), int(d))
        if (hh, mm) == ("24", "00"):  # "24:00" has no cell form: the end of that day is kept as written
            return text
        return datetime(int(y), int(mo), int(d), int(hh), int(mm))
    if col.dated and (m := _ISO_MONTH.match(text)):
        return f"{m.group(2)}/{m.group(1)}"
    return text


def _style_body(sheet: Worksheet) -> None:
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, datetime):  # shown as Vietnamese write it
                timed = (cell.value.hour, cell.value.minute) != (0, 0)
                cell.number_format = "dd/mm/yyyy hh:mm" if timed else "dd/mm/yyyy"


def _text(value: Any) -> str:
    # Excel turns a typed date into a date cell: give it back in the format's own form.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def read_calendar_workbook(path: str | Path) -> Draft:
    """The draft a workbook holds; an unknown sheet layout or column is refused by name."""
    path = Path(path)
    check_xlsx(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken file
        raise InvalidInput(f"Không đọc được tệp Excel {path.name}") from None
    try:
        missing = [s for s in (INFO_SHEET, MILESTONE_SHEET) if s not in wb.sheetnames]
        if missing:
            raise InvalidInput(f"Tệp {path.name} thiếu trang tính {', '.join('«' + s + '»' for s in missing)}",
                               details=["Hãy dùng tệp xuất từ cdsflow (cdsflow calendar export hoặc nút Xuất Excel)"])
        by_name = {fold(c.label): c.key for c in HEADER} | {c.key: c.key for c in HEADER}
        draft = Draft()
        problems: list[str] = []
        for n, row in enumerate(wb[INFO_SHEET].iter_rows(min_row=2, values_only=True), start=2):
            cells = [*row, None, None, None][:3]
            if not any(_text(c) for c in cells):
                continue
            key = by_name.get(_text(cells[1])) or by_name.get(fold(_text(cells[0])))
            if key is None:
                problems.append(f"Trang «{INFO_SHEET}», dòng {n}: mục «{_text(cells[0]) or _text(cells[1])}» không có trong lịch")
                continue
            if _text(cells[2]):
                draft.header[key] = _text(cells[2])
        labels = {fold(c.label): c.key for c in COLUMNS} | {c.key: c.key for c in COLUMNS}
        rows = wb[MILESTONE_SHEET].iter_rows(values_only=True)
        first = next(rows, ())
        columns = [labels.get(fold(_text(h))) if _text(h) else None for h in first]
        unknown = [_text(h) for h, k in zip(first, columns, strict=False) if k is None and _text(h)]
        if unknown:
            problems.append(f"Trang «{MILESTONE_SHEET}», dòng 1: không hiểu cột "
                            f"{', '.join('«' + u + '»' for u in unknown)} (các cột: {', '.join(c.label for c in COLUMNS)})")
        for row in rows:
            draft.rows.append({k: _text(v) for k, v in zip(columns, row, strict=False) if k and _text(v)})
    finally:
        wb.close()
    if problems:
        raise InvalidInput(f"Tệp {path.name} không nhập được: {problems[0]}", details=problems[1:])
    return draft
