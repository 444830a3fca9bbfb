"""One school's dossier (hồ sơ) as the authority asks for it: a table of contents, the papers in the
calendar's order (the signed copy where one was uploaded, else the paper re-produced from the
register), then the evidence the school attached (files in the zip, links listed in the contents).

The order: the one given, else the calendar's `dossier:`, else the milestones' `documents` lists
in calendar order (the cover first), else the default of the Hải Phòng seed.
"""
from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from cdsflow.documents.build_templates import FIXED_ZIP_TIME
from cdsflow.documents.pdf import merge_pdfs, to_pdf
from cdsflow.documents.register import register_number
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Actor
from cdsflow.services import papers as service
from cdsflow.services import signatures
from cdsflow.services import signed_copies as signed
from cdsflow.services.scoring import list_evidence
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.filelimits import check_content
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone
from cdsflow.workflow.document_types import document_types

TOC_NAME = "00-muc-luc.docx"
EVIDENCE_FOLDER = "minh-chung"


@dataclass
class Item:
    """One line of the contents: a paper, a signed copy, an evidence file or an evidence link."""

    title: str
    reference: str  # số, ký hiệu (a paper, an evidence entry) or the link
    how: str  # bản đã ký / từ sổ / tạo mới / tệp / đường link
    name: str = ""  # name in the zip ('' for a link)
    content: bytes | None = None
    is_pdf: bool = False
    section: str = "papers"  # papers | evidence
    day: date | None = None  # a paper's date of issue (the cover is dated by the latest)


@dataclass
class Dossier:
    path: Path
    files: list[tuple[str, str]]  # (name in the zip, how it was obtained)
    missing: list[str]
    items: list[Item] = field(default_factory=list)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "x"


def _opens_as_pdf(path: Path, what: str, problems: list[str]) -> bool:
    """A stored PDF that does not open (stored before uploads were checked, or damaged since) is
    named in the contents and kept out of the merged PDF, instead of failing the whole dossier."""
    try:
        check_content(path, ".pdf", label=what)
    except InvalidInput as err:
        problems.append(f"{what}: tệp hỏng, không ghép vào hồ sơ PDF ({err.message})")
        return False
    return True


def calendar_order(engine: Engine, campaign_id: int) -> tuple[list[str], set[str]]:
    """(binding order, codes the school must supply) from the campaign's calendar: its `dossier:`
    list when it has one (every paper required), else its milestones' `documents` in calendar order
    (required: those of the school's own milestones); ([], ∅) when it says neither."""
    with UnitOfWork(engine) as uow:
        campaign = uow.session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
        if campaign.dossier:
            return list(campaign.dossier), set(campaign.dossier)
        rows = uow.session.execute(select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id)
                                   .order_by(col(CampaignMilestone.position), col(CampaignMilestone.id))).scalars().all()
    order: list[str] = []
    required: set[str] = set()
    for m in rows:
        for code in m.documents or []:
            if code not in order:
                order.append(code)
            if m.actor == Actor.SCHOOL:
                required.add(code)
    if not order:
        return [], set()
    return (["bia_ho_so"] if "bia_ho_so" not in order else []) + order, required | {"bia_ho_so"}


