"""The catalogue of official document types (data in document_types.yaml, validated on load),
with each paper's gates: the school stages at which it may be issued and what it requires."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.paper_requirements import REQUIREMENTS

_FILE = Path(__file__).with_name("document_types.yaml")


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str
    type_code: str | None
    issued_by: str  # school | supervisor | any
    stages: tuple[Stage, ...] = ()  # empty: every stage
    requires: tuple[str, ...] = ()  # names in paper_requirements.REQUIREMENTS
    series: str = ""  # the register series of its kind ('' = its type code, else its own code)

    @property
    def register_series(self) -> str:
        """One series per kind NĐ 30 names (QĐ, KH, TTr, BC, TB, BB, DS, all công văn together)."""
        return self.series or self.type_code or self.code


@cache
def document_types() -> dict[str, DocumentType]:
    rows = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    out: dict[str, DocumentType] = {}
    problems: list[str] = []
    for row in rows:
        code = row.get("code")
        unknown = sorted(set(row) - {"code", "name", "type_code", "issued_by", "stages", "requires", "series"})
        if unknown:
            problems.append(f"{code}: khóa không rõ: {', '.join(unknown)}")
            continue
        stages = []
        for s in row.get("stages") or []:
            try:
                stages.append(Stage(s))
            except ValueError:
                problems.append(f"{code}: giai đoạn không có: {s}")
        bad = [r for r in row.get("requires") or [] if r not in REQUIREMENTS]
        problems += [f"{code}: điều kiện không có: {r}" for r in bad]
        dt = DocumentType(code=code, name=row["name"], type_code=row.get("type_code"), issued_by=row["issued_by"],
                          stages=tuple(stages), requires=tuple(row.get("requires") or ()),
                          series=row.get("series") or "")
        if dt.code in out:
            problems.append(f"mã loại văn bản trùng: {dt.code}")
        if dt.issued_by not in {"school", "supervisor", "any"}:
            problems.append(f"{dt.code}: issued_by không hợp lệ: {dt.issued_by}")
        out[dt.code] = dt
    if problems:
        raise ValueError(f"{_FILE.name}: " + "; ".join(problems))
    return out
