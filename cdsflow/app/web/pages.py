"""Server-rendered pages. Translation only: read the form, call `actions`, render or redirect."""
from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cdsflow.app.web import actions, documents
from cdsflow.app.web.access import allowed, campaign_for
from cdsflow.app.web.deps import (
    DEVICE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    checked_principal,
    client_address,
    cookie_secure,
    current_principal,
    get_uow,
    link_base,
    optional_principal,
    set_device_cookie,
)
from cdsflow.app.web.errors import BadCsrf, status_of
from cdsflow.app.web.ward_links import page_url
from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.kernel.stages import CampaignStatus
from cdsflow.services import accounts as account_svc
from cdsflow.services import bulk as bulk_svc
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services import long_lists, password_links, ward_picker
from cdsflow.services.accounts import Principal, Role
from cdsflow.services.assessments import ROLE_LABELS as MEMBER_ROLES
from cdsflow.services.assessments import MemberInput
from cdsflow.services.calendar_drafts import calendar_sources
from cdsflow.services.mail import default_choice, nudge_message
from cdsflow.services.returns import open_return, returned_ids
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.filelimits import check_content
from cdsflow.workflow.machine import CAMPAIGN_STEPS, STEP_BY_TRIGGER

router = APIRouter(include_in_schema=False)

NOTICES = {
    "school_accounts": "Đã tạo tài khoản và xếp thư đặt mật khẩu vào hàng đợi gửi.",
    "school_link": "Đã xếp thư đặt mật khẩu vào hàng đợi gửi; liên kết cũ chưa dùng hết hiệu lực.",
    "school_locked": "Đã khóa tài khoản; mọi phiên đăng nhập của tài khoản đó đã kết thúc.",
    "school_unlocked": "Đã mở khóa tài khoản.",
    "committee": "Đã lưu danh sách Hội đồng tự đánh giá.",
    "steering": "Đã lưu danh sách bộ phận chỉ đạo chuyển đổi số.",
    "moved": "Đã chuyển hồ sơ sang giai đoạn mới.",
    "launched": "Đã phát động kế hoạch.",
    "advanced": "Đã cập nhật trạng thái kế hoạch.",
    "account": "Đã tạo tài khoản.",
    "account_link": "Đã tạo tài khoản và xếp thư có liên kết đặt mật khẩu vào hàng đợi gửi.",
    "disabled": "Đã khóa tài khoản; mọi phiên đăng nhập của tài khoản đó đã kết thúc.",
    "enabled": "Đã mở khóa tài khoản.",
    "scores": "Đã lưu điểm.",
    "document": "Đã lập văn bản và vào sổ.",
    "documents": "Đã lập văn bản cho các trường và vào sổ.",
    "evidence": "Đã thêm minh chứng.",
    "signed": "Đã tải lên bản đã ký.",
    "signed_digital": "Đã ký số văn bản; bản PDF đã ký được lưu làm bản đã ký trong sổ.",
    "evidence_removed": "Đã xóa minh chứng.",
}
CALENDAR_MAX = 256 * 1024


def render(request: Request, name: str, principal: Principal | None, status: int = 200, **context) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return request.app.state.templates.TemplateResponse(
        request, name, {"principal": principal, "notice": notice, **context}, status_code=status
    )


def _safe_next(value: str | None) -> str:
    # Only local paths: no open redirect to another site.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


# --- login -------------------------------------------------------------------------------------


def _login_form(request: Request, message: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status, login_token=token, error=message,
                      next=_safe_next(request.query_params.get("next")))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", path="/login",
                        secure=cookie_secure(request))
    return response


