"""Use-cases on the organisation tree: import a unit list (all or nothing), list, look up."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.storage.collation import vi_order
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Unit, UnitName
from cdsflow.storage.tabular import Row, read_table
from cdsflow.workflow.units import ALLOWED_SUPERVISORS, UnitKind, UnitSpec, validate_unit_row

# Column headers accepted in a unit list (first name is the one the template uses).
UNIT_COLUMNS: dict[str, list[str]] = {
    "code": ["Mã đơn vị", "ma", "ma_don_vi", "mã trường", "mã"],
    "name": ["Tên đơn vị", "ten", "ten_don_vi", "tên trường", "tên"],
    "short_code": ["Ký hiệu", "ky_hieu", "ký hiệu văn bản", "viết tắt"],
    "kind": ["Loại đơn vị", "loai", "loai_don_vi", "loại"],
    "education_level": ["Cấp học", "cap_hoc", "cấp"],
    "place_name": ["Địa danh", "dia_danh", "xã/phường", "xa_phuong", "nơi ban hành"],
    "parent_org": ["Cơ quan chủ quản", "co_quan_chu_quan", "cấp trên trực tiếp"],
    "emails": ["Email", "email", "thư điện tử"],
    "supervisor_code": ["Mã đơn vị quản lý", "don_vi_quan_ly", "ma_don_vi_quan_ly", "đơn vị quản lý", "cấp trên"],
}

_KIND_ORDER = [UnitKind.DEPARTMENT, UnitKind.BUREAU, UnitKind.SCHOOL]


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def import_units_file(uow: UnitOfWork, path: str | Path) -> ImportReport:
    return import_units(uow, read_table(path, UNIT_COLUMNS), source=Path(path).name)


def _checked_rows(rows: Sequence[Row], existing: dict[str, tuple[int, UnitKind]],
                  ) -> tuple[dict[str, tuple[int, UnitSpec]], list[str]]:
    """Every row's spec by code, and every problem by row: a row's own, a duplicate code, an unknown
    supervisor or one of a kind the unit cannot belong to."""
    problems: list[str] = []
    specs: dict[str, tuple[int, UnitSpec]] = {}
    for number, raw in rows:
        spec, errs = validate_unit_row(raw)
        problems += [f"Dòng {number}: {e}" for e in errs]
        if spec is None:
            continue
        if spec.code in specs:
            problems.append(f"Dòng {number}: mã đơn vị «{spec.code}» trùng với dòng {specs[spec.code][0]}")
            continue
        specs[spec.code] = (number, spec)

    for number, spec in specs.values():
        sup = spec.supervisor_code
        if not sup:
            continue
        sup_kind = specs[sup][1].kind if sup in specs else existing.get(sup, (None, None))[1]
        if sup_kind is None:
            problems.append(f"Dòng {number}: không tìm thấy đơn vị quản lý «{sup}» (trong tệp hay trong dữ liệu)")
        elif sup_kind not in ALLOWED_SUPERVISORS[spec.kind]:
            problems.append(f"Dòng {number}: {spec.kind.label} không thể trực thuộc {sup_kind.label} «{sup}»")
    return specs, problems


def import_units(uow: UnitOfWork, rows: Sequence[Row], *, source: str = "danh sách") -> ImportReport:
    """Validate every row first; store all of them or none. Re-importing updates by code."""
    session = uow.session
    existing = {code: (uid, UnitKind(kind)) for code, uid, kind in session.execute(select(Unit.code, Unit.id, Unit.kind))}
    specs, problems = _checked_rows(rows, existing)
    if problems:
        raise InvalidInput(
            f"Tệp {source} có {len(problems)} lỗi; chưa nhập đơn vị nào. Hãy sửa rồi nhập lại:",
            details=sorted(problems, key=_row_key),
        )
    if not specs:
        raise InvalidInput(f"Tệp {source} không có dòng dữ liệu nào")

    ids = {code: uid for code, (uid, _) in existing.items()}
    current = _current_values(uow, [c for c in specs if c in ids])
    created = updated = unchanged = 0
    for kind in _KIND_ORDER:  # supervisors always come from an earlier kind, so ids are known
        new_rows, changed_rows = [], []
        for _, spec in specs.values():
            if spec.kind != kind:
                continue
            values = _values(spec, ids)
            if spec.code not in ids:
                new_rows.append(values)
            elif current[spec.code] != values:
                changed_rows.append({"id": ids[spec.code], **values})
            else:
                unchanged += 1
        if new_rows:
            session.execute(insert(Unit), new_rows)
            codes = [r["code"] for r in new_rows]
            for chunk in _chunks(codes, 5000):
                ids.update(dict(session.execute(select(col(Unit.code), col(Unit.id)).where(col(Unit.code).in_(chunk))).all()))
        if changed_rows:
            session.execute(update(Unit), changed_rows)
        created += len(new_rows)
        updated += len(changed_rows)
    uow.commit()
    return ImportReport(created=created, updated=updated, unchanged=unchanged)


def _values(spec: UnitSpec, ids: dict[str, int]) -> dict[str, Any]:
    return {
        "code": spec.code,
        "name": spec.name,
        "short_code": spec.short_code,
        "kind": spec.kind.value,
        "education_level": spec.education_level.value if spec.education_level else None,
        "place_name": spec.place_name,
        "parent_org": spec.parent_org,
        "emails": ",".join(spec.emails),
        "supervisor_id": ids[spec.supervisor_code] if spec.supervisor_code else None,
    }


def _current_values(uow: UnitOfWork, codes: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    cols: list[Any] = [Unit.code, Unit.name, Unit.short_code, Unit.kind, Unit.education_level, Unit.place_name,
            Unit.parent_org, Unit.emails, Unit.supervisor_id]
    for chunk in _chunks(codes, 5000):
        for row in uow.session.execute(select(*cols).where(col(Unit.code).in_(chunk))).mappings():
            out[row["code"]] = dict(row)
    return out


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _row_key(message: str) -> tuple[int, str]:
    try:
        return int(message.split(":")[0].split()[1]), message
    except (IndexError, ValueError):
        return 0, message


def get_unit(uow: UnitOfWork, code: str) -> Unit:
    unit: Unit | None = uow.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị có mã «{code}»")
    return unit


def unit_id_by_code(session: Session, code: str) -> int:
    """The id of the unit with this code (NotFound in Vietnamese when there is none)."""
    unit_id = session.execute(select(Unit.id).where(Unit.code == code)).scalar_one_or_none()
    if unit_id is None:
        raise NotFound(f"Không tìm thấy đơn vị «{code}»")
    return unit_id


def list_units(uow: UnitOfWork, *, under: str | None = None, kind: UnitKind | None = None) -> list[Unit]:
    query = select(Unit).order_by(Unit.kind, vi_order(Unit.name))
    if under:
        ids = descendant_ids(uow, get_unit(uow, under).id)
        query = query.where(col(Unit.id).in_(ids))
    if kind:
        query = query.where(Unit.kind == kind.value)
    return list(uow.session.execute(query).scalars())


_TREE = text(
    """
    WITH RECURSIVE tree(id, branch) AS (
        SELECT id, CASE WHEN kind = 'bureau' THEN id END FROM unit WHERE supervisor_id = :root
        UNION ALL
        SELECT u.id, tree.branch FROM unit u JOIN tree ON u.supervisor_id = tree.id
    )
    SELECT tree.id, tree.branch, unit.kind, unit.education_level FROM tree JOIN unit ON unit.id = tree.id
    """
)


def descendants(uow: UnitOfWork, root_id: int) -> list[tuple[int, int | None, str, str | None]]:
    """(unit id, the bureau directly under root it sits under or None, kind, level) for the whole subtree."""
    return [tuple(r) for r in uow.session.execute(_TREE, {"root": root_id})]


def descendant_ids(uow: UnitOfWork, root_id: int) -> list[int]:
    return [r[0] for r in descendants(uow, root_id)]


def supervisor_chain(uow: UnitOfWork, unit_id: int) -> tuple[int, ...]:
    """The unit's supervisors, nearest first."""
    return chain_of(uow.session, unit_id)


