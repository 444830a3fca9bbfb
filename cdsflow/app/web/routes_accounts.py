"""Accounts that run themselves: "Quên mật khẩu?", set-password links, one's own password, and the
administrator's edit / unlock / links / a campaign's school accounts. Translation only: the rules
live in workflow/services (accounts, password_links, school_accounts)."""
from __future__ import annotations

import secrets

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cdsflow.app.web import actions
from cdsflow.app.web.access import actor, require
from cdsflow.app.web.actions import Confirmation
from cdsflow.app.web.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    checked_principal,
    client_address,
    cookie_secure,
    current_principal,
    get_uow,
    link_base,
    set_device_cookie,
)
from cdsflow.app.web.errors import BadCsrf, status_of
from cdsflow.app.web.exports import XLSX, Column, workbook
from cdsflow.app.web.pages import NOTICES, _accounts, render
from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.services import accounts as account_svc
from cdsflow.services import bulk, password_links
from cdsflow.services import school_accounts as ward_svc
from cdsflow.services.accounts import Principal, Role
from cdsflow.services.units import get_unit_code
from cdsflow.storage.db import UnitOfWork

pages = APIRouter(include_in_schema=False)

NOTICES.update({
    "edited": "Đã lưu thông tin tài khoản.",
    "unlocked": "Đã gỡ tạm khóa: tài khoản đăng nhập lại được ngay.",
    "link": "Đã xếp thư có liên kết đặt mật khẩu vào hàng đợi gửi.",
    "password": "Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã kết thúc.",
    "password_set": "Đã đặt mật khẩu. Hãy đăng nhập bằng mật khẩu mới.",
})
# The same answer whether or not the name or address exists: nobody learns who has an account.
FORGOT_SENT = ("Nếu thông tin vừa nhập khớp với một tài khoản đang hoạt động có địa chỉ thư, một thư có liên kết "
               "đặt lại mật khẩu đã được gửi tới địa chỉ đó (liên kết dùng được một lần, trong 2 giờ). "
               "Không nhận được thư? Hãy hỏi quản trị viên của đơn vị.")


def _with_login_token(request: Request, name: str, status: int = 200, **context) -> Response:
    """A public form with the login page's double-submit token (the cookie's path covers /login/…)."""
    token = secrets.token_urlsafe(24)
    response = render(request, name, None, status, login_token=token, **context)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", path="/login",
                        secure=cookie_secure(request))
    return response


def _check_login_token(request: Request, csrf_token: str) -> None:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        raise BadCsrf()


# --- forgotten password and links -----------------------------------------------------------------


@pages.get("/login/forgot")
def forgot_page(request: Request) -> Response:
    return _with_login_token(request, "forgot.html")


@pages.post("/login/forgot")
def forgot(request: Request, login: str = Form(""), csrf_token: str = Form(""),
           uow: UnitOfWork = Depends(get_uow)) -> Response:
    _check_login_token(request, csrf_token)
    try:
        # A visitor chooses the Host header: the link starts from the server's own address.
        password_links.request_reset(uow, login, client=client_address(request),
                                     base_url=link_base(request, trust_host=False))
    except CdsError as err:
        uow.rollback()
        return _with_login_token(request, "forgot.html", status_of(err), error=err.message, details=err.details)
    return _with_login_token(request, "forgot.html", sent=FORGOT_SENT)


