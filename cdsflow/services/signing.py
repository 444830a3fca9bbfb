"""Digital signatures on the unit's papers (chữ ký số, Nghị định 30/2020 Phụ lục I §II.7–8):

- the unit's signing identity (a PKCS#12 certificate or a PKCS#11 token, the passphrase or PIN
  sealed at rest; a timestamp server and revocation data if the unit asks), its signers' signature
  images and its seal, and the roots it trusts — the rulebook's `manage_signing`;
- signing a numbered paper as it is issued: the stored paper rendered to PDF with its number and
  date, signed in PAdES with the signature and seal where the decree puts them, and kept as the
  paper's signed copy in the register (`sign_school_paper` / `sign_authority_paper`);
- a separate attachment signed with the unit's signature, number and time at the top right;
- the facts of criterion 2.5 (papers as PDF, papers digitally signed) for the school's scoring.

A unit without a certificate works as before: nothing here is asked unless someone signs.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cdsflow.documents import pades
from cdsflow.documents.pdf import to_pdf
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import authorization, papers, signed_copies
from cdsflow.services.signatures import EVIDENCE, SIGNED_COPY, checks_for, trust_roots
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import VOIDED, GeneratedDocument, SignedCopy
from cdsflow.storage.secrets import seal, unseal
from cdsflow.storage.signing_tables import SignatureCheck, SignatureImage, SigningIdentity, TrustAnchor
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.workflow.context import ActorRef

KINDS = {"signature": "chữ ký", "seal": "con dấu"}
MAX_P12_BYTES = 100_000
# The timestamp server every unit's signatures use unless its identity names its own.
TSA_ENV = "CDSFLOW_TSA_URL"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _unit(session: Session, code: str) -> Unit:
    unit: Unit | None = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị có mã «{code}»")
    return unit


def _actor(actor: ActorRef | str, unit: Unit) -> ActorRef:
    """A bare name is a person at the command line acting for the unit itself."""
    return ActorRef(actor, unit.id) if isinstance(actor, str) else actor


def _name(value: str, what: str) -> str:
    try:
        return clean_text(value, field=what)[:200]
    except TextError as exc:
        raise InvalidInput(str(exc)) from None


# --- the unit's identity -------------------------------------------------------------------------

def set_identity(uow: UnitOfWork, unit_code: str, p12: bytes, passphrase: str, actor: ActorRef | str, *,
                 tsa_url: str = "", embed_revocation: bool = False, lta: bool = False,
                 now: datetime | None = None) -> SigningIdentity:
    """Store (or replace) the unit's certificate as a PKCS#12 file. Refused, storing nothing, when
    the file does not open with the passphrase or the certificate has expired."""
    if len(p12) > MAX_P12_BYTES:
        raise InvalidInput("Tệp chứng thư số quá lớn (tối đa 100 KB): cần một tệp PKCS#12 (.p12/.pfx)")
    return _store_identity(uow, unit_code, pades.KeySource(p12=p12, passphrase=passphrase), actor,
                           tsa_url=tsa_url, embed_revocation=embed_revocation, lta=lta, now=now)


def set_token_identity(uow: UnitOfWork, unit_code: str, module: str, token_label: str, key_label: str, pin: str,
                       actor: ActorRef | str, *, tsa_url: str = "", embed_revocation: bool = False,
                       lta: bool = False, now: datetime | None = None) -> SigningIdentity:
    """Point the unit's signing identity at a PKCS#11 token (a USB token on the server, or an HSM):
    the module's path, the token's label, the label of the key and its certificate, and the PIN.

    The PIN is kept sealed like a PKCS#12 passphrase rather than asked at each signature: a paper
    is signed from the web (the officer's «Ký số» button), by `cdsflow demo` and by bulk runs,
    where no terminal can ask, and the person pressing the button is checked by the rule table,
    not by the PIN. The token keeps what a file cannot: its key never leaves it, so a copy of the
    data home signs nothing without the token plugged in. Refused, storing nothing, when the token
    does not open with the PIN, has no key and certificate under that label, or the certificate
    has expired."""
    module, token_label, key_label = module.strip(), _name(token_label, "nhãn thiết bị ký số"), key_label.strip()
    if not module:
        raise InvalidInput("Cần đường dẫn thư viện PKCS#11 của thiết bị ký số (--pkcs11-module)")
    if not key_label:
        raise InvalidInput("Cần nhãn của khóa ký trên thiết bị (--key-label)")
    key = pades.KeySource(module=module, token_label=token_label, key_label=key_label, pin=pin)
    return _store_identity(uow, unit_code, key, actor, tsa_url=tsa_url, embed_revocation=embed_revocation,
                           lta=lta, now=now)


def _tsa(url: str) -> str:
    url = url.strip()
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput(f"Địa chỉ máy chủ dấu thời gian phải bắt đầu bằng http:// hoặc https://: «{url}»")
    return url[:500]


def _store_identity(uow: UnitOfWork, unit_code: str, key: pades.KeySource, actor: ActorRef | str, *,
                    tsa_url: str, embed_revocation: bool, lta: bool, now: datetime | None) -> SigningIdentity:
    session = uow.session
    unit = _unit(session, unit_code)
    who = _actor(actor, unit)
    authorization.check_unit(session, who, "manage_signing", unit.id, now=now)
    tsa = _tsa(tsa_url)
    if lta and not (embed_revocation and (tsa or os.environ.get(TSA_ENV, "").strip())):
        raise InvalidInput("Dấu thời gian tài liệu (PAdES B-LTA) cần cả thông tin thu hồi (--revocation) và "
                           f"máy chủ dấu thời gian (--tsa-url hoặc {TSA_ENV})")
    subject, not_after = pades.certificate_subject(key)
    if not_after <= _now(now):
        raise InvalidInput(f"Chứng thư số của «{subject}» đã hết hạn ngày {not_after:%d/%m/%Y}")
    row = session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == unit.id)).scalar_one_or_none()
    row = row or SigningIdentity(unit_id=unit.id, p12=b"", passphrase_sealed="")
    row.p12, row.passphrase_sealed = key.p12, seal(key.pin if key.on_token else key.passphrase)
    row.pkcs11_module, row.token_label, row.key_label = key.module[:500], key.token_label, key.key_label[:200]
    row.tsa_url, row.embed_revocation, row.pades_lta = tsa, embed_revocation, lta
    row.subject, row.not_after = subject[:300], not_after
    row.uploaded_by, row.uploaded_at = who.name[:200], _now(now)
    session.add(row)
    uow.commit()
    session.refresh(row)
    return row


def set_image(uow: UnitOfWork, unit_code: str, kind: str, png: bytes, actor: ActorRef | str, *,
              signer_name: str = "", now: datetime | None = None) -> SignatureImage:
    """A signer's signature image (`signer_name` as printed under the signature) or the unit's seal:
    a PNG with a transparent background, at most 1 MB and 2000 px a side."""
    if kind not in KINDS:
        raise InvalidInput(f"Loại ảnh không hợp lệ: «{kind}» (chọn: signature = chữ ký, seal = con dấu)")
    session = uow.session
    unit = _unit(session, unit_code)
    who = _actor(actor, unit)
    authorization.check_unit(session, who, "manage_signing", unit.id, now=now)
    signer = _name(signer_name, "tên người ký") if kind == "signature" else ""
    if kind == "signature" and not signer:
        raise InvalidInput("Ảnh chữ ký cần tên người ký (như in dưới chữ ký trên văn bản)")
    pades.check_png(png, KINDS[kind])
    row = session.execute(select(SignatureImage).where(
        SignatureImage.unit_id == unit.id, SignatureImage.kind == kind,
        SignatureImage.signer_name == signer)).scalar_one_or_none()
    row = row or SignatureImage(unit_id=unit.id, kind=kind, signer_name=signer, png=b"")
    row.png, row.updated_by, row.updated_at = png, who.name[:200], _now(now)
    session.add(row)
    uow.commit()
    session.refresh(row)
    return row


def add_trust_anchor(uow: UnitOfWork, unit_code: str, data: bytes, actor: ActorRef | str, *,
                     now: datetime | None = None) -> TrustAnchor:
    """A root certificate (PEM or DER) the unit trusts when checking signed PDFs."""
    session = uow.session
    unit = _unit(session, unit_code)
    who = _actor(actor, unit)
    authorization.check_unit(session, who, "manage_signing", unit.id, now=now)
    try:
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise InvalidInput("Tệp không phải chứng thư số gốc (X.509, PEM hoặc DER)") from None
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    digest = hashlib.sha256(pem.encode("ascii")).hexdigest()
    row = session.execute(select(TrustAnchor).where(TrustAnchor.unit_id == unit.id,
                                                    TrustAnchor.sha256 == digest)).scalar_one_or_none()
    if row is None:
        row = TrustAnchor(unit_id=unit.id, subject=cert.subject.rfc4514_string()[:300], sha256=digest, pem=pem,
                          added_by=who.name[:200], added_at=_now(now))
        session.add(row)
        uow.commit()
        session.refresh(row)
    return row


@dataclass(frozen=True)
class SigningSummary:
    unit: str
    subject: str  # '' when the unit has no certificate
    not_after: datetime | None
    signers: list[str]  # names that have a signature image
    has_seal: bool
    trusted_roots: list[str]
    key_place: str = ""  # «tệp PKCS#12» or «thiết bị ký số «nhãn» (thư viện)»
    tsa_url: str = ""  # the timestamp server the unit's signatures use ('' = none)
    embed_revocation: bool = False
    lta: bool = False


def summary(session: Session, unit_code: str) -> SigningSummary:
    unit = _unit(session, unit_code)
    ident = session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == unit.id)).scalar_one_or_none()
    images = session.execute(select(SignatureImage.kind, SignatureImage.signer_name)
                             .where(SignatureImage.unit_id == unit.id)).all()
    roots = session.execute(select(TrustAnchor.subject).where(TrustAnchor.unit_id == unit.id)).scalars().all()
    place = ""
    if ident is not None:
        place = (f"thiết bị ký số «{ident.token_label}», khóa «{ident.key_label}» ({ident.pkcs11_module})"
                 if ident.pkcs11_module else "tệp PKCS#12")
    return SigningSummary(unit.name, ident.subject if ident else "", ident.not_after if ident else None,
                          sorted(n for k, n in images if k == "signature"), any(k == "seal" for k, _ in images),
                          list(roots), place, _tsa_of(ident), bool(ident and ident.embed_revocation),
                          bool(ident and ident.pades_lta))


# --- signing a paper -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedPaper:
    copy_id: int
    number_line: str
    label: str  # «đã ký số: …, hợp lệ»


def _check_may_sign(session: Session, actor: ActorRef, doc: GeneratedDocument, now: datetime | None) -> None:
    """The signing line of the rulebook, with the facts of the paper's school or campaign."""
    signed_copies.check_paper_act(session, actor, doc, school_action="sign_school_paper",
                                  authority_action="sign_authority_paper", now=now)


def _tsa_of(ident: SigningIdentity | None) -> str:
    return (ident.tsa_url if ident is not None and ident.tsa_url else "") or os.environ.get(TSA_ENV, "").strip()


def _identity(session: Session, unit_id: int, now: datetime) -> tuple[pades.KeySource, pades.SigningOptions]:
    """The unit's key and what its signatures carry (timestamp, revocation data)."""
    ident = session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == unit_id)).scalar_one_or_none()
    unit = session.get(Unit, unit_id)
    if ident is None:
        raise InvalidInput(f"{unit.name if unit else 'Đơn vị'} chưa có chứng thư số để ký",
                           details=["quản trị viên của đơn vị tải tệp chứng thư số (PKCS#12) lên, hoặc khai báo "
                                    "thiết bị ký số (PKCS#11), trước khi ký"])
    if ident.not_after is not None and ident.not_after <= now:
        raise InvalidInput(f"Chứng thư số của «{ident.subject}» đã hết hạn ngày {ident.not_after:%d/%m/%Y}")
    secret = unseal(ident.passphrase_sealed)
    if ident.pkcs11_module:
        key = pades.KeySource(module=ident.pkcs11_module, token_label=ident.token_label,
                              key_label=ident.key_label, pin=secret)
    else:
        key = pades.KeySource(p12=ident.p12, passphrase=secret)
    options = pades.SigningOptions(tsa_url=_tsa_of(ident), revocation=ident.embed_revocation,
                                   trust_roots_pem=trust_roots(session, unit_id) if ident.embed_revocation else [],
                                   lta=ident.pades_lta)
    if options.lta and not options.tsa_url:
        raise InvalidInput(f"Chữ ký của {unit.name if unit else 'đơn vị'} cần dấu thời gian tài liệu (PAdES B-LTA) "
                           f"nhưng chưa có máy chủ dấu thời gian ({TSA_ENV} hoặc --tsa-url)")
    return key, options


