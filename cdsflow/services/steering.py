"""Use-cases of a unit's steering group for IT and digital transformation (bộ phận chỉ đạo, phụ trách
ứng dụng CNTT và CĐS, criterion 2.1): store the member list, read it back. Validated whole before
the first write, so a refused list leaves the stored one exactly as it was."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text, fold
from cdsflow.services import authorization
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.steering_tables import SteeringMember
from cdsflow.storage.tables import Unit
from cdsflow.workflow.bodies import steering_role_problems
from cdsflow.workflow.context import ActorRef

STEERING_ROLES = {"head": "Trưởng ban", "deputy": "Phó Trưởng ban", "secretary": "Thư ký", "member": "Thành viên"}
_ALIASES = {fold(v): k for k, v in STEERING_ROLES.items()} | {k: k for k in STEERING_ROLES} | {
    "truongbophan": "head", "photruongbophan": "deputy", "uyvien": "member", "thanhvien": "member"}
# Columns of the member file (CLI) and of the web form's pasted table.
STEERING_COLUMNS = {"full_name": ["Họ và tên", "Họ tên"], "position": ["Chức vụ"], "role": ["Vai trò", "Nhiệm vụ trong ban"],
                    "duties": ["Nhiệm vụ", "Nhiệm vụ phân công"], "email": ["Email", "Thư điện tử"],
                    "phone": ["Điện thoại", "Số điện thoại"]}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 .]{8,15}$")


@dataclass(frozen=True)
class SteeringInput:
    full_name: str
    role: str
    position: str = ""
    duties: str = ""
    email: str = ""
    phone: str = ""


def _unit(session: Session, code: str) -> Unit:
    unit: Unit | None = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị có mã «{code}»")
    return unit


def set_steering(uow: UnitOfWork, unit_code: str, members: Sequence[SteeringInput], actor: ActorRef | str,
                 *, now: datetime | None = None) -> int:
    """Replace the unit's member list (the rulebook's `set_steering`); refused whole, naming every
    problem. A bare name is a person at the command line acting for the unit itself."""
    session = uow.session
    unit = _unit(session, unit_code)
    if isinstance(actor, str):
        actor = ActorRef(actor, unit.id)
    authorization.check_unit(session, actor, "set_steering", unit.id, now=now)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(members, start=1):
        where = f"Dòng {i}"
        values = {}
        for key, label in (("full_name", "họ và tên"), ("position", "chức vụ"), ("duties", "nhiệm vụ"),
                           ("email", "email"), ("phone", "điện thoại")):
            try:
                values[key] = clean_text(getattr(m, key) or "", field=label)
            except TextError as err:
                problems.append(f"{where}: {err}")
                values[key] = ""
        if not values["full_name"]:
            problems.append(f"{where}: thiếu họ và tên")
        else:
            where = f"{where} ({values['full_name']})"
        role = _ALIASES.get(fold(m.role or ""))
        if role is None:
            problems.append(f"{where}: vai trò không rõ «{m.role}» (dùng: {', '.join(STEERING_ROLES.values())})")
        if values["email"] and not _EMAIL.match(values["email"]):
            problems.append(f"{where}: email không hợp lệ «{values['email']}»")
        if values["phone"] and not _PHONE.match(values["phone"]):
            problems.append(f"{where}: số điện thoại không hợp lệ «{values['phone']}»")
        rows.append({"unit_id": unit.id, "position_order": i, "role": role, **values})
    problems += steering_role_problems([r["role"] for r in rows])
    if problems:
        raise InvalidInput(f"Danh sách bộ phận chỉ đạo của {unit.name} có lỗi; chưa lưu gì:", details=problems)
    at = now or datetime.now(UTC)
    session.execute(delete(SteeringMember).where(col(SteeringMember.unit_id) == unit.id))
    session.execute(insert(SteeringMember), [{**r, "updated_by": actor.name, "updated_at": at} for r in rows])
    uow.commit()
    return len(rows)


def steering_members(session: Session, unit_id: int) -> list[SteeringMember]:
    """The unit's stored list in its order ([] when none was stored)."""
    return list(session.execute(select(SteeringMember).where(SteeringMember.unit_id == unit_id)
                                .order_by(col(SteeringMember.position_order))).scalars())


def unit_steering(uow: UnitOfWork, unit_code: str) -> list[SteeringMember]:
    """The steering group of the unit with this code (NotFound in Vietnamese when there is no such unit)."""
    return steering_members(uow.session, _unit(uow.session, unit_code).id)
