"""Bounded pages of a campaign's wards (Phòng/xã, phường), whatever their number: a Sở campaign has
one child per ward, 3,321 across the country, and no page or CLI output lists them all at once.

- `find_wards`: THE ward picker, in SQL: the units that supervise the campaign's schools (its issuer
  and the issuers of its children), searched without marks or case (`paging.search`), in Vietnamese
  order, one page at a time. The web picker and its JSON API answer from it.
- `page_of`: one page of an already computed per-ward read model (the dashboard's children, the
  province view's lines), searched with the same fold; the figures stay those of the read model.
- `ward_lines` / `most_late`: the per-ward summary the status command prints.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import search_fold, sort_key
from cdsflow.services import listing
from cdsflow.services.paging import MAX_PER_PAGE, search
from cdsflow.storage.collation import vi_order
from cdsflow.storage.tables import Assessment, Campaign, Unit

WARD_PER_PAGE = 25  # wards on one page of the dashboard, the province view and the picker
SELECT_MAX = 30  # up to this many wards a list filter stays a plain <select>; beyond, the picker
CLI_PER_PAGE = 40  # per-ward lines of `cdsflow campaign status`
CLI_MOST_LATE = 10

T = TypeVar("T")


@dataclass(frozen=True)
class WardPage(Generic[T]):
    """One page of wards: its rows, how many matched the search, how many wards there are in all."""

    rows: list[T]
    total: int
    all: int
    page: int
    pages: int
    per_page: int
    q: str = ""


def read_request(params: Mapping[str, Any], *, q: str = "q", page: str = "page",
                 per_page: int = WARD_PER_PAGE) -> tuple[str, int, int]:
    """(search, page, per page) from a query string under the given names; a page that is not a
    whole number is refused in Vietnamese."""
    def get(key: str) -> str:
        return str(params.get(key, "") or "").strip()

    try:
        number = max(1, int(get(page) or 1))
        size = min(MAX_PER_PAGE, max(1, int(get("per_page") or per_page)))
    except ValueError:
        raise InvalidInput("Số trang và số dòng mỗi trang phải là số nguyên") from None
    return get(q)[:100], number, size


def _pages(total: int, page: int, per_page: int) -> tuple[int, int]:
    """(page clamped to the last, number of pages): a page past the end shows the last one."""
    if page < 1 or per_page < 1:
        raise InvalidInput("Số trang và số dòng mỗi trang phải từ 1 trở lên")
    pages = max(1, -(-total // per_page))
    return min(page, pages), pages


def page_of(items: Sequence[T], name: Callable[[T], str], *, q: str = "", page: int = 1,
            per_page: int = WARD_PER_PAGE) -> WardPage[T]:
    """One page of `items` (already in their order) whose name contains `q`, marks and case ignored
    ("ba dinh" finds "Phường Ba Đình")."""
    folded = search_fold(q)
    matched = [x for x in items if folded in search_fold(name(x))] if folded else list(items)
    page, pages = _pages(len(matched), page, per_page)
    start = (page - 1) * per_page
    return WardPage(matched[start:start + per_page], len(matched), len(items), page, pages, per_page, q)


def _wards_of(campaign_id: int) -> Any:
    """The units issuing the campaign or one of its children: who supervises its schools."""
    return (select(col(Unit.id), col(Unit.name)).join(Campaign, col(Campaign.issuer_id) == col(Unit.id))
            .where(or_(col(Campaign.id) == campaign_id, col(Campaign.parent_id) == campaign_id)))


def _require_campaign(session: Session, campaign_id: int) -> None:
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")


def count_wards(session: Session, campaign_id: int) -> int:
    """How many units supervise the campaign's schools (its issuer and its children's): whether a
    list's ward filter is a plain <select> or the picker, without reading or sorting their names."""
    _require_campaign(session, campaign_id)
    return int(session.execute(select(func.count()).select_from(_wards_of(campaign_id).subquery())).scalar_one())


