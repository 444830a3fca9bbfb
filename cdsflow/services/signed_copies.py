"""Signed copies: after signing, the clerk uploads the scanned or digitally signed PDF of a numbered
paper. Who may is the rulebook's (`upload_signed_school_paper`, `upload_signed_authority_paper`);
the file is checked to be a PDF before it is stored under uploads/signed/."""
from __future__ import annotations

import hashlib
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.home import uploads_dir
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import authorization, signatures
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import VOIDED, GeneratedDocument, SignedCopy
from cdsflow.storage.filelimits import check_pdf
from cdsflow.storage.tables import Assessment
from cdsflow.workflow.context import ActorRef

FOLDER = "signed"
SCHOOL_ACTION, AUTHORITY_ACTION = "upload_signed_school_paper", "upload_signed_authority_paper"


def _uploads(uploads: Path | None) -> Path:
    if uploads is not None:
        return Path(uploads)

    return uploads_dir()


def action_for(doc: GeneratedDocument) -> str:
    """A school's own paper (issued in its name, or by its council) is the school's to upload;
    any other is the issuing authority's."""
    return SCHOOL_ACTION if doc.school_id is not None and doc.unit_id == doc.school_id else AUTHORITY_ACTION


def check_paper_act(session: Session, actor: ActorRef, doc: GeneratedDocument, *, school_action: str,
                    authority_action: str, now: datetime | None = None) -> None:
    """Ask the rulebook about an act on a numbered paper (uploading its signed copy, signing it):
    the school's line with the facts of its file for a school's own paper, else the campaign's."""
    if doc.campaign_id is None:
        raise InvalidInput(f"Văn bản {doc.number_line} không thuộc kế hoạch nào")
    if action_for(doc) == SCHOOL_ACTION:
        a = session.execute(select(Assessment).where(Assessment.campaign_id == doc.campaign_id,
                                                     Assessment.school_id == doc.school_id)).scalar_one_or_none()
        if a is None:
            raise NotFound(f"Không tìm thấy hồ sơ đánh giá của trường cho văn bản {doc.number_line}")
        authorization.check_school(session, actor, school_action, a, now=now)
    else:
        authorization.check_campaign(session, actor, authority_action, doc.campaign_id, now=now)


def check_may_upload(session: Session, actor: ActorRef, doc: GeneratedDocument) -> None:
    check_paper_act(session, actor, doc, school_action=SCHOOL_ACTION, authority_action=AUTHORITY_ACTION)


def numbered_paper(session: Session, document_id: int, act: str = "gắn bản đã ký") -> GeneratedDocument:
    """A numbered paper in force, for an act on it (`act`, as the refusal names it)."""
    doc = session.get(GeneratedDocument, document_id)
    if doc is None:
        raise NotFound(f"Không tìm thấy văn bản có mã lưu {document_id} trong sổ")
    if doc.number is None:
        raise InvalidInput(f"Dự thảo chưa cấp số: chỉ {act} cho văn bản đã cấp số")
    if doc.status == VOIDED:
        raise InvalidInput(f"Văn bản {doc.number_line} đã hủy: không {act}")
    return doc


def upload_as(engine: Engine, document_id: int, source: Path, by: str, unit_code: str | None = None) -> SignedCopy:
    """`upload` for a person named by hand (the CLI): acting for `unit_code`, by default for the unit
    that issued the paper."""
    with UnitOfWork(engine) as uow:
        doc = uow.session.get(GeneratedDocument, document_id)
        if doc is None:
            raise NotFound(f"Không tìm thấy văn bản có mã lưu {document_id} trong sổ")
        unit_id = get_unit(uow, unit_code).id if unit_code else doc.unit_id
    if not source.is_file():
        raise InvalidInput(f"Không tìm thấy tệp {source}")
    return upload(engine, document_id, source, ActorRef(by, unit_id))


def number_line(engine: Engine, document_id: int) -> str | None:
    """The number line of a paper in the register (None while it has no number)."""
    with UnitOfWork(engine) as uow:
        return numbered_paper(uow.session, document_id).number_line


def upload(engine: Engine, document_id: int, source: Path, actor: ActorRef, *, original_name: str = "",
           uploads: Path | None = None) -> SignedCopy:
    """Check `source` is a PDF within the limit, then store it as the paper's signed copy. Refused
    (wrong file, not allowed, not a numbered paper): nothing is stored."""
    size = check_pdf(source)
    try:
        name = clean_text(original_name or Path(source).name, field="tên tệp")[:255]
    except TextError as exc:
        raise InvalidInput(str(exc)) from None
    folder = _uploads(uploads) / FOLDER
    target = folder / f"{uuid.uuid4().hex}.pdf"
    with UnitOfWork(engine) as uow:
        doc = numbered_paper(uow.session, document_id)
        check_may_upload(uow.session, actor, doc)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        try:
            row = SignedCopy(document_id=doc.id, file_path=target.name, size=size, original_name=name,
                             sha256=hashlib.sha256(target.read_bytes()).hexdigest(), uploaded_by=actor.name,
                             uploaded_at=datetime.now(UTC))
            uow.session.add(row)
            uow.session.flush()
            # A digitally signed PDF is checked as it arrives: the register then says whose
            # signature it carries and whether it holds (a file changed after signing does not).
            signatures.check_file(uow.session, signatures.SIGNED_COPY, row.id, target, doc.unit_id)
            uow.commit()
            uow.session.refresh(row)
        except BaseException:
            target.unlink(missing_ok=True)  # a refused commit leaves no orphan file
            raise
        return row


def latest(session: Session, document_id: int) -> SignedCopy | None:
    return session.execute(select(SignedCopy).where(SignedCopy.document_id == document_id)
                           .order_by(col(SignedCopy.id).desc()).limit(1)).scalar_one_or_none()


def latest_by_document(session: Session, document_ids: list[int]) -> dict[int, SignedCopy]:
    """The latest signed copy of each paper that has one (for a register page, in one query)."""
    if not document_ids:
        return {}
    out: dict[int, SignedCopy] = {}
    for row in session.execute(select(SignedCopy).where(col(SignedCopy.document_id).in_(document_ids))
                               .order_by(col(SignedCopy.id))).scalars():
        out[row.document_id] = row
    return out


def file_of(copy: SignedCopy, uploads: Path | None = None) -> Path:
    """The stored file; only our generated names directly under uploads/signed."""
    root = (_uploads(uploads) / FOLDER).resolve()
    path = (root / Path(copy.file_path).name).resolve()
    if path.parent != root or not path.is_file():
        raise NotFound(f"Không tìm thấy tệp bản đã ký số {copy.id}")
    return path
