"""The officer's lists: the schools of a campaign (search, filters, sort, pages, ticks for a bulk
step), its Excel exports and the Sở's province view. Translation only: the query string becomes a
`ListQuery`, `actions` checks the scope and `workflow/services/listing.py` runs the SQL."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cdsflow.app.web import actions, exports
from cdsflow.app.web.access import allowed, campaign_for
from cdsflow.app.web.deps import current_principal, get_uow
from cdsflow.app.web.pages import render
from cdsflow.calendars.timeutil import local
from cdsflow.kernel.errors import NotFound
from cdsflow.services.accounts import Principal
from cdsflow.services.campaigns import get_campaign
from cdsflow.services.listing import LEVEL_CHOICES, SORT_LABELS, ListQuery
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.machine import STEP_BY_TRIGGER

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["cdsflow"])


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}


def _query_url(path: str, query: ListQuery, **change) -> str:
    params = query.params(**change)
    return f"{path}?{urlencode(params)}" if params else path


@pages.get("/campaigns/{campaign_id}/schools")
def schools(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
            uow: UnitOfWork = Depends(get_uow)) -> Response:
    query = ListQuery.from_params(request.query_params)
    listing = actions.school_list(uow, p, campaign_id, query)
    path = f"/campaigns/{campaign_id}/schools"
    query = listing.query

    def sort_url(key: str) -> str:  # a header link: sort by it, or flip the direction if it is the sort
        return _query_url(path, query, sort=key, desc=(query.sort == key and not query.desc), page=1)

    bulk = [(t, STEP_BY_TRIGGER[t].label) for t in actions.BULK_TRIGGERS if allowed(p, t)] if allowed(p, "bulk") else []
    return render(request, "schools.html", p, L=listing, campaign_id=campaign_id, stages=actions.stage_labels(),
                  levels=LEVEL_CHOICES, sort_url=sort_url, sort_labels=SORT_LABELS, path=path,
                  page_url=lambda n: _query_url(path, query, page=n), bulk_triggers=bulk,
                  export=lambda kind: _query_url(f"/campaigns/{campaign_id}/{kind}.xlsx", query, page=1),
                  here=_query_url(path, query), campaign_title=get_campaign(uow, campaign_id).title)


def _heading(uow: UnitOfWork, campaign_id: int, what: str) -> str:
    title = get_campaign(uow, campaign_id).title
    return f"{what} — {title} — lập lúc {local(datetime.now(UTC))}"


# The three workbooks of the schools list: the list's own filters (the overdue list adds "late"),
# a heading naming the plan and the time, one file name each.
WORKBOOKS = {
    "schools": (exports.schools_xlsx, "Danh sách cơ sở giáo dục", "danh-sach-truong-ke-hoach", False),
    "results": (exports.results_xlsx, "Kết quả đánh giá mức độ CĐS (cập nhật CSDL ngành)", "ket-qua-csdl-nganh-ke-hoach",
                False),
    "overdue": (exports.overdue_xlsx, "Danh sách cơ sở chậm hạn", "truong-cham-han-ke-hoach", True),
}


@pages.get("/campaigns/{campaign_id}/{kind}.xlsx")
def workbook(request: Request, campaign_id: int, kind: str, p: Principal = Depends(current_principal),
             uow: UnitOfWork = Depends(get_uow)) -> Response:
    from dataclasses import replace

    if kind not in WORKBOOKS:
        raise NotFound(f"Không có bảng Excel «{kind}»")
    write, what, name, late = WORKBOOKS[kind]
    query = ListQuery.from_params(request.query_params)
    campaign_for(uow, p, campaign_id, "export_lists")
    lines = actions.school_lines(uow, p, campaign_id, replace(query, late=True) if late else query)
    body = write(lines, _heading(uow, campaign_id, what))
    return Response(body, media_type=exports.XLSX, headers=_attachment(f"{name}-{campaign_id}.xlsx"))


@pages.get("/campaigns/{campaign_id}/province")
def province(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
             uow: UnitOfWork = Depends(get_uow)) -> Response:
    view = actions.province(uow, p, campaign_id)
    return render(request, "province.html", p, v=view, campaign_id=campaign_id)


@api.get("/campaigns/{campaign_id}/province", summary="Toàn tỉnh theo Phòng/xã, phường")
def province_api(campaign_id: int, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    """Per supervising unit: schools, submitted, late, and schools with no level / level 1 / 2 / 3 per group."""
    v = actions.province(uow, p, campaign_id)
    line = lambda a: {"unit_id": a.unit_id, "name": a.name, "total": a.total, "submitted": a.submitted,  # noqa: E731
                      "late": a.late, "group1_levels": list(a.levels1), "group2_levels": list(a.levels2)}
    return {"campaign_id": v.campaign_id, "title": v.title, "computed_at": v.computed_at,
            "total": line(v.total), "units": [line(a) for a in v.lines]}
