"""Errors as the user reads them: a Vietnamese page (or JSON under /api), never a traceback."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cdsflow.kernel.errors import (
    CdsError,
    Forbidden,
    InvalidInput,
    NotFound,
    StaleUpdate,
    StorageBadValue,
    StorageConflict,
    StorageError,
    StorageUnavailable,
    TransitionRefused,
)
from cdsflow.services.accounts import LoginFailed, TooManyAttempts

log = logging.getLogger("cdsflow.web")

STATUS: list[tuple[type[CdsError], int]] = [
    (NotFound, 404), (StaleUpdate, 409), (InvalidInput, 422), (TransitionRefused, 422), (Forbidden, 403),
    (TooManyAttempts, 429), (LoginFailed, 401),
    (StorageConflict, 409), (StorageBadValue, 422), (StorageUnavailable, 503), (StorageError, 500),
]
HTTP_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Bạn cần đăng nhập.",
    403: "Bạn không có quyền truy cập trang này.",
    404: "Không tìm thấy trang này.",
    405: "Thao tác này không được hỗ trợ ở địa chỉ này.",
    413: "Tệp tải lên quá lớn.",
    422: "Dữ liệu gửi lên không hợp lệ.",
    429: "Quá nhiều yêu cầu; hãy thử lại sau.",
    500: "Đã có lỗi ở máy chủ. Dữ liệu của bạn không bị thay đổi; hãy thử lại sau.",
}


class NeedLogin(Exception):
    """Raised by the auth dependency: a page redirects to the login form, the API answers 401."""


class BadCsrf(Exception):
    pass


def status_of(err: CdsError) -> int:
    for kind, status in STATUS:
        if isinstance(err, kind):
            return status
    return 400


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def render_error(request: Request, status: int, message: str, details: list[str] | None = None) -> Response:
    if _is_api(request):
        return JSONResponse({"error": message, "details": details or []}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message, "details": details or [],
                                "principal": getattr(request.state, "principal", None)},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(CdsError)
    async def cds_error(request: Request, err: CdsError):
        return render_error(request, status_of(err), err.message, err.details)

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, _err: NeedLogin):
        if _is_api(request) or request.method != "GET":
            return render_error(request, 401, HTTP_MESSAGES[401])
        from urllib.parse import quote

        return Response(status_code=303, headers={"Location": f"/login?next={quote(request.url.path)}"})

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _err: BadCsrf):
        return render_error(request, 403, "Phiên làm việc không hợp lệ hoặc đã hết hạn (mã chống giả mạo CSRF "
                                          "không khớp). Hãy tải lại trang rồi thử lại.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        message = HTTP_MESSAGES.get(err.status_code, HTTP_MESSAGES[400])
        if isinstance(err.detail, str) and err.detail and not err.detail.isascii():
            message = err.detail  # our own Vietnamese detail
        return render_error(request, err.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError):
        fields = sorted({str(e.get("loc", ["?"])[-1]) for e in err.errors()})
        return render_error(request, 422, HTTP_MESSAGES[422], [f"trường «{f}» thiếu hoặc sai kiểu" for f in fields])

    @app.exception_handler(StorageError)
    async def database_error(request: Request, err: StorageError):
        # The unit of work has rolled back before the storage layer raised this (storage/db.py).
        code = status_of(err)
        if code == 500:
            log.error("lỗi cơ sở dữ liệu ở %s %s", request.method, request.url.path, exc_info=err)
        else:
            log.warning("cơ sở dữ liệu từ chối %s %s: %s", request.method, request.url.path, getattr(err.__cause__, "orig", err))
        return render_error(request, code, err.message + " Dữ liệu của bạn không bị thay đổi.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        log.exception("lỗi không lường trước ở %s %s", request.method, request.url.path)
        return render_error(request, 500, HTTP_MESSAGES[500])
