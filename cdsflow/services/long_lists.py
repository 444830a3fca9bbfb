"""The long lists besides the schools list: accounts, the register of papers, the review team's
schools and the mail queue. Each declares its sorts, searches and filters once (a `ListSpec`) and
is served by `paging.run`: one SQL count and one page, whatever the size of the table."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, literal, true
from sqlalchemy.orm import Session, aliased
from sqlmodel import col, select

from cdsflow.kernel.stages import STAGE_ORDER
from cdsflow.services.paging import ListSpec, Page, read_query, run
from cdsflow.storage.collation import vi_order
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.review_tables import ReviewVisit
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.web_tables import Account
from cdsflow.workflow.roles import Role

# --- accounts ----------------------------------------------------------------------------------------

ACCOUNTS = ListSpec(
    sorts={"username": (Account.username, "Tên đăng nhập"), "name": (vi_order(Account.full_name), "Họ và tên"),
           "role": (Account.role, "Vai trò"), "unit": (vi_order(Unit.name), "Đơn vị"), "email": (Account.email, "Địa chỉ thư"),
           "active": (Account.active, "Trạng thái")},
    default_sort="username",
    search=(Account.username, Account.full_name, Account.email, Unit.code, Unit.name),
    filters={"role": ({r.value: r.label for r in Role}, lambda v: Account.role == v),
             "unit": (None, lambda v: Unit.code == v),
             "disabled": ({"1": "Đã khóa", "0": "Đang hoạt động"}, lambda v: col(Account.active).is_(v == "0"))},
    tiebreak=Account.id,
)


def accounts_page(session: Session, params: Mapping[str, Any]) -> Page:
    """Rows: (Account, unit code, unit name)."""
    stmt = select(Account, col(Unit.code), col(Unit.name)).outerjoin(Unit, col(Unit.id) == Account.unit_id)
    return run(session, stmt, ACCOUNTS, read_query(ACCOUNTS, params))


# --- the register of papers (numbered ones only: drafts are not in the sổ) -------------------------------

ISSUER = aliased(Unit, name="issuer")
SCHOOL = aliased(Unit, name="school")
DOC_STATUSES = {"issued": "Đang hiệu lực", "voided": "Đã hủy", "replaced": "Đã được thay thế"}


def register_spec(types: Mapping[str, str]) -> ListSpec:
    return ListSpec(
        sorts={"number": (GeneratedDocument.id, "Số"), "day": (GeneratedDocument.issued_on, "Ngày"),
               "type": (GeneratedDocument.doc_type, "Loại văn bản"), "unit": (vi_order(ISSUER.name), "Đơn vị"),
               "school": (SCHOOL.code, "Trường")},
        default_sort="number", default_desc=True,  # a register is read newest first
        search=(GeneratedDocument.number_line, GeneratedDocument.subject, ISSUER.name, ISSUER.code, SCHOOL.code,
                SCHOOL.name),
        filters={"type": (dict(types), lambda v: GeneratedDocument.doc_type == v),
                 "unit": (None, lambda v: ISSUER.code == v),
                 "status": (DOC_STATUSES, lambda v: GeneratedDocument.status == v)},
        tiebreak=GeneratedDocument.id,
    )


def unit_scope(unit_id: int | None, *, everything: bool = False, own_only: bool = False) -> Select[tuple[int]] | None:
    """The units a person may see as a SELECT of ids (their unit and every unit under it, walked by a
    recursive query), or None for everything."""
    if everything:
        return None
    if unit_id is None:
        return select(literal(-1))
    if own_only:
        return select(literal(unit_id))
    tree = select(Unit.id).where(Unit.id == unit_id).cte("scope", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.supervisor_id == tree.c.id))
    return select(tree.c.id)


def register_page(session: Session, params: Mapping[str, Any], types: Mapping[str, str], scope: Select[tuple[int]] | None,
                  *, school_id: int | None = None) -> Page:
    """Rows: (GeneratedDocument, issuer code, issuer name, school code); `scope` from `unit_scope`:
    a paper is seen when the unit it concerns (its school, else its issuer) is in scope."""
    spec = register_spec(types)
    stmt = (select(GeneratedDocument, ISSUER.code, ISSUER.name, SCHOOL.code)
            .join(ISSUER, col(ISSUER.id) == GeneratedDocument.unit_id)
            .outerjoin(SCHOOL, col(SCHOOL.id) == GeneratedDocument.school_id)
            .where(col(GeneratedDocument.number).is_not(None)))
    if scope is not None:
        stmt = stmt.where(func.coalesce(GeneratedDocument.school_id, GeneratedDocument.unit_id).in_(scope))
    if school_id is not None:
        stmt = stmt.where(GeneratedDocument.school_id == school_id)
    return run(session, stmt, spec, read_query(spec, params))


# --- the review team's schools and visits ----------------------------------------------------------

VISITS = ListSpec(
    sorts={"visit": (ReviewVisit.visit_date, "Ngày"), "code": (Unit.code, "Mã"), "name": (vi_order(Unit.name), "Cơ sở giáo dục"),
           "stage": (Assessment.state, "Giai đoạn")},
    default_sort="visit",
    search=(Unit.code, Unit.name),
    filters={"stage": ({s.value: s.label for s in STAGE_ORDER}, lambda v: Assessment.state == v),
             "visit": ({"1": "Đã xếp lịch", "0": "Chưa xếp lịch"},
                       lambda v: col(ReviewVisit.id).is_not(None) if v == "1" else col(ReviewVisit.id).is_(None))},
    tiebreak=Unit.code,
)


def visits_page(session: Session, params: Mapping[str, Any], campaign_ids: list[int], team_id: int | None,
                visitable: list[str]) -> Page:
    """Rows: (assessment id, school code, school name, stage, visit date, session): the schools that
    proposed (or already have a visit) in the campaign's family."""
    visit_join = (col(ReviewVisit.assessment_id) == Assessment.id) & (
        ReviewVisit.team_id == team_id if team_id is not None else ~true())
    stmt = (select(col(Assessment.id), col(Unit.code), col(Unit.name), col(Assessment.state), col(ReviewVisit.visit_date),  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
                   col(ReviewVisit.session))
            .join(Unit, Unit.id == Assessment.school_id).outerjoin(ReviewVisit, visit_join)
            .where(col(Assessment.campaign_id).in_(campaign_ids),
                   col(Assessment.state).in_(visitable) | col(ReviewVisit.id).is_not(None)))
    return run(session, stmt, VISITS, read_query(VISITS, params))


# --- the mail queue ----------------------------------------------------------------------------------

MAIL_STATUSES = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Thất bại"}
OUTBOX = ListSpec(
    sorts={"created": (OutboxMessage.created_at, "Lập lúc"), "recipient": (OutboxMessage.recipient, "Tới"),
           "subject": (vi_order(OutboxMessage.subject), "Tiêu đề"), "status": (OutboxMessage.status, "Trạng thái"),
           "attempts": (OutboxMessage.attempts, "Số lần thử")},
    default_sort="created", default_desc=True,
    search=(OutboxMessage.recipient, OutboxMessage.subject),
    filters={"status": (MAIL_STATUSES, lambda v: OutboxMessage.status == v)},
    tiebreak=OutboxMessage.id,
)


def outbox_page(session: Session, params: Mapping[str, Any]) -> Page:
    """Rows: (id, created at, recipient, subject, status, attempts, sent at, last error)."""
    o = OutboxMessage
    stmt = select(o.id, o.created_at, o.recipient, o.subject, o.status, o.attempts, o.sent_at, o.last_error)  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
    return run(session, stmt, OUTBOX, read_query(OUTBOX, params))