def find_wards(session: Session, campaign_id: int, *, q: str = "", page: int = 1,
               per_page: int = WARD_PER_PAGE, counted: int | None = None) -> WardPage[tuple[int, str]]:
    """A page of the campaign's wards (unit id, name) matching `q`, in Vietnamese order: two counts
    and one page read, however many wards there are (`counted`: `count_wards`, already asked)."""
    stmt = _wards_of(campaign_id)
    def count(s: Any) -> int:
        return int(session.execute(select(func.count()).select_from(s.subquery())).scalar_one())

    everyone = count_wards(session, campaign_id) if counted is None else counted
    if q.strip():
        stmt = stmt.where(search((Unit.name,), q))
    total = count(stmt) if q.strip() else everyone
    page, pages = _pages(total, page, per_page)
    rows = session.execute(stmt.order_by(vi_order(Unit.name), col(Unit.id))
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return WardPage([(uid, name) for uid, name in rows], total, everyone, page, pages, per_page, q)


def ward_name(session: Session, campaign_id: int, unit_id: int) -> str:
    """The name of the unit a list is filtered by: one of the campaign's wards, or a unit that
    supervises some of its schools (a Sở campaign without children: the province view's lines)."""
    _require_campaign(session, campaign_id)
    name = session.execute(_wards_of(campaign_id).where(col(Unit.id) == unit_id)).first()
    if name is None:
        school = aliased(Unit)
        family = select(col(Campaign.id)).where(or_(col(Campaign.id) == campaign_id,
                                                    col(Campaign.parent_id) == campaign_id))
        supervises = (select(col(Assessment.id)).join(school, col(school.id) == col(Assessment.school_id))
                      .where(col(school.supervisor_id) == unit_id, col(Assessment.campaign_id).in_(family)).exists())
        name = session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id) == unit_id, supervises)).first()
    if name is None:
        raise NotFound(f"Đơn vị số {unit_id} không phải Phòng/xã, phường nào của kế hoạch số {campaign_id}")
    return str(name[1])


@dataclass(frozen=True)
class WardLine:
    """One ward's progress in a Sở campaign: the child campaign that holds its schools (the Sở's own
    for the schools it supervises itself), schools, submitted, late (the province view's figures)."""

    campaign_id: int | None
    name: str
    total: int
    submitted: int
    late: int


def ward_lines(session: Session, campaign_id: int, *, now: datetime | None = None) -> list[WardLine]:
    """Every ward of the campaign with its figures, in Vietnamese order (the province view's lines,
    each with the campaign it can be opened as)."""
    view = listing.province_view(session, campaign_id, now=now)
    campaign_of = {issuer: cid for cid, issuer in session.execute(
        select(col(Campaign.id), col(Campaign.issuer_id))
        .where(or_(col(Campaign.id) == campaign_id, col(Campaign.parent_id) == campaign_id))).all()}
    return [WardLine(campaign_of.get(a.unit_id) if a.unit_id else None, a.name, a.total, a.submitted, a.late)
            for a in view.lines]


class _Figures(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def submitted(self) -> int: ...
    @property
    def late(self) -> int: ...


F = TypeVar("F", bound=_Figures)


def most_late(lines: Sequence[F], n: int = CLI_MOST_LATE) -> list[F]:
    """The `n` wards with the most late schools (ties: most not yet submitted, then by name); a
    ward's line of the status command or of the province view."""
    late = [w for w in lines if w.late]
    return sorted(late, key=lambda w: (-w.late, -(w.total - w.submitted), sort_key(w.name)))[:n]


def search_lines(lines: Sequence[WardLine], campaign_id: int, *, q: str = "", page: int = 1,
                 per_page: int = CLI_PER_PAGE) -> WardPage[WardLine]:
    """A page of the ward lines; a search that matches no ward is refused, naming what was typed."""
    found = page_of(lines, lambda w: w.name, q=q, page=page, per_page=per_page)
    if q.strip() and not found.total:
        raise NotFound(f"Không có Phòng/xã, phường nào khớp «{q.strip()}» trong kế hoạch số {campaign_id}")
    return found
