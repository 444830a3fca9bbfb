"""Documents for the web: the register of the units in scope, downloads (.docx, .pdf when LibreOffice
is there), one school's dossier zip, and generating papers. The documents service does the work."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cdsflow.app.web.access import actor, allowed, assessment_for, campaign_for, require, unit_in_scope
from cdsflow.app.web.actions import Confirmation
from cdsflow.documents.build_templates import FIXED_ZIP_TIME
from cdsflow.documents.pdf import to_pdf
from cdsflow.documents.register import RegisterLine, register_line
from cdsflow.documents.register import register_xlsx as to_xlsx
from cdsflow.kernel.errors import Forbidden, InvalidInput, NotFound
from cdsflow.services import authorization, long_lists, paper_register
from cdsflow.services import dossier as dossier_svc
from cdsflow.services import papers as doc_svc
from cdsflow.services import signed_copies as signed
from cdsflow.services.accounts import Principal
from cdsflow.services.campaigns import find_campaign
from cdsflow.services.certificates import print_certificates
from cdsflow.services.signed_copies import latest_by_document
from cdsflow.services.steering import (
    STEERING_ROLES,  # noqa: F401  (the page's role choices)
    SteeringInput,
    set_steering,
    steering_members,
)
from cdsflow.services.units import find_unit, unit_by_id
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import Assessment, Campaign, Unit
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.document_types import document_types


@dataclass(frozen=True)
class DocRow:
    id: int
    unit: str
    school: str
    doc_type: str
    type_name: str
    number_line: str
    issued_on: str
    line: RegisterLine | None = None  # the sổ's columns; None for a draft
    status: str = "issued"
    signed: bool = False  # a signed copy was uploaded (download: /documents/{id}/signed.pdf)
    signature: str = ""  # what checking the signed copy's digital signature found («đã ký số: …»)
    signature_valid: bool = False


def _type_name(code: str) -> str:
    t = document_types().get(code)
    return t.name if t else code


def register(uow: UnitOfWork, p: Principal, *, school_id: int | None = None, limit: int = 500,
             drafts: bool = False) -> list[DocRow]:
    """Register lines the principal may see (issued by, or concerning, a unit in scope), newest
    first; drafts are not in the register (`drafts=True` lists only them)."""
    out: list[DocRow] = []
    for r in paper_register.register_rows(uow, lambda unit_id: unit_in_scope(uow, p, unit_id, "download_paper"),
                                          school_id=school_id,
                                          limit=limit, drafts=drafts):
        d = r.document
        line = None if drafts else register_line(d, r.unit_name, r.replaced_number_line.removeprefix("Số: "),
                                                 doc_svc.needs_action(uow.session, [d]).get(d.id, ""))
        out.append(DocRow(d.id, r.unit_code, r.school_code, d.doc_type, _type_name(d.doc_type), d.number_line,
                          d.issued_on, line, d.status))
    if not drafts:
        out = _with_signatures(uow, out)
    return out


def register_list(uow: UnitOfWork, p: Principal, params, *, school_id: int | None = None):
    """(the page, its DocRows) of the register the principal may see, searched, filtered, sorted and
    paged in SQL (`long_lists.register_page`)."""
    scope = authorization.readable_units(actor(p), "download_paper")
    types = {code: t.name for code, t in document_types().items()}
    page = long_lists.register_page(uow.session, params, types, scope, school_id=school_id)
    replaced_ids = [d.replaces_id for d, *_ in page.rows if d.replaces_id]
    replaced = paper_register.number_lines(uow, replaced_ids)
    todo = doc_svc.needs_action(uow.session, [d for d, *_ in page.rows])
    out = [DocRow(d.id, unit_code, school_code or "", d.doc_type, _type_name(d.doc_type), d.number_line, d.issued_on,
                  register_line(d, unit_name, replaced.get(d.replaces_id, ""), todo.get(d.id, "")),
                  d.status)
           for d, unit_code, unit_name, school_code in page.rows]
    return page, _with_signatures(uow, out)


def _with_signatures(uow: UnitOfWork, rows: list[DocRow]) -> list[DocRow]:
    """Mark the rows that have a signed copy, with what its digital signature check found."""
    from dataclasses import replace

    from cdsflow.services.signing import signature_labels

    have = latest_by_document(uow.session, [r.id for r in rows])
    checks = signature_labels(uow.session, [c.id for c in have.values()])
    out = []
    for r in rows:
        copy = have.get(r.id)
        check = checks.get(copy.id) if copy is not None else None
        out.append(replace(r, signed=copy is not None, signature=check.label if check and check.signed else "",
                           signature_valid=bool(check and check.valid)) if copy is not None else r)
    return out


def _document(uow: UnitOfWork, p: Principal, document_id: int) -> GeneratedDocument:
    d = paper_register.find_document(uow, document_id)
    if d is None or not unit_in_scope(uow, p, d.school_id or d.unit_id, "download_paper"):
        raise NotFound(f"Không tìm thấy văn bản số {document_id} trong sổ")
    return d


def download(uow: UnitOfWork, p: Principal, document_id: int, *, pdf: bool = False) -> tuple[bytes, str, str]:
    """(content, file name, media type): the stored paper re-produced byte for byte."""
    d = _document(uow, p, document_id)
    school = unit_by_id(uow, d.school_id).code if d.school_id else None
    name = doc_svc.file_name(d, school)
    content = doc_svc.valid_copy(uow.engine, d.id)  # refused while a paper it cites is voided or replaced
    if not pdf:
        return content, name, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    with tempfile.TemporaryDirectory(prefix="cdsflow-web-") as tmp:
        src = Path(tmp) / name
        src.write_bytes(content)
        out = to_pdf([src], Path(tmp) / "pdf")[0]
        return out.read_bytes(), Path(name).with_suffix(".pdf").name, "application/pdf"


def pdf_available() -> bool:
    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


def dossier(uow: UnitOfWork, p: Principal, assessment_id: int, out_dir: Path,
            uploads: Path | None = None, *, pdf: bool = False) -> tuple[Path, list[str]]:
    """The school's dossier zip; with `pdf`, it also holds the whole dossier bound as one PDF."""
    a = assessment_for(uow, p, assessment_id)
    school = unit_by_id(uow, a.school_id)
    out = out_dir / f"ho-so-{school.code}.zip"
    result = dossier_svc.build_dossier(uow.engine, school.code, a.campaign_id, out, uploads=uploads, pdf=pdf)
    return result.path, result.missing


