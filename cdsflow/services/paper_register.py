"""Read models of the register of papers (sổ đăng ký văn bản đi) as the web lists it: the lines,
the papers they replace, one paper by its id. Scope (who sees which unit's papers) is the caller's."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import col, select

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import Unit


@dataclass(frozen=True)
class RegisterRow:
    document: GeneratedDocument
    unit_code: str  # the issuing unit
    unit_name: str
    school_code: str  # the school the paper concerns ("" when none, or when listing one school)
    replaced_number_line: str  # "Số: …" of the paper this one replaces ("" when none)


def find_document(uow: UnitOfWork, document_id: int) -> GeneratedDocument | None:
    return uow.session.get(GeneratedDocument, document_id)


def number_lines(uow: UnitOfWork, document_ids: Iterable[int]) -> dict[int, str]:
    """{id: number line} of the given papers (those a page's lines replace)."""
    ids = sorted(set(document_ids))
    if not ids:
        return {}
    rows = uow.session.execute(select(GeneratedDocument.id, GeneratedDocument.number_line)
                               .where(col(GeneratedDocument.id).in_(ids))).all()
    return {i: line for i, line in rows}


def register_rows(uow: UnitOfWork, in_scope: Callable[[int], bool], *, school_id: int | None = None,
                  limit: int = 500, drafts: bool = False) -> list[RegisterRow]:
    """Papers whose school (or, without one, issuing unit) passes `in_scope`, newest first, at most
    `limit`; numbered papers only, or with `drafts=True` drafts only."""
    numbered = col(GeneratedDocument.number).is_(None) if drafts else col(GeneratedDocument.number).is_not(None)
    q = (select(GeneratedDocument, Unit.code, Unit.name).join(Unit, col(Unit.id) == GeneratedDocument.unit_id)
         .where(numbered).order_by(col(GeneratedDocument.id).desc()).limit(limit * 4))
    if school_id is not None:
        q = q.where(GeneratedDocument.school_id == school_id)
    codes: dict[int | None, str] = dict(uow.session.execute(select(Unit.id, Unit.code)).all()) if school_id is None else {}
    scope: dict[int, bool] = {}
    picked: list[tuple[GeneratedDocument, str, str]] = []
    for d, unit_code, unit_name in uow.session.execute(q):
        key = d.school_id or d.unit_id
        if key not in scope:
            scope[key] = in_scope(key)
        if scope[key]:
            picked.append((d, unit_code, unit_name))
            if len(picked) >= limit:
                break
    replaced = number_lines(uow, [d.replaces_id for d, *_ in picked if d.replaces_id])
    return [RegisterRow(d, unit_code, unit_name, codes.get(d.school_id, "") if school_id is None else "",
                        replaced.get(d.replaces_id, "") if d.replaces_id else "")
            for d, unit_code, unit_name in picked]
