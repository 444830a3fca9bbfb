"""Per-unit document settings (how a unit signs and numbers its papers), validated before saving."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.register import KEYINGS
from cdsflow.documents.signature import DEFAULT_HEAD_TITLE, SignatureSpec, signature_lines
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentSetting
from cdsflow.storage.tables import Unit

FIELDS = ("signature_mode", "head_title", "body_name", "signer_name", "signer_title", "unit_head_title",
          "honorific", "register_keying", "certificate_code", "archive_unit", "drafter_mark",
          "contact_name", "contact_title", "contact_email", "contact_phone", "submission_link")


def update_settings(engine: Engine, unit_code: str, values: dict) -> dict:
    """Merge `values` into the unit's settings; refuse a combination §10 does not allow, and leave
    the stored row untouched when refusing."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidInput("Thiết lập văn bản không hợp lệ", details=unknown)
    with UnitOfWork(engine) as uow:
        unit = uow.session.execute(select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
        if unit is None:
            raise NotFound(f"Không tìm thấy đơn vị có mã «{unit_code}»")
        row = uow.session.get(DocumentSetting, unit.id) or DocumentSetting(
            unit_id=unit.id, head_title=DEFAULT_HEAD_TITLE.get(unit.kind, ""))
        merged = {f: getattr(row, f) for f in FIELDS} | {k: vn.nfc(v) for k, v in values.items()}
        if merged["register_keying"] not in KEYINGS:
            raise InvalidInput(f"Cách đánh số không hợp lệ: «{merged['register_keying']}»",
                               details=[f"chọn: {', '.join(KEYINGS)}"])
        check_contact(merged)
        if merged["certificate_code"]:
            vn.document_code(merged["certificate_code"])
        signature_lines(SignatureSpec(mode=merged["signature_mode"], head_title=merged["head_title"],
                                      body=merged["body_name"], signer_title=merged["signer_title"],
                                      unit_head_title=merged["unit_head_title"]))
        for key, value in merged.items():
            setattr(row, key, value)
        uow.session.add(row)
        uow.commit()
        return merged


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .]{7,18}[0-9]$")
_LINK = re.compile(r"^https?://\S+$")


def check_contact(values: dict) -> None:
    """The contact person and submission link as schools will read them: refused when malformed."""
    problems = []
    if values.get("contact_email") and not _EMAIL.match(values["contact_email"]):
        problems.append(f"email người liên hệ không hợp lệ: «{values['contact_email']}»")
    if values.get("contact_phone") and not _PHONE.match(values["contact_phone"]):
        problems.append(f"số điện thoại người liên hệ không hợp lệ: «{values['contact_phone']}»")
    if values.get("submission_link") and not _LINK.match(values["submission_link"]):
        problems.append(f"đường link nộp hồ sơ phải bắt đầu bằng http:// hoặc https://: «{values['submission_link']}»")
    if problems:
        raise InvalidInput("Thông tin liên hệ không hợp lệ", details=problems)