def school_types() -> list[tuple[str, str]]:
    return [(c, _type_name(c)) for c in document_types() if c in doc_svc.SCHOOL_TYPES | doc_svc.PER_SCHOOL_AUTHORITY_TYPES]


def campaign_types() -> list[tuple[str, str]]:
    return [(c, _type_name(c)) for c in document_types() if c in doc_svc.SUPPORTED and c != "bia_ho_so"]


def _school_paper_target(uow: UnitOfWork, p: Principal, assessment_id: int, code: str) -> tuple[Assessment, Unit]:
    """(the school's file, the school) when the principal may make this paper for it."""
    a = assessment_for(uow, p, assessment_id)
    if not (allowed(p, "issue_school_paper") or allowed(p, "issue_authority_paper")):
        raise Forbidden("Tài khoản của bạn không lập được văn bản.")
    if code not in doc_svc.SCHOOL_TYPES | doc_svc.PER_SCHOOL_AUTHORITY_TYPES:
        raise InvalidInput(f"Loại văn bản «{code}» không lập cho từng trường")
    authority = code in doc_svc.PER_SCHOOL_AUTHORITY_TYPES
    require(p, "issue_authority_paper" if authority else "issue_school_paper")
    if p.role.school_side and authority:
        raise Forbidden("Văn bản này do cấp trên ban hành.")
    return a, unit_by_id(uow, a.school_id)


