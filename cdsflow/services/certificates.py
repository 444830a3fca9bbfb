"""Giấy chứng nhận for every school a Quyết định công nhận recognised, in one run: one .docx per
school (issued and numbered now, or the one already issued re-produced byte for byte) and, when
LibreOffice is there, one merged PDF to print. PDF through documents/pdf.py as it is."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.pdf import merge_pdfs, to_pdf_parallel
from cdsflow.kernel.errors import NotFound
from cdsflow.services import papers as service
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import ISSUED, GeneratedDocument
from cdsflow.storage.tables import Unit
from cdsflow.workflow.context import ActorRef

CODE = "giay_chung_nhan"
PDF_CHUNK = 16  # files per LibreOffice call between two progress reports
MERGED = "giay-chung-nhan.pdf"


@dataclass
class CertificateRun:
    docx: list[Path] = field(default_factory=list)  # in print order (Vietnamese order of school names)
    issued: int = 0  # numbered in this run
    reproduced: int = 0  # already issued, re-produced
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (school code, why)
    pdf: Path | None = None


def _in_force(engine: Engine, campaign_id: int) -> list[tuple[GeneratedDocument, Unit]]:
    with UnitOfWork(engine) as uow:
        return list(uow.session.execute(
            select(GeneratedDocument, Unit).join(Unit, col(Unit.id) == GeneratedDocument.school_id)
            .where(GeneratedDocument.doc_type == CODE, GeneratedDocument.campaign_id == campaign_id,
                   col(GeneratedDocument.number).is_not(None), col(GeneratedDocument.status) == ISSUED)).all())


def print_certificates(engine: Engine, campaign_id: int, out_dir: Path, *, pdf: bool = True,
                       issued_on: date | None = None, actor: str | ActorRef = "", workers: int = 2,
                       progress: Callable[[str, int, int], None] | None = None) -> CertificateRun:
    """Issue the certificates not yet issued (the gate skips schools not recognised or not named by a
    numbered decision, with the reason), re-produce those already issued, then merge one PDF.
    `progress(phase, done, total)`: phase «Lập giấy chứng nhận» then «Chuyển sang PDF»."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run = CertificateRun()
    existing = _in_force(engine, campaign_id)
    with UnitOfWork(engine) as uow:  # a certificate whose decision fell is not handed out as valid
        todo = service.needs_action(uow.session, [d for d, _ in existing])
    run.skipped += [(u.code, todo[d.id]) for d, u in existing if d.id in todo]
    existing = [(d, u) for d, u in existing if d.id not in todo]
    done_codes = {u.code for _, u in existing} | {c for c, _ in run.skipped}
    for doc, unit in existing:
        (out_dir / service.file_name(doc, unit.code)).write_bytes(service.reproduce(engine, doc.id))
    run.reproduced = len(existing)
    result = service.generate_for_campaign(
        engine, CODE, campaign_id, out_dir, issued_on=issued_on, actor=actor, workers=workers,
        progress=(lambda d, t: progress("Lập giấy chứng nhận", d, t)) if progress else None)
    run.skipped += [(c, why) for c, why in result.skipped if c not in done_codes]
    run.issued = len(result.paths)
    names = {out_dir / service.file_name(doc, unit.code): unit.name for doc, unit in _in_force(engine, campaign_id)
             if doc.id not in todo}
    run.docx = sorted((p for p in names if p.exists()), key=lambda p: vn.text_sort_key(names[p]))
    if not run.docx:
        raise NotFound("Không có trường nào đủ điều kiện cấp Giấy chứng nhận trong kế hoạch này",
                       details=[f"{c}: {why}" for c, why in run.skipped[:20]])
    if pdf:
        pdf_dir = out_dir / "pdf"
        pdfs: list[Path] = []
        for start in range(0, len(run.docx), PDF_CHUNK):
            pdfs += to_pdf_parallel(run.docx[start:start + PDF_CHUNK], pdf_dir, workers=workers)
            if progress:
                progress("Chuyển sang PDF", len(pdfs), len(run.docx))
        run.pdf = merge_pdfs(pdfs, out_dir / MERGED)
    return run
