"""The JSON API (/api/...): the same use-cases as the pages, session cookie + X-CSRF-Token header."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cdsflow.app.web import actions
from cdsflow.app.web.deps import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    checked_principal,
    client_address,
    cookie_secure,
    current_principal,
    get_uow,
    link_base,
    set_device_cookie,
)
from cdsflow.services import accounts as account_svc
from cdsflow.services.accounts import Principal
from cdsflow.services.assessments import MemberInput
from cdsflow.services.listing import ListQuery
from cdsflow.services.mail import nudge_message
from cdsflow.storage.db import UnitOfWork

router = APIRouter(prefix="/api", tags=["cdsflow"])


class LoginIn(BaseModel):
    username: str
    password: str


class Me(BaseModel):
    username: str
    full_name: str
    role: str
    role_label: str
    unit_id: int | None
    unit_name: str
    csrf_token: str = Field(description="Gửi lại trong tiêu đề X-CSRF-Token ở mọi yêu cầu ghi")


def _me(p: Principal) -> Me:
    return Me(username=p.username, full_name=p.full_name, role=p.role.value, role_label=p.role.label,
              unit_id=p.unit_id, unit_name=p.unit_name, csrf_token=p.csrf_token)


@router.post("/login", response_model=Me, summary="Đăng nhập (đặt cookie phiên)")
def login(body: LoginIn, request: Request, uow: UnitOfWork = Depends(get_uow)):
    account = account_svc.authenticate(uow, body.username, body.password, client=client_address(request),
                                       device=request.cookies.get(DEVICE_COOKIE))
    token = account_svc.open_session(uow, account)
    p = account_svc.principal_for(uow, token)
    response = JSONResponse(_me(p).model_dump())
    set_device_cookie(request, response, uow, account)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=cookie_secure(request))
    return response


@router.post("/logout", summary="Đăng xuất")
def logout(request: Request, p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)):
    account_svc.close_session(uow, request.cookies.get(SESSION_COOKIE))
    response = JSONResponse({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, summary="Người đang đăng nhập")
def me(p: Principal = Depends(current_principal)):
    return _me(p)


# --- campaigns -------------------------------------------------------------------------------


class CampaignOut(BaseModel):
    id: int
    parent_id: int | None
    issuer_name: str
    school_year: str
    title: str
    status: str
    index_set_code: str
    assessments: int


@router.get("/campaigns", response_model=list[CampaignOut], summary="Các kế hoạch trong phạm vi")
def campaigns(p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    return [CampaignOut(id=r.id, parent_id=r.parent_id, issuer_name=r.issuer_name, school_year=r.school_year,
                        title=r.title, status=r.status.value, index_set_code=r.index_set_code,
                        assessments=r.assessments) for r in actions.campaigns(uow, p)]


class LaunchIn(BaseModel):
    school_year: str = Field(examples=["2024-2025"])
    index_set: str = "4725"
    calendar: str | None = Field(default=None, description="Tên lịch mẫu, ví dụ hanoi/ba-dinh-2024-2025")
    title: str | None = None
    spawn_children: bool = False


class LaunchOut(BaseModel):
    campaign_id: int
    child_ids: list[int]
    assessments: int


@router.post("/campaigns", response_model=LaunchOut, status_code=201, summary="Phát động kế hoạch")
def launch(body: LaunchIn, request: Request, p: Principal = Depends(checked_principal),
           uow: UnitOfWork = Depends(get_uow)):
    r = actions.launch(uow, p, school_year=body.school_year, index_set_code=body.index_set,
                       calendar=body.calendar,
                       title=body.title, spawn_children=body.spawn_children)
    return LaunchOut(campaign_id=r.campaign_id, child_ids=list(r.child_ids), assessments=r.assessments)


class StageOut(BaseModel):
    stage: str
    label: str
    count: int
    next_milestone: str | None
    due_at: datetime | None
    late: bool


class LateOut(BaseModel):
    assessment_id: int
    school_code: str
    school_name: str
    stage: str
    milestone: str
    due_at: datetime


class DashboardOut(BaseModel):
    campaign_id: int
    title: str
    issuer_name: str
    school_year: str
    status: str
    total: int
    submitted: int
    stages: list[StageOut]
    late_total: int
    late: list[LateOut]


@router.get("/campaigns/{campaign_id}", response_model=DashboardOut, summary="Bảng theo dõi kế hoạch")
def dashboard(campaign_id: int, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    s = actions.dashboard(uow, p, campaign_id)
    return DashboardOut(
        campaign_id=s.campaign_id, title=s.title, issuer_name=s.issuer_name, school_year=s.school_year,
        status=s.status.value, total=s.total, submitted=s.submitted, late_total=s.late_total,
        stages=[StageOut(stage=line.stage.value, label=line.stage.label, count=line.count,
                         next_milestone=line.next_milestone.title if line.next_milestone else None,
                         due_at=line.next_milestone.due_at if line.next_milestone else None, late=line.late)
                for line in s.stages],
        late=[LateOut(assessment_id=x.assessment_id, school_code=x.school_code, school_name=x.school_name,
                      stage=x.stage.value, milestone=x.milestone.title, due_at=x.milestone.due_at) for x in s.late],
    )


class TriggerIn(BaseModel):
    trigger: str


@router.post("/campaigns/{campaign_id}/advance", summary="Chuyển trạng thái kế hoạch")
def advance_campaign(campaign_id: int, body: TriggerIn, p: Principal = Depends(checked_principal),
                     uow: UnitOfWork = Depends(get_uow)):
    return {"status": actions.advance_campaign(uow, p, campaign_id, body.trigger).value}


class BulkOut(BaseModel):
    trigger: str
    done: int
    refused: list[str]


@router.post("/campaigns/{campaign_id}/bulk", response_model=BulkOut, summary="Thao tác hàng loạt")
def bulk(campaign_id: int, body: TriggerIn, p: Principal = Depends(checked_principal),
         uow: UnitOfWork = Depends(get_uow)):
    r = actions.bulk_transition(uow, p, campaign_id, body.trigger)
    return BulkOut(trigger=r.trigger, done=r.done, refused=r.refused)


class SchoolRow(BaseModel):
    assessment_id: int
    school_code: str
    school_name: str
    stage: str
    stage_label: str
    bureau: str
    school_level: str
    self_group1: float | None
    self_group1_level: int | None
    self_group2: float | None
    self_group2_level: int | None
    external_group1: float | None
    external_group1_level: int | None
    external_group2: float | None
    external_group2_level: int | None
    sends: int
    submitted_at: datetime | None
    days_late: int | None


@router.get("/campaigns/{campaign_id}/schools", response_model=list[SchoolRow], summary="Danh sách cơ sở",
            description="Lọc: q, stage, late=1, bureau, school_level, level1, level2 (0 = chưa đạt mức); "
                        "sắp xếp: sort (code, name, bureau, stage, self1, self2, ext1, ext2, sends, submitted), "
                        "dir=desc; phân trang: page, per_page (tối đa 200). Tổng số dòng khớp: tiêu đề X-Total-Count.")
def schools(campaign_id: int, request: Request, response: Response, p: Principal = Depends(current_principal),
            uow: UnitOfWork = Depends(get_uow)):
    asked = ListQuery.from_params(request.query_params)
    page = actions.school_list(uow, p, campaign_id, asked, with_options=False)
    response.headers["X-Total-Count"] = str(page.total)
    if asked.page > page.pages:  # a client paging until empty gets empty, not the last page again (the web clamps)
        return []
    return [SchoolRow(assessment_id=x.assessment_id, school_code=x.code, school_name=x.name, stage=x.stage.value,
                      stage_label=x.stage.label, bureau=x.bureau, school_level=x.school_level, self_group1=x.self1,
                      self_group1_level=x.self1_level, self_group2=x.self2, self_group2_level=x.self2_level,
                      external_group1=x.ext1, external_group1_level=x.ext1_level, external_group2=x.ext2,
                      external_group2_level=x.ext2_level, sends=x.sends, submitted_at=x.submitted_at,
                      days_late=x.days_late) for x in page.rows]


# --- assessments -----------------------------------------------------------------------------


class MemberIO(BaseModel):
    full_name: str
    role: str
    position: str = ""
    duties: str = ""
    email: str = ""
    phone: str = ""


class EventOut(BaseModel):
    at: datetime
    actor: str
    trigger: str
    from_state: str | None
    to_state: str
    reason: str
    details: dict | None


class AssessmentOut(BaseModel):
    id: int
    campaign_id: int
    campaign_title: str
    school_code: str
    school_name: str
    stage: str
    stage_label: str
    version: int
    locked: bool
    proposal_count: int
    next_milestone: str | None
    due_at: datetime | None
    days_left: int | None
    allowed_triggers: list[str]
    committee: list[MemberIO]


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, summary="Hồ sơ của một cơ sở")
def assessment(assessment_id: int, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    page = actions.school_page(uow, p, assessment_id)
    v = page.view
    return AssessmentOut(
        id=v.id, campaign_id=v.campaign_id, campaign_title=v.campaign_title, school_code=v.school_code,
        school_name=v.school_name, stage=v.stage.value, stage_label=v.stage.label, version=v.version,
        locked=v.locked, proposal_count=v.proposal_count,
        next_milestone=v.next_milestone[0] if v.next_milestone else None,
        due_at=v.next_milestone[1] if v.next_milestone else None, days_left=page.days_left,
        allowed_triggers=[t for t, _ in page.triggers],
        committee=[MemberIO(full_name=m.full_name, role=m.role, position=m.position, duties=m.duties,
                            email=m.email, phone=m.phone) for m in v.committee],
    )


@router.get("/assessments/{assessment_id}/history", response_model=list[EventOut], summary="Lịch sử hồ sơ")
def assessment_history(assessment_id: int, p: Principal = Depends(current_principal),
                       uow: UnitOfWork = Depends(get_uow)):
    page = actions.school_page(uow, p, assessment_id)
    return [EventOut(at=e.at, actor=e.actor, trigger=e.trigger, from_state=e.from_state, to_state=e.to_state,
                     reason=e.reason, details=e.details) for e in page.history]


class CommitteeIn(BaseModel):
    version: int
    members: list[MemberIO]


@router.put("/assessments/{assessment_id}/committee", summary="Lập Hội đồng tự đánh giá")
def committee(assessment_id: int, body: CommitteeIn, p: Principal = Depends(checked_principal),
              uow: UnitOfWork = Depends(get_uow)):
    n = actions.set_committee(uow, p, assessment_id, [MemberInput(**m.model_dump()) for m in body.members],
                              version=body.version)
    return {"members": n}


class TransitionIn(BaseModel):
    trigger: str = Field(description="form_committee | start_self_assessment | submit_proposal | start_review | "
                                     "return_for_supplement | recognise | publish | advance")
    version: int
    reason: str = ""
    criteria_notes: dict[str, str] = {}
    override_reason: str = Field("", description="Chỉ khi recognise: lý do công nhận không qua đánh giá ngoài đầy đủ")
    grant_extra_send: bool = Field(False, description="Chỉ khi return_for_supplement: cho trường gửi thêm một lần "
                                                      "khi đã hết lượt gửi (ghi vào lịch sử)")


@router.post("/assessments/{assessment_id}/transitions", summary="Chuyển giai đoạn hồ sơ")
def transition(assessment_id: int, body: TransitionIn, p: Principal = Depends(checked_principal),
               uow: UnitOfWork = Depends(get_uow)):
    stage = actions.transition(uow, p, assessment_id, body.trigger, version=body.version, reason=body.reason,
                               criteria_notes=body.criteria_notes, override_reason=body.override_reason,
                               grant_extra_send=body.grant_extra_send)
    return {"stage": stage.value, "label": stage.label}


# --- public ----------------------------------------------------------------------------------


class PublicOut(BaseModel):
    campaign_id: int
    title: str
    issuer_name: str
    school_year: str
    total: int
    published: list[dict[str, str | int | None]]


@router.get("/public/campaigns/{campaign_id}", response_model=PublicOut, summary="Kết quả công bố (công khai)")
def public(campaign_id: int, uow: UnitOfWork = Depends(get_uow)):
    r = actions.public_results(uow, campaign_id)
    return PublicOut(campaign_id=r.campaign_id, title=r.title, issuer_name=r.issuer_name, school_year=r.school_year,
                     total=r.total, published=[{"school": n, "published_on": d, "level_teaching": g1, "level_management": g2}
                                for n, d, g1, g2 in r.published])


class RemindIn(BaseModel):
    milestone: str


@router.post("/campaigns/{campaign_id}/remind", summary="Nhắc ngay các trường chậm một mốc")
def remind(request: Request, campaign_id: int, body: RemindIn, p: Principal = Depends(checked_principal),
           uow: UnitOfWork = Depends(get_uow)):
    r = actions.remind_now(uow, p, campaign_id, body.milestone, base_url=link_base(request))
    return {"late_schools": r.late_schools, "queued": r.written, "skipped_reason": r.skipped_reason,
            "goes_out_at": r.goes_out_at, "schools_without_email": list(r.schools_without_email),
            "message": nudge_message(r)}
