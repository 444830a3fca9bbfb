"""Use-cases of the calendar editor: where to start from, shift to a year, check, save a version,
Excel export/import, and the Calendar a launch uses. The web editor and `cdsflow calendar
export/import/shift` both call these."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from cdsflow.calendars.catalog import calendar_name, find_calendar, shipped_calendars
from cdsflow.calendars.draft_check import DraftCheck, check_draft, table_row_label
from cdsflow.calendars.model import Calendar
from cdsflow.calendars.shift import Flag, shift_draft
from cdsflow.calendars.table import Draft, TableError, draft_from_yaml
from cdsflow.calendars.xlsx import excel_row_label, read_calendar_workbook, write_calendar_workbook
from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services.units import chain_of
from cdsflow.storage.calendar_tables import CalendarVersion
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Unit

SHIPPED, SAVED = "shipped", "saved"


@dataclass(frozen=True)
class Source:
    """A calendar an officer may start from: `ref` is 'shipped:hanoi/ba-dinh-2024-2025' or 'saved:12'."""

    ref: str
    label: str
    group: str  # "Lịch mẫu kèm phần mềm" | "Lịch đã lưu của đơn vị" | "Lịch của cấp trên"
    school_year: str


def _saved_label(row: CalendarVersion, unit_name: str) -> str:
    return f"{unit_name} – năm học {row.school_year} – phiên bản {row.version}"


def calendar_sources(uow: UnitOfWork, unit_id: int | None) -> list[Source]:
    """Shipped calendars, this unit's saved ones (newest year first) and its supervisors'."""
    out: list[Source] = []
    if unit_id is not None:
        chain = chain_of(uow.session, unit_id)
        rows = uow.session.execute(
            select(CalendarVersion, col(Unit.name)).join(Unit, col(Unit.id) == CalendarVersion.unit_id)
            .where(col(CalendarVersion.unit_id).in_([unit_id, *chain]))
            .order_by(col(CalendarVersion.school_year).desc(), col(CalendarVersion.version).desc())).all()
        for row, name in rows:
            group = "Lịch đã lưu của đơn vị" if row.unit_id == unit_id else "Lịch của cấp trên"
            out.append(Source(f"{SAVED}:{row.id}", _saved_label(row, name), group, row.school_year))
    for path in shipped_calendars():
        name = calendar_name(path)
        out.append(Source(f"{SHIPPED}:{name}", name, "Lịch mẫu kèm phần mềm", name[-9:]))
    return out


def _saved_row(uow: UnitOfWork, unit_id: int | None, version_id: int) -> CalendarVersion:
    row = uow.session.get(CalendarVersion, version_id)
    visible = unit_id is None or (row is not None and row.unit_id in (unit_id, *chain_of(uow.session, unit_id)))
    if row is None or not visible:
        raise NotFound(f"Không tìm thấy lịch đã lưu số {version_id} trong phạm vi đơn vị của bạn")
    return row


def source_text(uow: UnitOfWork, unit_id: int | None, ref: str) -> str:
    """The YAML text of a source. Only shipped names and saved ids: never a path from a request."""
    kind, _, value = ref.partition(":")
    if kind == SHIPPED:
        if value not in {calendar_name(p) for p in shipped_calendars()}:
            raise NotFound(f"Không có lịch mẫu «{value}»")
        return safeyaml.read_text(find_calendar(value))
    if kind == SAVED and value.isdigit():
        return _saved_row(uow, unit_id, int(value)).content
    raise NotFound(f"Không rõ lịch nguồn «{ref}» (dạng shipped:TÊN hoặc saved:SỐ)")


def _draft(text: str) -> Draft:
    try:
        return draft_from_yaml(text)
    except TableError as err:
        raise InvalidInput(f"Lịch không mở được trong bảng: {err}") from None


def open_draft(uow: UnitOfWork, unit_id: int | None, ref: str, school_year: str | None = None) -> tuple[Draft, list[Flag]]:
    """The source as a table, moved to `school_year` when given (with its day-off flags)."""
    draft = _draft(source_text(uow, unit_id, ref))
    if not school_year:
        return draft, []
    return shift(draft, school_year)


def shift(draft: Draft, school_year: str) -> tuple[Draft, list[Flag]]:
    try:
        return shift_draft(draft, school_year.strip())
    except TableError as err:
        raise InvalidInput(f"Không dời lịch được: {err}") from None


def validate(draft: Draft, *, excel: bool = False, uow: UnitOfWork | None = None,
             unit_id: int | None = None) -> DraftCheck:
    """THE validator of `cdsflow calendar check`, rows named as the officer sees them. With `uow`, a
    parent calendar saved in the database ("saved:12", one the unit may see) is read from there."""
    ref = (draft.header.get("parent_calendar") or "").strip()
    parents = None
    if uow is not None and ref.startswith(f"{SAVED}:"):
        try:
            parents = {ref: source_text(uow, unit_id, ref)}
        except NotFound:
            parents = None  # said by the validator: "không tìm thấy lịch cấp trên"
    return check_draft(draft, row_label=excel_row_label if excel else table_row_label, parent_texts=parents)


def _refuse(check: DraftCheck, what: str) -> InvalidInput:
    errors = [p.text for p in check.errors]
    return InvalidInput(f"{what}: {len(errors)} lỗi, chưa lưu gì. {errors[0]}", details=errors[1:])


def save_calendar(uow: UnitOfWork, unit_id: int, draft: Draft, *, actor: str, based_on: str = "",
                  excel: bool = False, now: datetime | None = None) -> CalendarVersion:
    """A new version of the unit's calendar for the draft's school year; refused whole on any error."""
    check = validate(draft, excel=excel, uow=uow, unit_id=unit_id)
    if not check.ok:
        raise _refuse(check, "Lịch không hợp lệ")
    cal = check.calendar
    assert cal is not None  # a valid draft has its calendar
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị số {unit_id}")
    latest = uow.session.execute(select(func.max(CalendarVersion.version)).where(
        CalendarVersion.unit_id == unit_id, CalendarVersion.school_year == cal.school_year)).scalar()
    row = CalendarVersion(
        unit_id=unit_id, school_year=cal.school_year, version=(latest or 0) + 1, issuer=cal.issuer[:300],
        content=check.yaml, content_hash=hashlib.sha256(check.yaml.encode()).hexdigest(), based_on=based_on[:300],
        created_by=actor[:200], created_at=now or datetime.now(UTC))
    uow.session.add(row)
    uow.commit()
    return row


def saved_calendar(uow: UnitOfWork, unit_id: int | None, version_id: int) -> Calendar:
    """The Calendar of a saved version, checked again (the parent it names may have changed)."""
    row = _saved_row(uow, unit_id, version_id)
    check = validate(_draft(row.content), uow=uow, unit_id=row.unit_id)
    if not check.ok:
        raise _refuse(check, f"Lịch đã lưu số {version_id} không còn hợp lệ")
    assert check.calendar is not None  # a valid draft has its calendar
    return dataclasses.replace(check.calendar, source=Path(f"calendar_version/{row.id}"), content_hash=row.content_hash)


def draft_of(uow: UnitOfWork, unit_id: int | None, source: str) -> Draft:
    """For the command line: a file (.yaml or .xlsx), a shipped name, or 'saved:ID'."""
    path = Path(source)
    if path.suffix.lower() == ".xlsx":
        return read_calendar_workbook(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return _draft(safeyaml.read_text(path))
        except safeyaml.YamlInputError as err:
            raise InvalidInput(str(err)) from None
    return _draft(source_text(uow, unit_id, source if ":" in source else f"{SHIPPED}:{source}"))


def export_workbook(uow: UnitOfWork, unit_id: int | None, ref: str, path: str | Path,
                    school_year: str | None = None) -> tuple[Path, list[Flag]]:
    draft, flags = open_draft(uow, unit_id, ref, school_year)
    return write_calendar_workbook(draft, path), flags


def import_workbook(uow: UnitOfWork, unit_id: int, path: str | Path, *, actor: str) -> CalendarVersion:
    """Every bad row named ("Dòng 7: …", the row of the sheet «Các mốc»); nothing saved on error."""
    draft = read_calendar_workbook(path)
    return save_calendar(uow, unit_id, draft, actor=actor, based_on=f"Excel: {Path(path).name}", excel=True)
