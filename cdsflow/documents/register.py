"""The number register (§6): numbers per issuing unit, year and series, never reused.

A counter row per (unit, year, series) is bumped with one `UPDATE … SET last_number =
last_number + 1 … RETURNING`, so concurrent issuers serialise on that row (PostgreSQL row lock,
SQLite write lock) and no number is handed out twice. The number is taken in the same
transaction that stores the generated document: a rollback gives the number back unused.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from cdsflow.assessment.xlsx import neutralise_formulas
from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage.documents_tables import ISSUED, REPLACED, VOIDED, DocumentCounter, GeneratedDocument
from cdsflow.storage.tables import Unit
from cdsflow.workflow.document_types import document_types

KEYINGS = ("unit_year_type", "unit_year")
ALL_TYPES = "*"
COUNCIL_PREFIX = "HĐ:"  # a council issuing in its own name keeps its own series


def series_for(doc_type: str, *, keying: str = "unit_year_type", council: bool = False) -> str:
    """The register series of a paper: one per kind of its unit's book and year (its NĐ 30 type
    code; every công văn in one series), or '*' when a unit numbers all types in one run; a council
    issuing in its own name keeps its own book."""
    if keying not in KEYINGS:
        raise InvalidInput(f"Cách đánh số không hợp lệ: «{keying}»", details=[f"chọn: {', '.join(KEYINGS)}"])
    dtype = document_types().get(doc_type)
    if dtype is None:
        raise InvalidInput(f"Loại văn bản không có trong danh mục: «{doc_type}»")
    base = ALL_TYPES if keying == "unit_year" else dtype.register_series
    return f"{COUNCIL_PREFIX}{base}" if council else base


def next_number(session: Session, unit_id: int, year: int, series: str) -> int:
    """Take the next number of a series inside the caller's transaction (make it the first write)."""
    bump = (
        update(DocumentCounter)
        .where(DocumentCounter.unit_id == unit_id, DocumentCounter.year == year, DocumentCounter.series == series)
        .values(last_number=DocumentCounter.last_number + 1)
        .returning(DocumentCounter.last_number)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(DocumentCounter)
            .values(unit_id=unit_id, year=year, series=series, last_number=0)
            .on_conflict_do_nothing()
        )
        number = session.execute(bump).scalar_one()
    return number


def register_rows(session: Session, unit_id: int | None = None) -> list[GeneratedDocument]:
    """The register as a clerk reads it: numbered papers by unit, year, series and number."""
    stmt = select(GeneratedDocument).where(GeneratedDocument.number.is_not(None))
    if unit_id is not None:
        stmt = stmt.where(GeneratedDocument.unit_id == unit_id)
    stmt = stmt.order_by(GeneratedDocument.unit_id, GeneratedDocument.year, GeneratedDocument.series,
                         GeneratedDocument.number)
    return list(session.execute(stmt).scalars())


# How a paper of a type is named in a citation or in the register: Quyết định, Biên bản, …
KIND_WORDS = {"QĐ": "Quyết định", "BB": "Biên bản", "TTr": "Tờ trình", "BC": "Báo cáo", "KH": "Kế hoạch",
              "TB": "Thông báo", "DS": "Danh sách"}


# Papers without a type code, named short in a citation («Giấy chứng nhận số 01/GCN-…», not «… chuyển đổi số số 01»).
CODE_WORDS = {"giay_chung_nhan": "Giấy chứng nhận", "cong_van_nhac": "Công văn", "cong_van_trien_khai": "Công văn"}


def kind_word(doc_type: str) -> str:
    dtype = document_types()[doc_type]
    return CODE_WORDS.get(doc_type) or KIND_WORDS.get(dtype.type_code or "", dtype.name)


STATUS_LABELS = {ISSUED: "", VOIDED: "Đã hủy", REPLACED: "Đã bị thay thế"}
COLUMNS = ["Số", "Ký hiệu", "Ngày", "Tên loại và trích yếu nội dung", "Người ký", "Nơi nhận", "Đơn vị",
           "Ghi chú"]


