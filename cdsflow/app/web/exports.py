"""Excel files an officer takes away: the schools list with results, the results table for the
sector database (CSDL ngành) and the overdue list.

One writer for all of them: a bold, frozen header row with a filter, column widths, dates as real
date cells shown dd/mm/yyyy (Excel and LibreOffice sort and filter them as dates), and every text
that a spreadsheet would run as a formula stored as text (as `assessment/xlsx.py` does).
Written in openpyxl's write-only mode, so a province of 54,000 schools streams row by row.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cdsflow.assessment.xlsx import FORMULA_PREFIXES
from cdsflow.calendars.timeutil import local
from cdsflow.services.listing import SchoolLine

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE7F0")
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    title: str
    width: float


def _cell(ws, value):
    if isinstance(value, datetime):
        value = local(value).date()  # the day in Vietnam, not in UTC
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, date):
        cell.number_format = "dd/mm/yyyy"
    elif isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"  # shown as typed, never run
        cell.quotePrefix = True
    return cell


def workbook(sheet_title: str, heading: str, columns: Sequence[Column], rows: Iterable[Sequence]) -> bytes:
    """A one-sheet workbook: a title line, the header row, then `rows`."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title[:31])
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A3"
    title = WriteOnlyCell(ws, value=heading)
    title.font = Font(bold=True, size=13)
    ws.append([title])
    head = []
    for col in columns:
        c = WriteOnlyCell(ws, value=col.title)
        c.font, c.fill, c.alignment = _HEAD_FONT, _HEAD_FILL, _WRAP
        head.append(c)
    ws.append(head)
    n = 0
    for row in rows:
        ws.append([_cell(ws, v) for v in row])
        n += 1
    ws.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{n + 2}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _level(value: int | None, scored: bool) -> str:
    if not scored:
        return ""
    return f"Mức {value}" if value else "Chưa đạt mức"


SCHOOL_COLUMNS = (
    Column("Mã đơn vị", 14), Column("Tên cơ sở giáo dục", 42), Column("Phòng/xã, phường", 30), Column("Cấp học", 12),
    Column("Giai đoạn", 24), Column("Tự đánh giá nhóm 1 (điểm)", 12), Column("Tự đánh giá nhóm 1 (mức)", 14),
    Column("Tự đánh giá nhóm 2 (điểm)", 12), Column("Tự đánh giá nhóm 2 (mức)", 14),
    Column("Đánh giá ngoài nhóm 1 (điểm)", 12), Column("Đánh giá ngoài nhóm 1 (mức)", 14),
    Column("Đánh giá ngoài nhóm 2 (điểm)", 12), Column("Đánh giá ngoài nhóm 2 (mức)", 14),
    Column("Số lần gửi tờ trình", 10), Column("Ngày gửi tờ trình", 13), Column("Số ngày chậm", 10),
    Column("Mốc chậm", 30),
)


def schools_xlsx(lines: Iterable[SchoolLine], heading: str) -> bytes:
    """The schools list as filtered on the page, every result column included."""
    rows = ((x.code, x.name, x.bureau, x.school_level, x.stage.label,
             x.self1, _level(x.self1_level, x.self1 is not None), x.self2, _level(x.self2_level, x.self2 is not None),
             x.ext1, _level(x.ext1_level, x.ext1 is not None), x.ext2, _level(x.ext2_level, x.ext2 is not None),
             x.sends or None, x.submitted_at, x.days_late, x.late_milestone) for x in lines)
    return workbook("Danh sach truong", heading, SCHOOL_COLUMNS, rows)


RESULT_COLUMNS = (Column("Mã đơn vị", 14), Column("Tên cơ sở giáo dục", 42), Column("Điểm nhóm 1", 12),
                  Column("Mức nhóm 1", 14), Column("Điểm nhóm 2", 12), Column("Mức nhóm 2", 14),
                  Column("Nguồn kết quả", 18), Column("Giai đoạn", 24))


def results_xlsx(lines: Iterable[SchoolLine], heading: str) -> bytes:
    """What the CSDL ngành update asks per school: code, name, points and level per group; the
    points are the review's when it scored every item, else the school's own (and says which)."""
    def row(x: SchoolLine):
        external = x.review_counts
        g1, g2 = (x.ext1, x.ext2) if external else (x.self1, x.self2)
        return (x.code, x.name, g1, _level(x.level1, g1 is not None), g2, _level(x.level2, g2 is not None),
                "Đánh giá ngoài" if external else ("Tự đánh giá" if g1 is not None else ""), x.stage.label)

    return workbook("Ket qua CSDL nganh", heading, RESULT_COLUMNS, (row(x) for x in lines))


OVERDUE_COLUMNS = (Column("Mã đơn vị", 14), Column("Tên cơ sở giáo dục", 42), Column("Phòng/xã, phường", 30),
                   Column("Giai đoạn", 24), Column("Mốc chậm", 34), Column("Số ngày chậm", 10),
                   Column("Số lần gửi tờ trình", 10))


def overdue_xlsx(lines: Iterable[SchoolLine], heading: str) -> bytes:
    rows = ((x.code, x.name, x.bureau, x.stage.label, x.late_milestone, x.days_late, x.sends or None) for x in lines)
    return workbook("Truong cham han", heading, OVERDUE_COLUMNS, rows)