def chain_of(session: Session, unit_id: int) -> tuple[int, ...]:
    chain: list[int] = []
    current = session.get(Unit, unit_id)
    while current is not None and current.supervisor_id is not None and current.supervisor_id not in chain:
        chain.append(current.supervisor_id)
        current = session.get(Unit, current.supervisor_id)
    return tuple(chain)


def get_unit_code(uow: UnitOfWork, unit_id: int) -> str:
    unit = uow.session.get(Unit, unit_id)
    return unit.code if unit else ""


def find_unit(uow: UnitOfWork, *, unit_id: int | None = None, code: str | None = None) -> Unit | None:
    """The unit by id or by code, or None: for callers that say "not found" in their own words."""
    if code:
        return uow.session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    return uow.session.get(Unit, unit_id) if unit_id is not None else None


def unit_by_id(uow: UnitOfWork, unit_id: int) -> Unit:
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị số {unit_id}")
    return unit


def supervisor_name(uow: UnitOfWork, unit_id: int, default: str = "đơn vị quản lý") -> str:
    """The name of the unit directly above (a school's Phòng), or `default` at the top of the tree."""
    unit = uow.session.get(Unit, unit_id)
    boss = uow.session.get(Unit, unit.supervisor_id) if unit is not None and unit.supervisor_id else None
    return boss.name if boss else default