@router.get("/login")
def login_page(request: Request, p: Principal | None = Depends(optional_principal)) -> Response:
    if p is not None:
        return RedirectResponse("/", status_code=303)
    return _login_form(request)


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
          next: str = Form("/"), uow: UnitOfWork = Depends(get_uow)) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise BadCsrf()
    try:
        account = account_svc.authenticate(uow, username, password, client=client_address(request),
                                           device=request.cookies.get(DEVICE_COOKIE))
    except CdsError as err:
        return _login_form(request, err.message, status_of(err))
    token = account_svc.open_session(uow, account)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_device_cookie(request, response, uow, account)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=cookie_secure(request), max_age=int(account_svc.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    account_svc.close_session(uow, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    if p.role.school_side:
        mine = actions.my_assessments(uow, p)
        if len(mine) == 1:
            return RedirectResponse(f"/assessments/{mine[0][0]}", status_code=303)
        return render(request, "school_home.html", p, assessments=mine,
                      returned=returned_ids(uow.session, [m[0] for m in mine]))
    return RedirectResponse("/campaigns", status_code=303)


# --- campaigns ---------------------------------------------------------------------------------


def _campaigns_page(request, p, uow, status=200, error=None, details=None) -> Response:
    can_launch = allowed(p, "launch_campaign")
    return render(request, "campaigns.html", p, status, campaigns=actions.campaigns(uow, p),
                  calendars=actions.calendar_choices(), can_launch=can_launch,
                  calendar_sources=calendar_sources(uow, p.unit_id) if can_launch else [],
                  chosen_calendar=request.query_params.get("calendar", ""),
                  chosen_year=request.query_params.get("year", ""),
                  error=error, details=details or [])


@router.get("/campaigns")
def campaigns_page(request: Request, p: Principal = Depends(current_principal),
                   uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _campaigns_page(request, p, uow)


async def save_upload(request: Request, upload: UploadFile, kind: str, suffixes: tuple[str, ...],
                      limit: int) -> Path:
    """Store an upload under var/uploads/<kind>/ with a generated name; the client's name is never a path."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in suffixes:
        raise InvalidInput(f"Loại tệp không được nhận: «{suffix or 'không có đuôi'}» (chỉ nhận {', '.join(suffixes)})")
    folder = request.app.state.uploads_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with target.open("wb") as out:  # copied in pieces: a 20 MB file never sits in memory whole
        while piece := await upload.read(1024 * 1024):
            size += len(piece)
            if size > limit:
                break
            out.write(piece)
    if size > limit:
        target.unlink(missing_ok=True)
        raise InvalidInput(f"Tệp quá lớn (tối đa {limit // 1024} KB)")
    try:  # the name promised a kind of file: its content must be one
        check_content(target, suffix, label=Path(upload.filename or target.name).name)
    except InvalidInput:
        target.unlink(missing_ok=True)
        raise
    return target


def named_as_uploaded(err: CdsError, stored: Path | None, upload: UploadFile | None) -> CdsError:
    """`err` as the user reads it: the generated name the upload was stored under is replaced by the
    name of the user's own file (a refusal never names a random file the user has never seen)."""
    if stored is None or upload is None or not upload.filename:
        return err
    name = Path(upload.filename).name
    swap = lambda text: text.replace(str(stored), name).replace(stored.name, name)  # noqa: E731
    err.message, err.details = swap(err.message), [swap(d) for d in err.details]
    return err


@router.post("/campaigns")
async def launch_campaign(
    request: Request,
    background: BackgroundTasks,
    school_year: str = Form(...),
    index_set: str = Form("4725"),
    calendar: str = Form(""),
    calendar_file: UploadFile | None = None,
    title: str = Form(""),
    spawn_children: bool = Form(False),
    p: Principal = Depends(checked_principal),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    path = None
    try:
        if calendar_file is not None and calendar_file.filename:
            path = await save_upload(request, calendar_file, "calendars", (".yaml", ".yml"), CALENDAR_MAX)
        # In a worker thread: a province's launch works in chunks with pauses for several seconds,
        # which must not hold this process's event loop (every other page it serves) meanwhile.
        job = await run_in_threadpool(
            actions.start_launch, uow, p, school_year=school_year, index_set_code=index_set.strip(),
            calendar=calendar or None, calendar_file=path, title=title.strip(), spawn_children=spawn_children)
        if job.to_open > INLINE_LAUNCH:  # a province: its files are opened after the response, behind its progress
            background.add_task(_run_launch, request.app.state.uow_factory, job)
            return RedirectResponse(f"/campaigns/{job.result.campaign_id}/launch", status_code=303)
        result = await run_in_threadpool(campaign_svc.run_launch, uow, job)
    except CdsError as err:
        uow.rollback()
        err = named_as_uploaded(err, path, calendar_file)
        if path is not None:  # a refused launch keeps nothing, not even its upload
            path.unlink(missing_ok=True)
        return _campaigns_page(request, p, uow, status_of(err), err.message, err.details)
    return RedirectResponse(f"/campaigns/{result.campaign_id}?done=launched", status_code=303)


INLINE_LAUNCH = 5000  # files a launch opens within the request (about a second); more open behind a progress page


def _run_launch(uow_factory, job: campaign_svc.LaunchJob) -> None:
    with uow_factory() as uow:
        campaign_svc.run_launch(uow, job)  # a failure is kept in the run's record, shown on its page


@router.get("/campaigns/{campaign_id}/launch")
def launch_progress(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    campaign = campaign_for(uow, p, campaign_id)
    run = campaign_svc.launch_run(uow, campaign_id)
    return render(request, "launch_run.html", p, run=run, campaign=campaign, stopped=bulk_svc.stopped(run),
                  status_label=bulk_svc.STATUS_LABELS[run.status])


def _dashboard(request, p, uow, campaign_id, status=200, **extra) -> Response:
    view = actions.dashboard(uow, p, campaign_id)
    # The wards: a searchable page of them, not all 3,321 (their figures stay the dashboard's).
    q, page, per_page = ward_picker.read_request(request.query_params)
    wards = ward_picker.page_of(view.children, lambda c: c[1], q=q, page=page, per_page=per_page)
    peak = max([line.count for line in view.stages] + [1])
    steps = [(t, label) for t, (_, _, label) in CAMPAIGN_STEPS.items() if t != "launch"]
    bulk = [(t, STEP_BY_TRIGGER[t].label) for t in actions.BULK_TRIGGERS if allowed(p, t)]

    return render(request, "dashboard.html", p, status, s=view, peak=peak, campaign_steps=steps,
                  levels=actions.level_charts(uow, campaign_id), doc_types=documents.campaign_types(),
                  can_generate=allowed(p, "issue_authority_paper"),
                  milestones=actions.milestones(uow, campaign_id) if allowed(p, "remind") else [],
                  **_remind_panel(uow, p, campaign_id),
                  can_advance=allowed(p, "campaign_close"), bulk_triggers=bulk if allowed(p, "bulk") else [],
                  status_label=CampaignStatus(view.status).label, wards=wards,
                  ward_url=page_url(f"/campaigns/{campaign_id}", q, anchor="#wards"), **extra)


@router.get("/campaigns/{campaign_id}")
def dashboard(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
              uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _dashboard(request, p, uow, campaign_id)


@router.post("/campaigns/{campaign_id}/advance")
def advance_campaign(request: Request, campaign_id: int, trigger: str = Form(...),
                     p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        actions.advance_campaign(uow, p, campaign_id, trigger)
    except CdsError as err:
        uow.rollback()
        return _dashboard(request, p, uow, campaign_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/campaigns/{campaign_id}?done=advanced", status_code=303)


@router.post("/campaigns/{campaign_id}/bulk")
async def bulk(request: Request, campaign_id: int, trigger: str = Form(...), confirm: str = Form(""),
               selection: str = Form(""), back: str = Form(""),
               p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    # selection=1: the schools ticked in the list (ids), else every school where the step starts.
    form = await request.form()
    selected = [int(x) for x in form.getlist("ids") if str(x).isdigit()] if selection == "1" else None
    if confirm != "1":  # every bulk step is confirmed on a page that names the schools first
        return render(request, "confirm.html", p, c=actions.confirm_bulk(
            uow, p, campaign_id, trigger, selected=selected, back_url=_safe_next(back) if back else ""))
    result = actions.bulk_transition(uow, p, campaign_id, trigger, selected=selected)
    return _dashboard(request, p, uow, campaign_id, bulk=result, bulk_label=STEP_BY_TRIGGER[trigger].label)


def _remind_panel(uow, p, campaign_id) -> dict:
    if not allowed(p, "remind"):
        return {"remind_choices": [], "remind_default": None}
    choices = actions.reminder_choices(uow, campaign_id)
    return {"remind_choices": choices, "remind_default": default_choice(choices)}


def remind_message(r) -> str:
    return nudge_message(r)


@router.get("/campaigns/{campaign_id}/remind")
def remind_preview(request: Request, campaign_id: int, milestone: str = "", p: Principal = Depends(current_principal),
                   uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Recipients and the rendered mail before anything is queued (the same renderer as the send)."""
    preview = actions.remind_preview(uow, p, campaign_id, milestone, base_url=link_base(request))
    first = {}
    for row in preview.plan.rows:  # one example of each kind of mail
        first.setdefault(row["kind"], row)
    return render(request, "remind.html", p, campaign_id=campaign_id, milestone=milestone, v=preview,
                  examples=list(first.values()), message=remind_message(preview.result) if not preview.plan.rows else "")


@router.post("/campaigns/{campaign_id}/remind")
def remind(request: Request, campaign_id: int, milestone: str = Form(...), p: Principal = Depends(checked_principal),
           uow: UnitOfWork = Depends(get_uow)) -> Response:
    result = actions.remind_now(uow, p, campaign_id, milestone, base_url=link_base(request))
    return _dashboard(request, p, uow, campaign_id, reminded=remind_message(result))


# --- one school --------------------------------------------------------------------------------


def _school(request, p, uow, assessment_id, status=200, **extra) -> Response:
    page = actions.school_page(uow, p, assessment_id)
    if request.query_params.get("done") == "moved" and "notice" not in extra:
        extra["notice"] = actions.step_done_message(uow, p, assessment_id) or NOTICES["moved"]
    members = list(page.view.committee)
    return render(request, "assessment.html", p, status, page=page, v=page.view, members=members,
                  blank_rows=max(3, 7 - len(members)), member_roles=MEMBER_ROLES,
                  returned=open_return(uow.session, page.view.id), **extra)


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, assessment_id: int, p: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _school(request, p, uow, assessment_id)


@router.post("/assessments/{assessment_id}/committee")
async def committee(request: Request, assessment_id: int, version: int = Form(...),
                    p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    names, roles, positions = form.getlist("full_name"), form.getlist("role"), form.getlist("position")
    members = [MemberInput(str(n), str(r), str(pos)) for n, r, pos in zip(names, roles, positions, strict=False)
               if str(n).strip() or str(pos).strip()]
    try:
        actions.set_committee(uow, p, assessment_id, members, version=version)
    except CdsError as err:
        uow.rollback()
        return _school(request, p, uow, assessment_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/assessments/{assessment_id}?done=committee", status_code=303)


@router.post("/assessments/{assessment_id}/transition")
async def move(request: Request, assessment_id: int, trigger: str = Form(...), version: int = Form(...),
               reason: str = Form(""), criteria_notes: str = Form(""), confirm: str = Form(""),
               override_reason: str = Form(""), p: Principal = Depends(checked_principal),
               uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    if trigger in actions.CONFIRM_STEPS and confirm != "1":
        note_fields = [(k, str(v)) for k, v in form.multi_items() if k.startswith("note:")]
        if criteria_notes.strip():
            note_fields.append(("criteria_notes", criteria_notes))
        return render(request, "confirm.html", p, c=actions.confirm_step(uow, p, assessment_id, trigger, version,
                                                                        reason=reason, notes=note_fields))
    try:
        notes = actions.parse_criteria_notes(criteria_notes)
        # One field per criterion ("note:1.2") on the return form; empty ones say nothing.
        notes |= {k[5:]: str(v).strip() for k, v in form.multi_items() if k.startswith("note:") and str(v).strip()}
        actions.transition(uow, p, assessment_id, trigger, version=version, reason=reason, criteria_notes=notes,
                           override_reason=override_reason)
    except CdsError as err:
        uow.rollback()
        return _school(request, p, uow, assessment_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/assessments/{assessment_id}?done=moved", status_code=303)


# --- public results ------------------------------------------------------------------------------


@router.get("/results/{campaign_id}")
def results(request: Request, campaign_id: int, p: Principal | None = Depends(optional_principal),
            uow: UnitOfWork = Depends(get_uow)) -> Response:
    return render(request, "results.html", p, r=actions.public_results(uow, campaign_id))


# --- accounts (administrator) ---------------------------------------------------------------------


def _accounts(request, p, uow, status=200, **extra) -> Response:
    actions.require_accounts(p)

    page = long_lists.accounts_page(uow.session, request.query_params)
    locked = account_svc.locked_usernames(uow) if page.rows else set()
    rows = [account_svc.AccountRow(a.id, a.username, a.full_name, Role(a.role), code or "", name or "", a.active,
                                   a.email or "", a.username in locked) for a, code, name in page.rows]
    return render(request, "accounts.html", p, status, accounts=rows, P=page,
                  roles=[(r.value, r.label) for r in Role], campaigns=actions.campaigns(uow, p), **extra)


@router.get("/accounts")
def accounts_page(request: Request, p: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _accounts(request, p, uow)


@router.post("/accounts")
def create_account(request: Request, username: str = Form(""), full_name: str = Form(""), role: str = Form(""),
                   unit_code: str = Form(""), password: str = Form(""), email: str = Form(""),
                   p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    try:
        # No password typed: the owner sets one through a link sent to the address.
        account = account_svc.create_account(uow, username=username, full_name=full_name, role=role,
                                             password=password or None, unit_code=unit_code.strip() or None,
                                             email=email, commit=bool(password))
        if not password:
            password_links.send_link(uow, account, password_links.SETUP, base_url=link_base(request))
            uow.commit()
    except CdsError as err:
        uow.rollback()
        return _accounts(request, p, uow, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/accounts?done={'account' if password else 'account_link'}", status_code=303)


@router.post("/accounts/{account_id}/active")
def account_active(request: Request, account_id: int, active: str = Form(...), confirm: str = Form(""),
                   p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    if active != "1" and confirm != "1":  # locking ends the person's sessions: a page names them first
        return render(request, "confirm.html", p, c=actions.confirm_disable(uow, p, account_id))
    try:
        if account_id == p.account_id:
            raise InvalidInput("Không tự khóa tài khoản của chính mình.")
        account_svc.set_active_by_id(uow, account_id, active == "1")
    except CdsError as err:
        uow.rollback()
        return _accounts(request, p, uow, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/accounts?done={'enabled' if active == '1' else 'disabled'}", status_code=303)
