"""The small query helpers every long list shares (schools, register, accounts, review team,
mailbox): a page request read from a query string and checked, a search term made safe for LIKE,
and one SQL statement counted, sorted and cut into a page. A list declares what it offers in a
`ListSpec`; nothing is loaded into Python to be filtered, sorted or counted."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, func, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import search_fold
from cdsflow.storage.collation import vi_fold

PER_PAGE = 50
MAX_PER_PAGE = 200


def like_pattern(q: str) -> str:
    """`%q%` with the LIKE wildcards typed by the user dropped (a search, not a pattern)."""
    return f"%{q.replace('%', '').replace('_', '')}%"


def search(columns: Iterable[Any], q: str) -> ColumnElement[bool]:
    """THE search of every list: any of `columns` contains what was typed, marks and case ignored
    ("dong hai" and "đông hải" find "Đông Hải")."""
    pattern = like_pattern(search_fold(q))
    return or_(*[vi_fold(c).like(pattern) for c in columns])


def page_numbers(params: Mapping[str, Any], per_page: int = PER_PAGE) -> tuple[int, int]:
    """(page, per page) from a query string; a value that is not a whole number is refused."""
    get: Callable[[str], str] = lambda k: str(params.get(k, "") or "").strip()  # noqa: E731
    try:
        return max(1, int(get("page") or 1)), min(MAX_PER_PAGE, max(1, int(get("per_page") or per_page)))
    except ValueError:
        raise InvalidInput("Số trang và số dòng mỗi trang phải là số nguyên") from None


@dataclass(frozen=True)
class ListSpec:
    """What one list offers: sort keys (column and Vietnamese name), the columns a search reads, and
    filters (name → (allowed values or None for any, value → SQL condition))."""

    sorts: dict[str, tuple[Any, str]]
    default_sort: str
    search: tuple[Any, ...] = ()
    filters: dict[str, tuple[Mapping[str, str] | None, Callable[[str], Any]]] = field(default_factory=dict)
    default_desc: bool = False
    tiebreak: Any = None  # a unique column: pages never share or lose a row

    def natural_desc(self, sort: str) -> bool:
        """The direction of a sort when none is asked: the default sort's own, else ascending."""
        return self.default_desc if sort == self.default_sort else False


@dataclass(frozen=True)
class PageQuery:
    q: str = ""
    sort: str = ""
    desc: bool = False
    page: int = 1
    per_page: int = PER_PAGE
    filters: tuple[tuple[str, str], ...] = ()

    def filter(self, name: str) -> str:
        return dict(self.filters).get(name, "")

    def params(self, spec: ListSpec, **change: Any) -> dict[str, str]:
        """The query string of this request (with `change` applied), defaults left out."""
        filters = {**dict(self.filters), **{k: v for k, v in change.items() if k in spec.filters}}
        q = replace(self, **{k: v for k, v in change.items() if k not in spec.filters})
        out = {"q": q.q, **filters, "sort": "" if q.sort == spec.default_sort else q.sort,
               "dir": ("desc" if q.desc else "asc") if q.desc != spec.natural_desc(q.sort) else "",
               "page": "" if q.page == 1 else str(q.page), "per_page": "" if q.per_page == PER_PAGE else str(q.per_page)}
        return {k: str(v) for k, v in out.items() if v}


def read_query(spec: ListSpec, params: Mapping[str, Any]) -> PageQuery:
    """A page request from a query string; an unknown sort or filter value is refused in Vietnamese."""
    get: Callable[[str], str] = lambda k: str(params.get(k, "") or "").strip()  # noqa: E731
    sort = get("sort") or spec.default_sort
    if sort not in spec.sorts:
        raise InvalidInput(f"Không sắp xếp được theo «{sort}»")
    filters = []
    for name, (allowed, _) in spec.filters.items():
        value = get(name)
        if value and allowed is not None and value not in allowed:
            raise InvalidInput(f"Giá trị lọc không rõ: «{value}»")
        if value:
            filters.append((name, value))
    page, per_page = page_numbers(params)
    desc = {"desc": True, "asc": False}.get(get("dir"), spec.natural_desc(sort))
    return PageQuery(get("q")[:100], sort, desc, page, per_page, tuple(filters))


@dataclass
class Page:
    """One page of a list: its rows, how many matched, and the request it answers (page clamped)."""

    rows: list[Any]
    total: int
    pages: int
    query: PageQuery
    spec: ListSpec

    def url(self, path: str, **change: Any) -> str:
        from urllib.parse import urlencode

        params = self.query.params(self.spec, **change)
        return f"{path}?{urlencode(params)}" if params else path

    def sort_url(self, path: str, key: str) -> str:
        """A header link: sort by it, or flip the direction if it is already the sort."""
        return self.url(path, sort=key, desc=(self.query.sort == key and not self.query.desc), page=1)


def conditions(spec: ListSpec, query: PageQuery) -> list[Any]:
    where = [cond(value) for name, value in query.filters for cond in [spec.filters[name][1]]]
    if query.q and spec.search:
        where.append(search(spec.search, query.q))
    return where


def run(session: Session, stmt: Select[*tuple[Any, ...]], spec: ListSpec, query: PageQuery) -> Page:
    """`stmt` (a select of the rows, already limited to what the user may see) searched, filtered,
    counted, sorted and cut to the asked page (a page past the end shows the last one)."""
    stmt = stmt.where(*conditions(spec, query))
    total = session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    pages = max(1, -(-total // query.per_page))
    page = min(query.page, pages)
    column = spec.sorts[query.sort][0]
    order = [column.is_(None), column.desc() if query.desc else column.asc()]
    if spec.tiebreak is not None:
        order.append(spec.tiebreak.desc() if query.desc else spec.tiebreak.asc())
    rows = session.execute(stmt.order_by(*order).offset((page - 1) * query.per_page).limit(query.per_page)).all()
    return Page(list(rows), total, pages, replace(query, page=page), spec)
