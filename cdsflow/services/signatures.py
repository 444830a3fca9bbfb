"""Checking the digital signature of a PDF a unit stores (a paper's signed copy, an evidence file)
against the roots the unit and the units above it trust, and keeping what was found so the
register, the dossier and the school's page can say «đã ký số: …, hợp lệ» without re-checking."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.documents.pades import Verification, verify_pdf
from cdsflow.services.units import chain_of
from cdsflow.storage.signing_tables import SignatureCheck, TrustAnchor

SIGNED_COPY, EVIDENCE = "signed_copy", "evidence"


def trust_roots(session: Session, unit_id: int) -> list[bytes]:
    """The roots trusted by the unit and by every unit above it (a Sở's CA list serves its wards)."""
    units = (unit_id, *chain_of(session, unit_id))
    return [row.encode("ascii") for row in session.execute(
        select(TrustAnchor.pem).where(col(TrustAnchor.unit_id).in_(units))).scalars()]


def verify_bytes(session: Session, data: bytes, unit_id: int) -> Verification:
    return verify_pdf(data, trust_roots(session, unit_id))


def record(session: Session, kind: str, subject_id: int, found: Verification) -> SignatureCheck:
    """Keep what checking found (one row per stored file; a new check replaces the old)."""
    row = session.execute(select(SignatureCheck).where(SignatureCheck.subject_kind == kind,
                                                       SignatureCheck.subject_id == subject_id)).scalar_one_or_none()
    row = row or SignatureCheck(subject_kind=kind, subject_id=subject_id)
    row.signed, row.valid, row.signer = found.signed, found.valid, found.signer[:300]
    row.signed_at, row.problem, row.label = found.signed_at, found.problem[:500], found.label()[:700]
    row.timestamped_at = found.timestamped_at
    row.checked_at = datetime.now(UTC)
    session.add(row)
    return row


def check_file(session: Session, kind: str, subject_id: int, path: Path, unit_id: int) -> SignatureCheck | None:
    """Check a stored PDF and keep the result; other files have no signature to check."""
    if path.suffix.lower() != ".pdf" or not path.is_file():
        return None
    return record(session, kind, subject_id, verify_bytes(session, path.read_bytes(), unit_id))


def checks_for(session: Session, kind: str, subject_ids: list[int]) -> dict[int, SignatureCheck]:
    if not subject_ids:
        return {}
    return {row.subject_id: row for row in session.execute(
        select(SignatureCheck).where(SignatureCheck.subject_kind == kind,
                                     col(SignatureCheck.subject_id).in_(subject_ids))).scalars()}
