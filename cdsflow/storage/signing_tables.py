"""Digital signatures (chữ ký số): a unit's signing identity, its signers' images, the roots it
trusts, and the result of checking each signed PDF it received or produced."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class SigningIdentity(SQLModel, table=True):
    """The unit's certificate and key: a PKCS#12 file, or a PKCS#11 token (`pkcs11_module` set, `p12`
    empty). The file is encrypted by its own passphrase; the passphrase, or the token's PIN, is
    sealed with the data home's secret key (storage/secrets.py), so a copy of the database alone
    cannot sign. `tsa_url` and `embed_revocation` ask for a timestamp and revocation data (PAdES
    B-T, B-LT) in the unit's signatures."""

    __tablename__ = "signing_identity"
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", unique=True)
    p12: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    passphrase_sealed: str = Field(sa_column=Column(Text, nullable=False))  # the passphrase or the token's PIN
    pkcs11_module: str = Field(default="", max_length=500)  # the token's PKCS#11 library on the server
    token_label: str = Field(default="", max_length=200)
    key_label: str = Field(default="", max_length=200)  # the key's (and its certificate's) label on the token
    tsa_url: str = Field(default="", max_length=500)  # '' = CDSFLOW_TSA_URL, if set
    embed_revocation: bool = False
    pades_lta: bool = False  # a document timestamp over the signature and its revocation data (B-LTA)
    subject: str = Field(default="", max_length=300)  # the certificate's common name: who signs
    not_after: datetime | None = _ts()
    uploaded_by: str = Field(default="", max_length=200)
    uploaded_at: datetime | None = _ts()


class SignatureImage(SQLModel, table=True):
    """A PNG drawn on signed papers: a signer's signature (`signer_name` set) or the unit's seal."""

    __tablename__ = "signature_image"
    __table_args__ = (UniqueConstraint("unit_id", "kind", "signer_name", name="uq_signature_image"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: str = Field(max_length=16)  # signature | seal
    signer_name: str = Field(default="", max_length=200)  # '' for the seal
    png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_by: str = Field(default="", max_length=200)
    updated_at: datetime | None = _ts()


class TrustAnchor(SQLModel, table=True):
    """A root certificate the unit trusts when it checks a signed PDF (its CA's, the Ban Cơ yếu's…)."""

    __tablename__ = "trust_anchor"
    __table_args__ = (UniqueConstraint("unit_id", "sha256", name="uq_trust_anchor"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    subject: str = Field(default="", max_length=300)
    sha256: str = Field(max_length=64)
    pem: str = Field(sa_column=Column(Text, nullable=False))
    added_by: str = Field(default="", max_length=200)
    added_at: datetime | None = _ts()


class SignatureCheck(SQLModel, table=True):
    """What checking one stored PDF found: a signed copy of a paper, or an evidence file."""

    __tablename__ = "signature_check"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_signature_check"),)
    id: int | None = Field(default=None, primary_key=True)
    subject_kind: str = Field(max_length=16)  # signed_copy | evidence
    subject_id: int = Field(index=True)
    signed: bool = False
    valid: bool = False
    signer: str = Field(default="", max_length=300)
    signed_at: datetime | None = _ts()
    timestamped_at: datetime | None = _ts()  # the timestamp server's time, when the signature has one
    problem: str = Field(default="", max_length=500)
    label: str = Field(default="", max_length=700)  # «đã ký số: …, hợp lệ», as shown to people
    checked_at: datetime | None = _ts()