def _image(session: Session, unit_id: int, kind: str, signer: str = "") -> bytes | None:
    return session.execute(select(SignatureImage.png).where(
        SignatureImage.unit_id == unit_id, SignatureImage.kind == kind,
        SignatureImage.signer_name == signer)).scalar_one_or_none()


def _appearance(session: Session, doc: GeneratedDocument, signer: str, now: datetime) -> bytes:
    """The signer's image with the seal over it; without images, the signer's name and the time,
    so a signed paper is never signed invisibly."""
    signature, seal_png = _image(session, doc.unit_id, "signature", signer), _image(session, doc.unit_id, "seal")
    if signature or seal_png:
        return pades.compose_stamp(signature, seal_png)
    unit = session.get(Unit, doc.unit_id)
    return pades.attachment_stamp(f"Ký bởi: {signer}", doc.number_line or (unit.name if unit else ""), now)


def paper_pdf(engine: Engine, document_id: int, *, timeout: float = 120) -> bytes:
    """The stored paper, rendered again from its stored content, as PDF."""
    docx = papers.reproduce(engine, document_id)
    with tempfile.TemporaryDirectory(prefix="cdsflow-sign-") as tmp:
        source = Path(tmp) / f"paper-{document_id}.docx"
        source.write_bytes(docx)
        return to_pdf([source], Path(tmp) / "pdf", timeout=timeout)[0].read_bytes()


