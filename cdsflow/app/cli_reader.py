"""Who reads at the command line, for the rule table's reading lines (`services/authorization.py`)."""
from __future__ import annotations

from typing import Any

from cdsflow.services.units import get_unit, unit_id_by_code
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.roles import Role

READER_HELP = "Đọc với quyền của đơn vị này (mặc định: quản trị hệ thống, đọc được mọi hồ sơ)"


def reader(uow: UnitOfWork, unit: str | None) -> ActorRef:
    """A unit given with `--unit` reads in its natural role; without it the person at the command line
    is the installation's operator, whom the rule table treats as the system administrator."""
    if unit:
        return ActorRef("người dùng dòng lệnh", get_unit(uow, unit).id)
    return ActorRef("quản trị hệ thống (dòng lệnh)", None, Role.ADMIN)


def reader_in(session: Any, unit: str | None) -> ActorRef:
    """`reader` for the commands that work on one session."""
    if unit:
        return ActorRef("người dùng dòng lệnh", unit_id_by_code(session, unit))
    return ActorRef("quản trị hệ thống (dòng lệnh)", None, Role.ADMIN)