def generate_for_school(uow: UnitOfWork, p: Principal, assessment_id: int, code: str, *, draft: bool = False,
                        on_existing: str | None = None, reason: str = "") -> GeneratedDocument:
    a, school = _school_paper_target(uow, p, assessment_id, code)
    record, _ = doc_svc.generate(uow.engine, code, school_code=school.code, campaign_id=a.campaign_id,
                                 actor=actor(p), draft=draft, on_existing=on_existing or None, reason=reason)
    return record


def generate_for_campaign(uow: UnitOfWork, p: Principal, campaign_id: int, code: str, out_root: Path, *,
                          on_existing: str | None = None, reason: str = "") -> doc_svc.BulkResult:
    """One paper per school that qualifies (or the campaign-wide paper), numbered and stored in
    the register; the schools skipped are returned with the reason."""
    require(p, "issue_authority_paper")
    campaign_for(uow, p, campaign_id)
    if code not in doc_svc.SUPPORTED:
        raise InvalidInput(f"Loại văn bản không có: «{code}»")
    return _generate_all(uow.engine, p, campaign_id, code, out_root, on_existing=on_existing, reason=reason)


def _generate_all(engine, p: Principal, campaign_id: int, code: str, out_root: Path, *,
                  on_existing: str | None = None, reason: str = "") -> doc_svc.BulkResult:
    with tempfile.TemporaryDirectory(dir=_mkdir(out_root)) as tmp:
        return doc_svc.generate_for_campaign(engine, code, campaign_id, Path(tmp), actor=actor(p), workers=1,
                                             on_existing=on_existing or None, reason=reason)


# A campaign this small gets its papers within the request; a bigger one behind a progress page.
INLINE_SCHOOLS = 200


def generate_in_background(uow: UnitOfWork, p: Principal, campaign_id: int, code: str, out_root: Path, *,
                           on_existing: str | None = None, reason: str = ""):
    """None when the campaign is small (the caller runs it in the request); else the checks done
    here and the run to start after the response (its progress page follows)."""
    require(p, "issue_authority_paper")
    campaign_for(uow, p, campaign_id)
    if code not in doc_svc.SUPPORTED:
        raise InvalidInput(f"Loại văn bản không có: «{code}»")
    if code in doc_svc.CAMPAIGN_TYPES or doc_svc.campaign_school_count(uow.engine, campaign_id) <= INLINE_SCHOOLS:
        return None
    engine = uow.engine

    def run() -> None:  # a failure is kept in the run's record and shown on its page
        _generate_all(engine, p, campaign_id, code, out_root, on_existing=on_existing, reason=reason)
    return run


def paper_run(uow: UnitOfWork, p: Principal, campaign_id: int, code: str) -> doc_svc.PaperRunSummary:
    require(p, "issue_authority_paper")
    campaign_for(uow, p, campaign_id)
    return doc_svc.paper_run(uow, campaign_id, code)


def paper_run_details(uow: UnitOfWork, p: Principal, campaign_id: int, code: str) -> tuple[str, object]:
    summary = paper_run(uow, p, campaign_id, code)
    return doc_svc.paper_run_details(uow, summary.run.id)


STEERING_FIELDS = ("full_name", "position", "role", "duties", "email", "phone")
BLANK_STEERING_ROWS = 5


def _steering_unit(uow: UnitOfWork, p: Principal, code: str) -> Unit:
    unit = find_unit(uow, code=code) if code else find_unit(uow, unit_id=p.unit_id) if p.unit_id else None
    if unit is None or not unit_in_scope(uow, p, unit.id):
        raise NotFound(f"Không tìm thấy đơn vị «{code}»" if code else "Tài khoản không gắn với đơn vị nào")
    return unit


