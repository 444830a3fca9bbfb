"""Per-unit document settings (how a unit signs and numbers its papers), validated before saving."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.register import KEYINGS
from cdsflow.documents.signature import DEFAULT_HEAD_TITLE, SignatureSpec, signature_lines
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentSetting
from cdsflow.storage.tables import Unit
from cdsflow.workflow.errors import InvalidInput, NotFound

FIELDS = ("signature_mode", "head_title", "body_name", "signer_name", "signer_title", "unit_head_title",
          "honorific", "register_keying", "certificate_code", "archive_unit", "drafter_mark")


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
