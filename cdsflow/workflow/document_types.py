"""The catalogue of official document types (data in document_types.yaml, validated on load)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

_FILE = Path(__file__).with_name("document_types.yaml")


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str
    type_code: str | None
    issued_by: str  # school | supervisor | any


@cache
def document_types() -> dict[str, DocumentType]:
    rows = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    out: dict[str, DocumentType] = {}
    for row in rows:
        dt = DocumentType(**row)
        if dt.code in out:
            raise ValueError(f"{_FILE.name}: mã loại văn bản trùng: {dt.code}")
        if dt.issued_by not in {"school", "supervisor", "any"}:
            raise ValueError(f"{_FILE.name}: {dt.code}: issued_by không hợp lệ: {dt.issued_by}")
        out[dt.code] = dt
    return out
