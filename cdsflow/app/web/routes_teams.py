"""The external review team (đoàn đánh giá ngoài) of a campaign: page, form and JSON API.

Officers of the issuing unit (or above) form the team and schedule its visits; reviewers, clerks
and administrators of those units read it. The service checks the issuer rule once more.
"""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from cdsflow.app.web.access import allowed, campaign_for, require
from cdsflow.app.web.actions import actor
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.pages import NOTICES, render
from cdsflow.calendars.timeutil import iso_dates
from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.services import long_lists
from cdsflow.services import review_teams as svc
from cdsflow.services.accounts import Principal
from cdsflow.services.campaigns import family_ids
from cdsflow.storage.db import UnitOfWork

NOTICES["team"] = "Đã lưu Đoàn đánh giá ngoài."
NOTICES["visits"] = "Đã lưu lịch làm việc của đoàn."

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["cdsflow"])


# --- use-cases (role and scope first, then the service) ----------------------------------------


def team_of(uow: UnitOfWork, p: Principal, campaign_id: int, *, with_schools: bool = True) -> svc.TeamView:
    require(p, "view_team")
    campaign_for(uow, p, campaign_id)
    return svc.show_team(uow, campaign_id, with_schools=with_schools)


def form_team(uow: UnitOfWork, p: Principal, campaign_id: int, members: list[svc.TeamMemberInput], *,
              name: str = "", period_start: date | None = None, period_end: date | None = None) -> svc.TeamView:
    require(p, "form_team")
    campaign_for(uow, p, campaign_id)
    return svc.set_team(uow, campaign_id, members, actor(p), name=name, period_start=period_start,
                        period_end=period_end)


def schedule(uow: UnitOfWork, p: Principal, campaign_id: int, visits: list[svc.VisitInput]) -> svc.TeamView:
    require(p, "form_team")
    campaign_for(uow, p, campaign_id)
    return svc.schedule_visits(uow, campaign_id, visits, actor(p))