@dataclass(frozen=True)
class RegisterLine:
    """One line of the sổ đăng ký văn bản đi (Phụ lục IV of NĐ 30), built from the stored paper."""

    id: int
    number: str  # "07"
    code: str  # "QĐ-THHT"
    day: str  # "05/3/2026"
    title: str  # "Quyết định thành lập … — Về việc …"
    signer: str
    recipients: str
    unit: str  # the issuing unit's name
    note: str  # voided / replaced / replaces / warnings

    def cells(self) -> list[str]:
        return [self.number, self.code, self.day, self.title, self.signer, self.recipients, self.unit, self.note]


def register_number(doc: GeneratedDocument) -> str:
    """`01/GCN-PGDĐT`: the number and code a paper has in the register (a certificate has no «Số:» line)."""
    if doc.number is None:
        return ""
    code = (doc.context or {}).get("document_code", "")
    return doc.number_line.removeprefix("Số: ") or (f"{doc.number:02d}/{code}" if code else f"{doc.number:02d}")


def _vn_date(iso: str) -> str:
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def register_line(doc: GeneratedDocument, unit_name: str, replaced_number: str = "", action: str = "") -> RegisterLine:
    """`action`: why the paper needs the clerk (a paper it cites fell), first in its notes."""
    ctx = doc.context or {}
    subject = ctx.get("subject") or ""
    kind = kind_word(doc.doc_type) if doc.doc_type in document_types() else doc.doc_type
    title = kind if not subject or subject.lower() == kind.lower() else f"{kind} {subject[:1].lower() + subject[1:]}"
    recipients = [r.lstrip("- ").rstrip(";.") for r in ctx.get("recipients") or []]
    archive = (ctx.get("archive_line") or "").lstrip("- ").rstrip(".")
    notes = [x for x in (action, STATUS_LABELS.get(doc.status, ""),
                         f"thay thế {replaced_number}" if replaced_number else "",
                         f"lý do: {doc.reason}" if doc.reason else "", doc.note) if x]
    number = f"{doc.number:02d}" if doc.number else ""
    return RegisterLine(doc.id, number, ctx.get("document_code", ""), _vn_date(doc.issued_on), title,
                        (ctx.get("signature") or {}).get("name", ""), "; ".join([*recipients, archive] if archive
                                                                                 else recipients),
                        unit_name, "; ".join(notes))


def register_lines(session: Session, unit_id: int | None = None,
                   actions: Callable[[list[GeneratedDocument]], Mapping[int, str]] | None = None) -> list[RegisterLine]:
    """The register as a clerk reads it, drafts left out (they have no number); `actions` says which
    papers need the clerk (services/papers.needs_action)."""
    docs = register_rows(session, unit_id)
    todo = actions(docs) if actions else {}
    names = dict(session.execute(select(Unit.id, Unit.name)).all())
    by_id = {d.id: d for d in docs}
    out = []
    for d in docs:
        replaced = by_id.get(d.replaces_id) if d.replaces_id else None
        if d.replaces_id and replaced is None:
            replaced = session.get(GeneratedDocument, d.replaces_id)
        out.append(register_line(d, names.get(d.unit_id, ""), register_number(replaced) if replaced else "",
                                 todo.get(d.id, "")))
    return out


_VN_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def register_xlsx(lines: list[RegisterLine], title: str = "SỔ ĐĂNG KÝ VĂN BẢN ĐI") -> bytes:
    """The register as an Excel workbook: every cell plain text but the day, a date cell."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "So van ban di"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(COLUMNS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for line in lines:
        ws.append([str(v) for v in line.cells()])
    for col, width in zip("ABCDEFGH", (8, 16, 12, 60, 24, 50, 40, 40), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A3"  # the title and the column names stay while the clerk scrolls
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.data_type = "s"
        day = row[2]  # "Ngày": a real date cell (Excel sorts and filters it), shown dd/mm/yyyy
        if isinstance(day.value, str) and (m := _VN_DAY.match(day.value)):
            day.value = datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            day.number_format = "dd/mm/yyyy"
    # Excel's quote prefix, as every other workbook: shown exactly as typed (no visible apostrophe), never run.
    neutralise_formulas(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