# --- names in force on a date ------------------------------------------------------------------


def former_names(session: Session, unit_id: int) -> list[UnitName]:
    """The names a unit had before its current one, oldest first."""
    return list(session.execute(select(UnitName).where(UnitName.unit_id == unit_id)
                                .order_by(col(UnitName.valid_until))).scalars())


def unit_on(session: Session, unit: Unit, day: date) -> Unit:
    """The unit as a paper dated `day` names it: its name, level (parent_org) and place in force
    that day. A detached copy (never stored); the unit itself when its current name applies."""
    former = session.execute(select(UnitName).where(UnitName.unit_id == unit.id, col(UnitName.valid_until) >= day)
                             .order_by(col(UnitName.valid_until))).scalars().first()
    if former is None:
        return unit
    return Unit(**{**unit.model_dump(), "name": former.name, "parent_org": former.parent_org,
                   "place_name": former.place_name})


def rename_unit(uow: UnitOfWork, code: str, *, name: str, from_day: date, parent_org: str | None = None,
                place_name: str | None = None, actor: str = "") -> Unit:
    """The unit bears `name` from `from_day`: its current name (and level, place) is kept as the name
    in force until the day before, for the papers dated earlier. Refused when the day is not after
    the last change, or nothing changes."""
    unit = get_unit(uow, code)
    try:
        name = clean_text(name, field="tên đơn vị")
        parent_org = clean_text(parent_org, field="cơ quan chủ quản") if parent_org is not None else unit.parent_org
        place_name = clean_text(place_name, field="địa danh") if place_name is not None else unit.place_name
    except TextError as exc:
        raise InvalidInput(str(exc)) from None
    if not name:
        raise InvalidInput("Cần ghi tên mới của đơn vị", cli="--name")
    if (name, parent_org, place_name) == (unit.name, unit.parent_org, unit.place_name):
        raise InvalidInput(f"Đơn vị {code} đã mang tên «{name}»: không có gì thay đổi")
    history = former_names(uow.session, unit.id)
    if history and from_day <= history[-1].valid_until + timedelta(days=1):
        last = history[-1].valid_until + timedelta(days=1)
        raise InvalidInput(f"Ngày đổi tên {from_day:%d/%m/%Y} phải sau ngày đổi tên trước ({last:%d/%m/%Y}), "
                           f"khi đơn vị bắt đầu mang tên «{unit.name}»")
    uow.session.add(UnitName(unit_id=unit.id, valid_until=from_day - timedelta(days=1), name=unit.name,
                             parent_org=unit.parent_org, place_name=unit.place_name, changed_by=actor[:200]))
    unit.name, unit.parent_org, unit.place_name = name, parent_org, place_name
    uow.session.add(unit)
    uow.commit()
    return unit