def sign_paper(engine: Engine, document_id: int, actor: ActorRef | str, *, uploads: Path | None = None,
               now: datetime | None = None, timeout: float = 120) -> SignedPaper:
    """Sign a numbered paper with its unit's certificate and keep the signed PDF as its signed copy."""
    when = _now(now)
    with UnitOfWork(engine) as uow:
        session = uow.session
        doc = signed_copies.numbered_paper(session, document_id, "ký số")
        unit = session.get(Unit, doc.unit_id)
        assert unit is not None
        who = _actor(actor, unit)
        _check_may_sign(session, who, doc, now)
        key, options = _identity(session, doc.unit_id, when)
        signer = ((doc.context or {}).get("signature") or {}).get("name", "")
        appearance = _appearance(session, doc, signer, when)
        number_line = doc.number_line.removeprefix("Số: ")
    pdf = paper_pdf(engine, document_id, timeout=timeout)
    page, box = pades.signing_box(pdf, signer)
    signed = pades.sign_pdf(pdf, key, page=page, box=box, appearance_png=appearance, options=options,
                            reason=f"Ban hành văn bản số {number_line}", location=unit.name)
    with tempfile.TemporaryDirectory(prefix="cdsflow-sign-") as tmp:
        path = Path(tmp) / "signed.pdf"
        path.write_bytes(signed)
        copy = signed_copies.upload(engine, document_id, path, who,
                                    original_name=f"{number_line.replace('/', '-')} (ký số).pdf", uploads=uploads)
    with UnitOfWork(engine) as uow:
        check = checks_for(uow.session, SIGNED_COPY, [copy.id]).get(copy.id)
    return SignedPaper(copy.id, number_line, check.label if check else "")


