"""The officer's lists: the schools of a campaign (search, filters, sort, pages, ticks for a bulk
step), its Excel exports and the Sở's province view. Translation only: the query string becomes a
`ListQuery`, `actions` checks the scope and `workflow/services/listing.py` runs the SQL."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cdsflow.app.web import actions, exports
from cdsflow.app.web.access import allowed, campaign_for
from cdsflow.app.web.deps import current_principal, get_uow
from cdsflow.app.web.pages import render
from cdsflow.app.web.ward_links import page_url
from cdsflow.calendars.timeutil import local
from cdsflow.kernel.errors import NotFound
from cdsflow.services import ward_picker
from cdsflow.services.accounts import Principal
from cdsflow.services.campaigns import get_campaign
from cdsflow.services.listing import LEVEL_CHOICES, SORT_LABELS, ListQuery, school_levels
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
    listing = actions.school_list(uow, p, campaign_id, query, with_options=False)
    path = f"/campaigns/{campaign_id}/schools"
    query = listing.query

    def sort_url(key: str) -> str:  # a header link: sort by it, or flip the direction if it is the sort
        return _query_url(path, query, sort=key, desc=(query.sort == key and not query.desc), page=1)

    # The ward filter: a plain <select> for a few wards, else the picker (a search, never 3,321 options).
    listing.school_levels = school_levels()
    counted = ward_picker.count_wards(uow.session, campaign_id)
    picker = counted > ward_picker.SELECT_MAX
    if not picker:
        listing.bureaus = ward_picker.find_wards(uow.session, campaign_id, per_page=ward_picker.SELECT_MAX,
                                                 counted=counted).rows
    # A unit that is none of the plan's is named in the refusal, not shown as an empty list.
    chosen = ward_picker.ward_name(uow.session, campaign_id, query.bureau) if query.bureau else ""
    bulk = [(t, STEP_BY_TRIGGER[t].label) for t in actions.BULK_TRIGGERS if allowed(p, t)] if allowed(p, "bulk") else []
    return render(request, "schools.html", p, L=listing, campaign_id=campaign_id, stages=actions.stage_labels(),
                  levels=LEVEL_CHOICES, sort_url=sort_url, sort_labels=SORT_LABELS, path=path,
                  page_url=lambda n: _query_url(path, query, page=n), bulk_triggers=bulk,
                  export=lambda kind: _query_url(f"/campaigns/{campaign_id}/{kind}.xlsx", query, page=1),
                  here=_query_url(path, query), campaign_title=get_campaign(uow, campaign_id).title,
                  picker=picker, ward_chosen=chosen,
                  picker_url=_query_url(f"/campaigns/{campaign_id}/wards", query, bureau=None, page=1))


@pages.get("/campaigns/{campaign_id}/wards")
def ward_picker_page(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
                     uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The picker without JavaScript: a searchable page of the wards, each opening the schools list
    filtered by it (the list's other filters kept)."""
    query = ListQuery.from_params(request.query_params)
    campaign_for(uow, p, campaign_id)
    q, page, per_page = ward_picker.read_request(request.query_params, q="ward_q", page="ward_page")
    wards = ward_picker.find_wards(uow.session, campaign_id, q=q, page=page, per_page=per_page)
    path = f"/campaigns/{campaign_id}/wards"
    keep = query.params(bureau=None, page=1)
    return render(request, "wards.html", p, W=wards, campaign_id=campaign_id, path=path, keep=keep,
                  campaign_title=get_campaign(uow, campaign_id).title,
                  ward_url=page_url(path, q, keep=keep, names=("ward_q", "ward_page")),
                  choose=lambda uid: _query_url(f"/campaigns/{campaign_id}/schools", query, bureau=uid, page=1))


@api.get("/campaigns/{campaign_id}/wards", summary="Tìm Phòng/xã, phường của kế hoạch (từng trang)")
def wards_api(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
              uow: UnitOfWork = Depends(get_uow)) -> dict[str, Any]:
    """A page of the units supervising the campaign's schools whose name contains `q` (marks and case
    ignored: "ba dinh" finds "Phường Ba Đình"), in Vietnamese order; `page`, `per_page` (≤ 200)."""
    campaign_for(uow, p, campaign_id)
    q, page, per_page = ward_picker.read_request(request.query_params, per_page=10)
    w = ward_picker.find_wards(uow.session, campaign_id, q=q, page=page, per_page=per_page)
    return {"q": w.q, "matched": w.total, "all": w.all, "page": w.page, "pages": w.pages, "per_page": w.per_page,
            "wards": [{"id": uid, "name": name} for uid, name in w.rows]}


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
    # A summary and a searchable page of the wards, not one line per ward of the province.
    q, page, per_page = ward_picker.read_request(request.query_params)
    wards = ward_picker.page_of(view.lines, lambda a: a.name, q=q, page=page, per_page=per_page)
    path = f"/campaigns/{campaign_id}/province"
    return render(request, "province.html", p, v=view, campaign_id=campaign_id, wards=wards, path=path,
                  ward_url=page_url(path, q), late_units=sum(1 for a in view.lines if a.late),
                  worst=ward_picker.most_late(view.lines, 5) if len(view.lines) > wards.per_page else [])


@api.get("/campaigns/{campaign_id}/province", summary="Toàn tỉnh theo Phòng/xã, phường")
def province_api(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> dict[str, Any]:
    """Per supervising unit: schools, submitted, late, and schools with no level / level 1 / 2 / 3 per group.
    With `q`, `page` or `per_page`: one page of the units matching `q` (marks and case ignored)."""
    v = actions.province(uow, p, campaign_id)
    line = lambda a: {"unit_id": a.unit_id, "name": a.name, "total": a.total, "submitted": a.submitted,  # noqa: E731
                      "late": a.late, "group1_levels": list(a.levels1), "group2_levels": list(a.levels2)}
    out = {"campaign_id": v.campaign_id, "title": v.title, "computed_at": v.computed_at, "total": line(v.total)}
    if not {"q", "page", "per_page"} & set(request.query_params):  # every unit, as before
        return {**out, "units": [line(a) for a in v.lines]}
    q, page, per_page = ward_picker.read_request(request.query_params)
    w = ward_picker.page_of(v.lines, lambda a: a.name, q=q, page=page, per_page=per_page)
    return {**out, "units": [line(a) for a in w.rows], "matched": w.total, "all": w.all, "page": w.page,
            "pages": w.pages, "per_page": w.per_page}