@pages.get("/login/reset")
def reset_page(request: Request, token: str = "", uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        account, purpose = password_links.account_for_link(uow, token)
    except CdsError as err:
        return render(request, "reset.html", None, status_of(err), error=err.message, token=None)
    return render(request, "reset.html", None, token=token, username=account.username,
                  setup=purpose == password_links.SETUP)


@pages.post("/login/reset")
def reset(request: Request, token: str = Form(""), password: str = Form(""), password2: str = Form(""),
          uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        account = password_links.spend_link(uow, token, password, password2)
    except CdsError as err:
        try:
            account, purpose = password_links.account_for_link(uow, token)
        except CdsError:
            return render(request, "reset.html", None, status_of(err), error=err.message, details=err.details,
                          token=None)
        return render(request, "reset.html", None, status_of(err), error=err.message, details=err.details,
                      token=token, username=account.username, setup=purpose == password_links.SETUP)
    response = RedirectResponse("/login?done=password_set", status_code=303)
    # The mailed link proved the owner: this browser is known to the account, so guesses from
    # elsewhere never slow its next login (the unlock path of the throttle design).
    set_device_cookie(request, response, uow, account)
    return response


# --- one's own password ------------------------------------------------------------------------------


@pages.get("/me/password")
def own_password_page(request: Request, p: Principal = Depends(current_principal)) -> Response:
    return render(request, "password.html", p)


@pages.post("/me/password")
def own_password(request: Request, current: str = Form(""), password: str = Form(""), password2: str = Form(""),
                 p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        account_svc.change_own_password(uow, p.account_id, current, password, password2,
                                        session_token=request.cookies.get(SESSION_COOKIE))
    except CdsError as err:
        uow.rollback()
        return render(request, "password.html", p, status_of(err), error=err.message, details=err.details)
    return RedirectResponse("/me/password?done=password", status_code=303)


# --- administrator --------------------------------------------------------------------------------------


def _edit_page(request, p, uow, account_id: int, status: int = 200, **extra) -> Response:
    actions.require_accounts(p)
    account = account_svc.get_account(uow, account_id)
    unit_code = ""
    if account.unit_id:
        unit_code = get_unit_code(uow, account.unit_id)
    locked = account.username in account_svc.locked_usernames(uow)
    return render(request, "account_edit.html", p, status, a=account, unit_code=unit_code, locked=locked,
                  attempts=account_svc.login_attempts(uow, account.username),
                  roles=[(r.value, r.label) for r in Role], **extra)


@pages.get("/accounts/{account_id}")
def edit_page(request: Request, account_id: int, p: Principal = Depends(current_principal),
              uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _edit_page(request, p, uow, account_id)


@pages.post("/accounts/{account_id}/edit")
def edit(request: Request, account_id: int, full_name: str = Form(""), email: str = Form(""), role: str = Form(""),
         unit_code: str = Form(""), p: Principal = Depends(checked_principal),
         uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    try:
        if account_id == p.account_id and role != p.role.value:
            raise InvalidInput("Không tự đổi vai trò của chính mình (để không ai mất quyền quản trị do nhầm).")
        account_svc.update_account(uow, account_id, full_name=full_name, email=email, role=role,
                                   unit_code=unit_code.strip() or None)
    except CdsError as err:
        uow.rollback()
        return _edit_page(request, p, uow, account_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/accounts/{account_id}?done=edited", status_code=303)


@pages.post("/accounts/{account_id}/unlock")
def unlock(request: Request, account_id: int, p: Principal = Depends(checked_principal),
           uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    account_svc.unlock(uow, account_svc.get_account(uow, account_id).username)
    return RedirectResponse("/accounts?done=unlocked", status_code=303)


@pages.post("/accounts/{account_id}/link")
def send_link(request: Request, account_id: int, p: Principal = Depends(checked_principal),
              uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    try:
        password_links.send_setup_link(uow, account_svc.get_account(uow, account_id).username,
                                       base_url=link_base(request))
    except CdsError as err:
        uow.rollback()
        return _edit_page(request, p, uow, account_id, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/accounts/{account_id}?done=link", status_code=303)


# A campaign this small is done within the request; a bigger one runs in chunks behind a progress page.
INLINE_SCHOOLS = 200
CONFIRM_LINES = 200  # accounts named on the confirmation page; the others are counted


@pages.post("/accounts/schools")
def school_accounts(request: Request, background: BackgroundTasks, campaign_id: int = Form(...),
                    confirm: str = Form(""), p: Principal = Depends(checked_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    try:
        if confirm != "1":  # the accounts and the mail they receive are shown before anything is written
            plan = ward_svc.create_school_accounts(uow, campaign_id, base_url=link_base(request), dry_run=True)
            c = Confirmation(f"Xác nhận: tạo tài khoản các trường — {plan.campaign_title}", "/accounts/schools",
                             {"campaign_id": str(campaign_id)}, back_url="/accounts", noun="tài khoản",
                             mail=plan.sample_mail)
            c.ready = [f"{u} — {school} — {email}" for u, school, email in plan.created[:CONFIRM_LINES]]
            c.more = max(0, len(plan.created) - CONFIRM_LINES)
            skipped = [(u, "đã có, giữ nguyên") for u in plan.existing] + \
                      [(s, "danh sách đơn vị chưa có địa chỉ thư của trường") for s in plan.without_email]
            c.skipped, c.more_skipped = skipped[:CONFIRM_LINES], max(0, len(skipped) - CONFIRM_LINES)
            return render(request, "confirm.html", p, c=c)
        if ward_svc.school_count(uow, campaign_id) <= INLINE_SCHOOLS:
            report = ward_svc.create_school_accounts(uow, campaign_id, base_url=link_base(request), by=p.username)
            return _accounts(request, p, uow, bulk=report)
        job = ward_svc.start_school_accounts(uow, campaign_id, base_url=link_base(request), by=p.username)
    except CdsError as err:
        uow.rollback()
        return _accounts(request, p, uow, status_of(err), error=err.message, details=err.details)
    # After the response: the page that follows shows its progress (the run's record) until it is done.
    background.add_task(_run_accounts, request.app.state.uow_factory, job)
    return RedirectResponse(f"/accounts/schools/{campaign_id}/run", status_code=303)


def _run_accounts(uow_factory, job: ward_svc.SchoolAccountsJob) -> None:
    with uow_factory() as uow:
        ward_svc.run_school_accounts(uow, job)  # a failure is kept in the run's record, shown on its page


@pages.get("/accounts/schools/{campaign_id}/run")
def school_accounts_run(request: Request, campaign_id: int, p: Principal = Depends(current_principal),
                        uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    run = ward_svc.latest_run(uow, campaign_id)
    return render(request, "bulk_run.html", p, run=run, report=ward_svc.run_report(uow, run.id),
                  stopped=bulk.stopped(run), campaign_id=campaign_id, status_label=bulk.STATUS_LABELS[run.status])


@pages.get("/accounts/schools/runs/{run_id}.xlsx")
def school_accounts_details(run_id: int, p: Principal = Depends(current_principal),
                            uow: UnitOfWork = Depends(get_uow)) -> Response:
    actions.require_accounts(p)
    heading, rows = ward_svc.details(uow, run_id)
    columns = [Column(t, w) for t, w in zip(ward_svc.DETAIL_COLUMNS, (6, 16, 40, 30, 70), strict=True)]
    return Response(workbook("Tài khoản các trường", heading, columns, rows), media_type=XLSX,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''tai-khoan-truong-{run_id}.xlsx"})


# --- the ward runs its own schools' accounts (rulebook: manage_school_accounts) -----------------------


def _ward_page(request: Request, p: Principal, uow: UnitOfWork, status: int = 200, **extra) -> Response:
    rows = ward_svc.ward_schools(uow, actor(p))
    return render(request, "ward_accounts.html", p, status, schools=rows, **extra)


@pages.get("/ward/accounts")
def ward_accounts(request: Request, p: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "manage_school_accounts")
    return _ward_page(request, p, uow)


@pages.post("/ward/accounts/create")
async def ward_create(request: Request, confirm: str = Form(""), p: Principal = Depends(checked_principal),
                      uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "manage_school_accounts")
    form = await request.form()
    ids = [int(x) for x in form.getlist("ids") if str(x).isdigit()]
    try:
        if confirm != "1":  # what will be made, and the mail each school receives, before anything is written
            report = ward_svc.create_for_schools(uow, actor(p), ids, base_url=link_base(request), dry_run=True)
            c = Confirmation("Xác nhận: tạo tài khoản cho các trường", "/ward/accounts/create", {},
                             back_url="/ward/accounts", noun="tài khoản", mail=report.sample_mail,
                             repeated=[("ids", str(i)) for i in ids])
            c.ready = [f"{u} — {school} — {email}" for u, school, email in report.created]
            c.skipped = [(u, "đã có, giữ nguyên") for u in report.existing] + \
                        [(s, "danh sách đơn vị chưa có địa chỉ thư của trường") for s in report.without_email]
            c.note = ("Mỗi tài khoản nhận một thư có liên kết riêng để tự đặt mật khẩu (liên kết có hiệu lực 7 ngày); "
                      "không ai, kể cả cán bộ, biết mật khẩu đó.")
            return render(request, "confirm.html", p, c=c)
        ward_svc.create_for_schools(uow, actor(p), ids, base_url=link_base(request))
    except CdsError as err:
        uow.rollback()
        return _ward_page(request, p, uow, status_of(err), error=err.message, details=err.details)
    return RedirectResponse("/ward/accounts?done=school_accounts", status_code=303)


@pages.post("/ward/accounts/{account_id}/link")
def ward_link(request: Request, account_id: int, confirm: str = Form(""), p: Principal = Depends(checked_principal),
              uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        if confirm != "1":
            account, mail = ward_svc.link_preview(uow, actor(p), account_id, base_url=link_base(request))
            c = Confirmation("Xác nhận: gửi thư đặt lại mật khẩu", f"/ward/accounts/{account_id}/link", {},
                             back_url="/ward/accounts", noun="tài khoản", mail=mail,
                             note="Liên kết cũ chưa dùng hết hiệu lực; mật khẩu hiện tại vẫn dùng được cho tới khi "
                                  "người dùng đặt mật khẩu mới.")
            c.ready = [f"{account.full_name} ({account.username})"]
            return render(request, "confirm.html", p, c=c)
        ward_svc.send_school_link(uow, actor(p), account_id, base_url=link_base(request))
    except CdsError as err:
        uow.rollback()
        return _ward_page(request, p, uow, status_of(err), error=err.message, details=err.details)
    return RedirectResponse("/ward/accounts?done=school_link", status_code=303)


@pages.post("/ward/accounts/{account_id}/active")
def ward_active(request: Request, account_id: int, active: str = Form(...), confirm: str = Form(""),
                p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        if active != "1" and confirm != "1":
            account = ward_svc.school_account(uow, actor(p), account_id)
            c = Confirmation("Xác nhận: khóa tài khoản", f"/ward/accounts/{account_id}/active", {"active": "0"},
                             back_url="/ward/accounts", noun="tài khoản",
                             note="Người này bị đăng xuất ngay và không đăng nhập được cho tới khi tài khoản được mở khóa.")
            c.ready = [f"{account.full_name} ({account.username}){f' — {account.email}' if account.email else ''}"]
            return render(request, "confirm.html", p, c=c)
        ward_svc.set_school_account_active(uow, actor(p), account_id, active == "1")
    except CdsError as err:
        uow.rollback()
        return _ward_page(request, p, uow, status_of(err), error=err.message, details=err.details)
    return RedirectResponse(f"/ward/accounts?done={'school_unlocked' if active == '1' else 'school_locked'}",
                            status_code=303)