def sign_attachment(engine: Engine, document_id: int, attachment: bytes, actor: ActorRef | str, *,
                    now: datetime | None = None) -> bytes:
    """A separate attachment of a numbered paper signed with the unit's signature: the unit, the
    paper's number and the signing time at the top right of its first page (Phụ lục I §II.8)."""
    when = _now(now)
    with UnitOfWork(engine) as uow:
        session = uow.session
        doc = signed_copies.numbered_paper(session, document_id, "ký số")
        unit = session.get(Unit, doc.unit_id)
        assert unit is not None
        _check_may_sign(session, _actor(actor, unit), doc, now)
        key, options = _identity(session, doc.unit_id, when)
    if not attachment.startswith(b"%PDF"):
        raise InvalidInput("Văn bản kèm theo phải là tệp PDF")
    stamp = pades.attachment_stamp(unit.name, doc.number_line, when)
    size = Image.open(io.BytesIO(stamp)).size
    return pades.sign_pdf(attachment, key, page=0, box=pades.attachment_box(attachment, size),
                          appearance_png=stamp, options=options, reason=f"Văn bản kèm theo văn bản số {doc.number_line}",
                          location=unit.name, field_name="ChuKySoDonVi")


# --- criterion 2.5 -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ElectronicPapers:
    """Criterion 2.5 (Văn bản, hồ sơ điện tử trong điều hành) from the school's own register."""

    numbered: int  # papers the school numbered in the campaign (voided left out)
    as_pdf: int  # of which a PDF copy is kept (scan or digital)
    signed: int  # of which the PDF carries a valid digital signature
    proposed: str  # the 4725 choice these facts support: khong | pdf | ky_so
    numbers: list[str]  # the signed papers, as evidence

    def text(self) -> str:
        return (f"Năm học này trường đã cấp số {self.numbered} văn bản; {self.as_pdf} văn bản có bản PDF, "
                f"{self.signed} văn bản có chữ ký số hợp lệ")


