"""Tables of the documents area: per-unit document settings, the number register, generated papers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime

# A numbered paper's standing in the register: in force, voided (with a reason), or replaced by a
# later paper that cites it. A number is never reused either way.
ISSUED, VOIDED, REPLACED = "issued", "voided", "replaced"


class DocumentSetting(SQLModel, table=True):
    """How one unit signs and numbers its papers (§6, §10 of the format sheet)."""

    __tablename__ = "document_setting"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    signature_mode: str = Field(default="head", max_length=8)  # head | KT | TM | TM_KT | Q | TL | TL_KT | TUQ | council
    head_title: str = Field(default="", max_length=120)  # HIỆU TRƯỞNG, TRƯỞNG PHÒNG, GIÁM ĐỐC
    body_name: str = Field(default="", max_length=200)  # the collective for TM.
    signer_name: str = Field(default="", max_length=200)
    signer_title: str = Field(default="", max_length=200)
    unit_head_title: str = Field(default="", max_length=200)  # TL_KT
    honorific: str = Field(default="", max_length=16)  # "ThS." only when the authority requires it
    register_keying: str = Field(default="unit_year_type", max_length=16)  # or unit_year
    certificate_code: str = Field(default="", max_length=16)  # e.g. GCN, printed only when set
    archive_unit: str = Field(default="", max_length=32)  # "- Lưu: VT, {archive_unit}."
    drafter_mark: str = Field(default="", max_length=32)
    # Who schools call about the campaign's papers and where they submit (printed by the authority's
    # Kế hoạch and Công văn triển khai; refused there when missing).
    contact_name: str = Field(default="", max_length=200)
    contact_title: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=32)
    submission_link: str = Field(default="", max_length=500)


class DocumentCounter(SQLModel, table=True):
    """The register: the last number given per issuing unit, year and series (type or '*')."""

    __tablename__ = "document_counter"
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    year: int = Field(primary_key=True)
    series: str = Field(primary_key=True, max_length=40)
    last_number: int = Field(default=0)


class GeneratedDocument(SQLModel, table=True):
    """Every paper produced: its number, the template's hash and the exact context, so that the
    same bytes can be produced again."""

    __tablename__ = "generated_document"
    __table_args__ = (
        # A number is never given twice in a series (drafts have none: NULLs do not collide).
        UniqueConstraint("unit_id", "year", "series", "number"),
        Index("ix_generated_document_school_campaign", "school_id", "campaign_id", "doc_type"),
    )
    id: int = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)  # issuer
    school_id: int | None = Field(default=None, foreign_key="unit.id")  # the school the paper is about
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    doc_type: str = Field(max_length=32)
    series: str = Field(default="", max_length=40)
    year: int | None = None
    number: int | None = None  # None: draft
    number_line: str = Field(default="", max_length=120)
    issued_on: str = Field(default="", max_length=10)  # ISO date, '' for a draft
    template_hash: str = Field(max_length=64)
    content_sha256: str = Field(default="", max_length=64)
    context: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(default="", max_length=200)
    created_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    status: str = Field(default=ISSUED, max_length=16)  # issued | voided | replaced
    replaces_id: int | None = Field(default=None, foreign_key="generated_document.id")
    reason: str = Field(default="", max_length=1000)  # why it replaces, or why it was voided
    note: str = Field(default="", max_length=1000)  # warnings at issue: backdated, district names after 1/7/2025
    # The trích yếu, copied out of `context` so that the register's search reads a column (set on every write).
    subject: str = Field(default="", max_length=1000)


class SignedCopy(SQLModel, table=True):
    """The scanned or digitally signed PDF of a numbered paper, uploaded after signing. A later
    upload supersedes an earlier one (both kept); the dossier and the school's page offer the latest."""

    __tablename__ = "signed_copy"
    id: int = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="generated_document.id", index=True)
    file_path: str = Field(max_length=500)  # relative to the home (uploads/signed/<random>.pdf)
    sha256: str = Field(max_length=64)
    size: int = 0
    original_name: str = Field(default="", max_length=255)
    uploaded_by: str = Field(default="", max_length=200)
    uploaded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


@event.listens_for(GeneratedDocument, "before_insert")
@event.listens_for(GeneratedDocument, "before_update")
def _copy_subject(_mapper, _connection, doc: GeneratedDocument) -> None:
    """Keeps `subject` equal to the context's trích yếu, whoever writes the paper."""
    doc.subject = str((doc.context or {}).get("subject") or "")[:1000]