def _day(value: str, label: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(iso_dates(value))  # the date picker's 2026-03-10, or 10/03/2026 as typed
    except ValueError:
        raise InvalidInput(f"{label}: ngày không hợp lệ «{value[:20]}» (viết ngày/tháng/năm, ví dụ 10/03/2026)") from None


# --- pages ---------------------------------------------------------------------------------------


def _page(request: Request, p: Principal, uow: UnitOfWork, campaign_id: int, status: int = 200,
          members: list | None = None, **extra) -> Response:
    team = team_of(uow, p, campaign_id, with_schools=False)
    visits = long_lists.visits_page(uow.session, request.query_params, family_ids(uow.session, campaign_id),
                                    team.team_id, [s.value for s in svc.VISITABLE])
    rows = members if members is not None else team.members
    start, end = svc.review_period(uow, campaign_id)
    return render(request, "team.html", p, status, t=team, members=rows, blank_rows=max(2, 6 - len(rows)),
                  V=visits, visit_rows=[svc.VisitView(aid, code, name, Stage(state), day, part or "")
                                        for aid, code, name, state, day, part in visits.rows],
                  list_path=f"/campaigns/{campaign_id}/team",
                  stage_choices=[(s.value, s.label) for s in sorted(svc.VISITABLE, key=lambda s: s.order)],
                  roles=svc.TEAM_ROLES, sessions=svc.SESSIONS, can_edit=allowed(p, "form_team"),
                  default_start=team.period_start or start, default_end=team.period_end or end, **extra)


@pages.get("/campaigns/{campaign_id}/team")
def team_page(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
              uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _page(request, p, uow, campaign_id)


@pages.post("/campaigns/{campaign_id}/team")
async def team_save(request: Request, campaign_id: int, p: Principal = Depends(checked_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    columns = [form.getlist(k) for k in ("full_name", "role", "position", "workplace", "username")]
    members = [svc.TeamMemberInput(*(str(v) for v in row)) for row in zip(*columns, strict=False)
               if str(row[0]).strip() or str(row[2]).strip() or str(row[3]).strip()]
    try:
        form_team(uow, p, campaign_id, members, name=str(form.get("name", "")),
                  period_start=_day(str(form.get("period_start", "")), "Từ ngày"),
                  period_end=_day(str(form.get("period_end", "")), "Đến ngày"))
    except CdsError as err:
        uow.rollback()
        return _page(request, p, uow, campaign_id, status_of(err), members=members, error=err.message,
                     details=err.details)
    return RedirectResponse(f"/campaigns/{campaign_id}/team?done=team", status_code=303)


@pages.post("/campaigns/{campaign_id}/team/visits")
async def visits_save(request: Request, campaign_id: int, p: Principal = Depends(checked_principal),
                      uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    try:
        # One date and one session field per school ("date:<assessment id>"); an empty date removes the visit.
        visits = [svc.VisitInput(int(key[5:]), _day(str(value), "Ngày làm việc"), str(form.get(f"session:{key[5:]}", "")))
                  for key, value in form.multi_items() if key.startswith("date:") and key[5:].isdigit()]
        schedule(uow, p, campaign_id, visits)
    except CdsError as err:
        uow.rollback()
        return _page(request, p, uow, campaign_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/campaigns/{campaign_id}/team?done=visits#lich", status_code=303)


# --- API -----------------------------------------------------------------------------------------


class TeamMemberIO(BaseModel):
    full_name: str
    role: str = Field(description="head | deputy | secretary | member (hoặc Trưởng đoàn, Phó Trưởng đoàn, Thư ký, Thành viên)")
    position: str = ""
    workplace: str = ""
    username: str = Field(default="", description="Tài khoản web của thành viên (nếu có)")


class SchoolVisitOut(BaseModel):
    assessment_id: int
    school_code: str
    school_name: str
    stage: str
    visit_date: date | None
    session: str


class TeamOut(BaseModel):
    campaign_id: int
    exists: bool
    name: str
    period_start: date | None
    period_end: date | None
    created_by: str
    members: list[TeamMemberIO]
    schools: list[SchoolVisitOut] = Field(description="Các cơ sở đã gửi tờ trình, kèm lịch làm việc nếu đã xếp")


class TeamIn(BaseModel):
    name: str = ""
    period_start: date | None = Field(default=None, description="Mặc định: thời gian đánh giá ngoài trong lịch")
    period_end: date | None = None
    members: list[TeamMemberIO]


class VisitIn(BaseModel):
    school: str | int = Field(description="Mã cơ sở giáo dục hoặc số hồ sơ")
    visit_date: date | None = Field(description="Để trống (null) để bỏ lịch của cơ sở này")
    session: str = "sáng"


class VisitsIn(BaseModel):
    visits: list[VisitIn]


def _out(t: svc.TeamView) -> TeamOut:
    return TeamOut(
        campaign_id=t.campaign_id, exists=t.exists, name=t.name, period_start=t.period_start,
        period_end=t.period_end, created_by=t.created_by,
        members=[TeamMemberIO(full_name=m.full_name, role=m.role, position=m.position, workplace=m.workplace,
                              username=m.username) for m in t.members],
        schools=[SchoolVisitOut(assessment_id=s.assessment_id, school_code=s.school_code, school_name=s.school_name,
                                stage=s.stage.value, visit_date=s.visit_date, session=s.session) for s in t.schools],
    )


@api.get("/campaigns/{campaign_id}/team", response_model=TeamOut, summary="Đoàn đánh giá ngoài của kế hoạch")
def api_team(campaign_id: int, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    return _out(team_of(uow, p, campaign_id))


@api.put("/campaigns/{campaign_id}/team", response_model=TeamOut, summary="Thành lập (hoặc thay) Đoàn đánh giá ngoài")
def api_set_team(campaign_id: int, body: TeamIn, p: Principal = Depends(checked_principal),
                 uow: UnitOfWork = Depends(get_uow)):
    members = [svc.TeamMemberInput(**m.model_dump()) for m in body.members]
    return _out(form_team(uow, p, campaign_id, members, name=body.name, period_start=body.period_start,
                          period_end=body.period_end))


@api.put("/campaigns/{campaign_id}/team/visits", response_model=TeamOut, summary="Xếp lịch làm việc của đoàn")
def api_visits(campaign_id: int, body: VisitsIn, p: Principal = Depends(checked_principal),
               uow: UnitOfWork = Depends(get_uow)):
    visits = [svc.VisitInput(v.school, v.visit_date, v.session) for v in body.visits]
    return _out(schedule(uow, p, campaign_id, visits))