# The item of each index set that the school's own register answers (4725: 2.5, Văn bản, hồ sơ
# điện tử trong điều hành, choices khong | pdf | ky_so).
ELECTRONIC_PAPERS_ITEM = {"4725": "2.5"}


def item_facts(session: Session, assessment_id: int, index_set_code: str, choice_labels: dict[str, str]) -> dict[str, str]:
    """What the stored papers say about the item they answer, for the scoring page: the counts, the
    signed papers and the choice they support (the school still decides)."""
    item = ELECTRONIC_PAPERS_ITEM.get(index_set_code)
    if item is None:
        return {}
    facts = electronic_papers(session, assessment_id)
    text = facts.text()
    if facts.numbers:
        text += " (" + ", ".join(facts.numbers[:10]) + (", …" if len(facts.numbers) > 10 else "") + ")"
    suggestion = choice_labels.get(facts.proposed, facts.proposed)
    return {item: f"{text}. Theo sổ văn bản, mục này phù hợp với: «{suggestion}»."}


def electronic_papers(session: Session, assessment_id: int) -> ElectronicPapers:
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    docs = session.execute(select(GeneratedDocument.id, GeneratedDocument.number_line).where(
        GeneratedDocument.campaign_id == a.campaign_id, GeneratedDocument.unit_id == a.school_id,
        col(GeneratedDocument.number).is_not(None), GeneratedDocument.status != VOIDED)).all()
    ids = [d for d, _ in docs]
    copies: dict[int, int] = dict(session.execute(select(SignedCopy.document_id, func.max(SignedCopy.id))
                                  .where(col(SignedCopy.document_id).in_(ids))
                                  .group_by(col(SignedCopy.document_id))).all()) if ids else {}
    checks = checks_for(session, SIGNED_COPY, list(copies.values()))
    signed = [doc_id for doc_id, copy_id in copies.items() if (c := checks.get(copy_id)) is not None and c.valid]
    lines = dict(docs)
    proposed = "ky_so" if signed else ("pdf" if copies else "khong")
    return ElectronicPapers(len(ids), len(copies), len(signed), proposed, sorted(lines[d] for d in signed))


def evidence_signatures(session: Session, evidence_ids: list[int]) -> dict[int, tuple[str, bool]]:
    """entry → («đã ký số: …», valid) for the evidence files that carry a digital signature."""
    return {i: (c.label, c.valid) for i, c in checks_for(session, EVIDENCE, evidence_ids).items() if c.signed}


def paper_signatures(engine: Engine, document_ids: list[int]) -> dict[int, str]:
    """paper → «đã ký số: …[, có dấu thời gian …], hợp lệ | không hợp lệ (…)» for the papers whose
    latest signed copy is a signed PDF: what the register prints beside them."""
    with UnitOfWork(engine) as uow:
        copies = signed_copies.latest_by_document(uow.session, document_ids)
        checks = checks_for(uow.session, SIGNED_COPY, [c.id for c in copies.values() if c.id is not None])
        return {doc_id: check.label for doc_id, copy in copies.items()
                if (check := checks.get(copy.id or 0)) is not None and check.signed}


def signature_labels(session: Session, copy_ids: list[int]) -> dict[int, SignatureCheck]:
    """What the register and the dossier print next to each signed copy."""
    return checks_for(session, SIGNED_COPY, copy_ids)