def build_dossier(engine: Engine, school_code: str, campaign_id: int, out_path: Path, *,
                  order: Sequence[str] | None = None, pdf: bool = False, timeout: float = 120,
                  uploads: Path | None = None) -> Dossier:
    if order:
        required = set(order)
    else:
        order, required = calendar_order(engine, campaign_id)
    if not order:
        order = service.dossier_order(None)
        required = set(order)
    order = service.dossier_order({"dossier": list(order)})  # unknown codes refused here
    types = document_types()
    entries: list[tuple[str, Item | None]] = []  # binding order; None: the cover, made last
    missing: list[str] = []
    missing_codes: list[str] = []
    for code in order:
        if code in service.UNNUMBERED:
            entries.append((code, None))
            continue
        item = _paper_item(engine, school_code, campaign_id, code, uploads, missing)
        if item is not None:
            entries.append((code, item))
        elif code in required:
            missing.append(types[code].name)
            missing_codes.append(code)
    # The cover lists exactly what the bundle holds, in its order, and names what is missing as missing.
    listed = [c for c in order if c in missing_codes or any(c == e and it is not None for e, it in entries)]
    items: list[Item] = []
    days = [it.day for _, it in entries if it is not None and it.day is not None]
    for n, (code, item) in enumerate(entries, 1):
        if item is None:  # dated by the latest paper it binds, not by the day the zip is made
            _, content = service.generate(engine, code, school_code=school_code, campaign_id=campaign_id,
                                          issued_on=max(days) if days else None,
                                          data={"dossier": listed, "dossier_missing": missing_codes})
            item = Item(types[code].name, "", "tạo mới", f"{code}.docx", content)
        item.name = f"{n:02d}-{item.name}"
        items.append(item)
    school_name = _evidence(engine, school_code, campaign_id, uploads, items, missing)
    toc = contents_docx(school_name, items, missing)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo(TOC_NAME, FIXED_ZIP_TIME), toc)
        for it in items:
            if it.content is not None:
                zf.writestr(zipfile.ZipInfo(it.name, FIXED_ZIP_TIME), it.content)
        if pdf:
            _add_pdfs(zf, school_code, toc, items, timeout)
    papers = [it for it in items if it.section == "papers"]
    return Dossier(path=out_path, files=[(it.name, it.how if it.how != "từ sổ" else it.reference or "từ sổ")
                                         for it in papers], missing=missing, items=items)


def _evidence(engine: Engine, school_code: str, campaign_id: int, uploads: Path | None, items: list[Item],
              missing: list[str]) -> str:
    """The school's evidence appended to `items` (files in the zip, links in the contents), the
    files gone from the disk to `missing`; returns the school's name."""
    from cdsflow.services import papers as service

    with UnitOfWork(engine) as uow:
        school = service._unit_by_code(uow.session, school_code)
        a = uow.session.execute(select(Assessment).where(Assessment.campaign_id == campaign_id,
                                                         Assessment.school_id == school.id)).scalar_one_or_none()
        evidence = list_evidence(uow.session, a.id) if a is not None else []
        school_name = school.name
    root = signed._uploads(uploads) / "evidence"
    for e in evidence:
        ref = ", ".join(x for x in (e.document_number, e.document_date.strftime("%d/%m/%Y") if e.document_date else "")
                        if x)
        title = f"Tiêu chí {e.criterion_code}: {e.title}"
        if e.file_path:
            path = root / Path(e.file_path).name
            if not path.is_file():
                missing.append(f"Tệp minh chứng «{e.title}» (tiêu chí {e.criterion_code})")
                continue
            is_pdf = path.suffix.lower() == ".pdf" and _opens_as_pdf(
                path, f"Tệp minh chứng «{e.title}» (tiêu chí {e.criterion_code})", missing)
            items.append(Item(title, ref, "tệp đính kèm",
                              f"{EVIDENCE_FOLDER}/{_safe(e.criterion_code)}-{e.id}{path.suffix.lower()}",
                              path.read_bytes(), is_pdf=is_pdf, section="evidence"))
        if e.link:
            items.append(Item(title, ref, e.link, section="evidence"))
    return school_name


def _paper_item(engine: Engine, school_code: str, campaign_id: int, code: str, uploads: Path | None,
                missing: list[str]) -> Item | None:
    """The paper of `code` in force for the school: its signed copy when uploaded, else re-produced
    from the register; None when it was never issued. A signed copy that does not open as a PDF is
    named in `missing` and kept out of the merged PDF instead of failing the dossier."""
    with UnitOfWork(engine) as uow:
        school = service._unit_by_code(uow.session, school_code)
        record = service._latest(uow.session, code, campaign_id, school.id)
        copy = signed.latest(uow.session, record.id) if record is not None else None
        check = signatures.checks_for(uow.session, signatures.SIGNED_COPY, [copy.id]).get(copy.id) if copy else None
    name = document_types()[code].name
    if record is None:
        return None
    number, day = register_number(record), date.fromisoformat(record.issued_on) if record.issued_on else None
    if copy is not None:
        path = signed.file_of(copy, uploads)
        readable = _opens_as_pdf(path, f"Bản đã ký của {name} {number}", missing)
        # A digital signature is named as the register names it: whose, when, and whether it holds.
        how = "bản đã ký" + (f" ({check.label})" if check is not None and check.signed else "")
        return Item(name, number, how, f"{code}-ban-ky.pdf", path.read_bytes(), is_pdf=readable, day=day)
    return Item(name, number, "từ sổ", f"{code}.docx", service.reproduce(engine, record.id), day=day)