def steering_view(uow: UnitOfWork, p: Principal, code: str = "") -> tuple[Unit, list]:
    """The unit's stored steering group and a few blank rows to add members."""
    unit = _steering_unit(uow, p, code)
    rows = [{k: getattr(m, k) for k in STEERING_FIELDS} for m in steering_members(uow.session, unit.id)]
    return unit, rows + [dict.fromkeys(STEERING_FIELDS, "") | {"role": "member"}] * BLANK_STEERING_ROWS


def steering_typed(columns: dict[str, list[str]]) -> list[dict]:
    n = max((len(v) for v in columns.values()), default=0)
    return [{k: (columns.get(k) or [""] * n)[i] if i < len(columns.get(k) or []) else "" for k in STEERING_FIELDS}
            for i in range(n)]


def steering_save(uow: UnitOfWork, p: Principal, code: str, columns: dict[str, list[str]]) -> int:
    """Store the rows typed in the page (blank rows ignored) as the unit's steering group."""
    unit = _steering_unit(uow, p, code)
    members = [SteeringInput(**row) for row in steering_typed(columns)
               if any(row[k].strip() for k in STEERING_FIELDS if k != "role")]
    return set_steering(uow, unit.code, members, ActorRef(p.actor_name, p.unit_id, p.role, p.account_id))


def certificates(uow: UnitOfWork, p: Principal, campaign_id: int, out_dir: Path) -> Path:
    """Issue (or re-produce) every recognised school's certificate; a zip of the .docx files and,
    when LibreOffice is there, the merged PDF to print."""
    import zipfile

    require(p, "issue_authority_paper")
    campaign_for(uow, p, campaign_id)
    run = print_certificates(uow.engine, campaign_id, out_dir / "files", pdf=pdf_available(), actor=actor(p),
                             workers=1)
    out = out_dir / f"giay-chung-nhan-{campaign_id}.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in [*run.docx, *([run.pdf] if run.pdf else [])]:
            zf.write(f, f.name, compress_type=zipfile.ZIP_DEFLATED)
            zf.getinfo(f.name).date_time = FIXED_ZIP_TIME
    return out


def void(uow: UnitOfWork, p: Principal, document_id: int, reason: str) -> GeneratedDocument:
    """Void a paper of a unit in scope; the issuer's side only (the school for its own papers)."""
    d = _document(uow, p, document_id)
    authority = d.doc_type in doc_svc.CAMPAIGN_TYPES | doc_svc.PER_SCHOOL_AUTHORITY_TYPES
    require(p, "issue_authority_paper" if authority else "issue_school_paper")
    if p.role.school_side and authority:
        raise Forbidden("Văn bản này do cấp trên ban hành.")
    return doc_svc.void_document(uow.engine, d.id, reason, p.actor_name)


def confirm_void(uow: UnitOfWork, p: Principal, document_id: int, reason: str):
    """The page before voiding: which paper, why, and that its number is never given again. Refused
    here exactly as the voiding would be."""
    d = _document(uow, p, document_id)
    authority = d.doc_type in doc_svc.CAMPAIGN_TYPES | doc_svc.PER_SCHOOL_AUTHORITY_TYPES
    require(p, "issue_authority_paper" if authority else "issue_school_paper")
    if p.role.school_side and authority:
        raise Forbidden("Văn bản này do cấp trên ban hành.")
    if not reason.strip():
        raise InvalidInput("Cần ghi lý do hủy văn bản.")
    subject = (d.context or {}).get("subject") or ""
    c = Confirmation("Xác nhận: hủy văn bản", f"/documents/{d.id}/void", {"reason": reason},
                     back_url="/documents", noun="văn bản",
                     note=f"Lý do: {reason.strip()}. Văn bản bị hủy vẫn ở trong sổ với ghi chú «Đã hủy»; "
                          "số của nó không được cấp lại.")
    c.ready.append(f"{d.number_line}{f' — {subject}' if subject else ''}")
    c.marks = doc_svc.void_preview(uow.session, d).marked
    return c