def _add_pdfs(zf: zipfile.ZipFile, school_code: str, toc: bytes, items: list[Item], timeout: float) -> None:
    """Each paper as PDF (signed copies as uploaded) and one merged PDF with a bookmark per item:
    contents, papers, then the evidence that is PDF."""
    with tempfile.TemporaryDirectory(prefix="cdsflow-dossier-") as tmp:
        work = Path(tmp)
        docx = [(TOC_NAME, toc)] + [(it.name, it.content) for it in items
                                    if it.section == "papers" and it.name.endswith(".docx")]
        for name, content in docx:
            assert content is not None  # papers are rendered, only links have no content
            (work / name).write_bytes(content)
        pdfs = to_pdf([work / n for n, _ in docx], work / "pdf", timeout=timeout)
        converted = dict(zip([n for n, _ in docx], pdfs, strict=True))
        parts: list[tuple[Path, str]] = [(converted[TOC_NAME], "Mục lục")]
        for it in items:
            if it.content is None:
                continue
            if it.is_pdf:
                path = work / _safe(it.name)
                path.write_bytes(it.content)
                parts.append((path, it.title))
                if it.section == "papers":
                    continue  # already in the zip under its own name
            elif it.section == "papers" and it.name.endswith(".docx"):
                path = converted[it.name]
                zf.write(path, path.name)
                parts.append((path, it.title))
        merged = merge_pdfs([p for p, _ in parts], work / "ho-so.pdf", titles=[t for _, t in parts])
        zf.write(merged, f"ho-so-{_safe(school_code)}.pdf")


def contents_docx(school_name: str, items: list[Item], missing: list[str]) -> bytes:
    """MỤC LỤC HỒ SƠ: one table of the papers, one of the evidence (files and links), what is missing."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin, sec.right_margin, sec.top_margin, sec.bottom_margin = Cm(3), Cm(2), Cm(2), Cm(2)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)

    def heading(text: str, size: int = 14) -> None:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold, run.font.size = True, Pt(size)

    def table(header: Sequence[str], rows: list[Sequence[str]], widths: Sequence[float]) -> None:
        t = doc.add_table(rows=1, cols=len(header))
        t.style = "Table Grid"
        t.autofit = False
        for cell, text in zip(t.rows[0].cells, header, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
        for row in rows:
            for cell, text in zip(t.add_row().cells, row, strict=True):
                cell.text = text
        for column, width in zip(t.columns, widths, strict=True):  # TT narrow, names wide (16 cm of text)
            column.width = Cm(width)  # the grid LibreOffice reads; the cells' widths are Word's
            for cell in column.cells:
                cell.width = Cm(width)
        doc.add_paragraph()  # a heading never sticks to the table above it

    heading("MỤC LỤC HỒ SƠ")
    heading(school_name, 13)
    papers = [it for it in items if it.section == "papers"]
    evidence = [it for it in items if it.section == "evidence"]
    doc.add_paragraph().add_run("I. VĂN BẢN").bold = True
    table(("TT", "Tên văn bản", "Số, ký hiệu", "Bản trong hồ sơ", "Tệp"),
          [(str(n), it.title, it.reference, it.how, it.name) for n, it in enumerate(papers, 1)], (1.2, 6, 3.3, 2.5, 3))
    doc.add_paragraph().add_run("II. MINH CHỨNG").bold = True
    if evidence:
        table(("TT", "Minh chứng", "Số, ký hiệu, ngày", "Tệp hoặc đường link"),
              [(str(n), it.title, it.reference, it.name or it.how) for n, it in enumerate(evidence, 1)],
              (1.2, 7.3, 3.5, 4))
    else:
        doc.add_paragraph("Trường chưa đính kèm minh chứng.")
    if missing:
        doc.add_paragraph().add_run("III. CÒN THIẾU").bold = True
        for text in missing:
            doc.add_paragraph(f"- {text}")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()