def confirm_generate(uow: UnitOfWork, p: Principal, assessment_id: int, code: str, *,
                     on_existing: str | None = None, reason: str = "") -> Confirmation | None:
    """The page before a school's paper is numbered, when there is something to read first: the
    warnings of `docs check` and of the register on the paper as it would be numbered, and (replacing)
    the papers citing the old one that become «Cần xử lý». None: nothing to say, it is numbered at
    once. An error refuses here exactly as numbering would."""
    a, school = _school_paper_target(uow, p, assessment_id, code)
    marks: list[str] = []
    preview = None
    if on_existing == "replace" and reason.strip():
        preview = doc_svc.replace_preview(uow.engine, code, school_code=school.code, campaign_id=a.campaign_id)
        marks = preview.marked if preview is not None else []
    warnings = doc_svc.findings_before_numbering(uow.engine, code, school_code=school.code, campaign_id=a.campaign_id,
                                                 actor=actor(p), on_existing=on_existing, reason=reason)
    if not marks and not warnings:
        return None
    replacing = on_existing == "replace"
    c = Confirmation("Xác nhận: thay thế văn bản" if replacing else "Xác nhận: lập và cấp số văn bản",
                     f"/assessments/{a.id}/documents",
                     {"doc_type": code, "existing": on_existing or "", "reason": reason},
                     back_url=f"/assessments/{a.id}/documents", noun="văn bản",
                     note=(f"Lý do: {reason.strip()}. Văn bản cũ vẫn ở trong sổ với ghi chú «Đã bị thay thế». "
                           if replacing else "") + "Số được cấp khi xác nhận và không được cấp lại.")
    c.ready.append(f"{_type_name(code)} — {school.name}" + (f", thay thế {preview.paper}" if preview else ""))
    c.marks, c.warnings = marks, warnings
    return c


def register_xlsx(uow: UnitOfWork, p: Principal) -> bytes:
    lines = [r.line for r in register(uow, p, limit=100_000) if r.line is not None]
    return to_xlsx(lines[::-1])  # a register reads in the order the numbers were given


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def campaign_of(uow: UnitOfWork, campaign_id: int) -> Campaign | None:
    return find_campaign(uow, campaign_id)


def may_sign(p: Principal) -> bool:
    return allowed(p, "sign_school_paper") or allowed(p, "sign_authority_paper")


def sign(uow: UnitOfWork, p: Principal, document_id: int, uploads: Path):
    """Sign a numbered paper in scope with its unit's certificate (services/signing.py)."""
    from cdsflow.app.web.access import actor
    from cdsflow.services import signing

    d = _document(uow, p, document_id)
    uow.rollback()  # the use-case opens its own unit of work
    return signing.sign_paper(uow.engine, d.id, actor(p), uploads=uploads)


def may_upload_signed(p: Principal) -> bool:
    return allowed(p, "upload_signed_school_paper") or allowed(p, "upload_signed_authority_paper")


def upload_signed(uow: UnitOfWork, p: Principal, document_id: int, source: Path, original_name: str,
                  uploads: Path) -> GeneratedDocument:
    """Store the signed PDF of a paper in scope; the rulebook decides who (the issuer's side)."""
    d = _document(uow, p, document_id)
    uow.rollback()  # the use-case opens its own unit of work
    signed.upload(uow.engine, d.id, source, actor(p), original_name=original_name, uploads=uploads)
    return d


def signed_file(uow: UnitOfWork, p: Principal, document_id: int, uploads: Path) -> tuple[Path, str]:
    """(file, download name) of the latest signed copy of a paper in scope."""
    d = _document(uow, p, document_id)
    copy = signed.latest(uow.session, d.id)
    if copy is None:
        raise NotFound(f"Văn bản {d.number_line or document_id} chưa có bản đã ký")
    school = unit_by_id(uow, d.school_id).code if d.school_id else None
    return signed.file_of(copy, uploads), Path(doc_svc.file_name(d, school)).stem + "-ban-ky.pdf"
