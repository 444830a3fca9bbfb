"""Limits applied before a request body is parsed (pure ASGI, outermost of our middleware).

Why here and not in the routes: FastAPI reads and spools a whole form *before* it runs
the dependencies that check the session and the CSRF token, and the old guard trusted
`Content-Length`, so a chunked body was read in full. This middleware:

- counts body bytes as they stream (chunked included) and cuts at the route's limit with 413;
- refuses `multipart/form-data` except on the upload routes, and there only from a live
  session whose CSRF token comes first (header `X-CSRF-Token`, or the form's first field);
- refuses any other unsafe request with a body from a visitor without a session, except
  the two login routes, before a byte of the body is read;
- reads every other body (forms, JSON: small) in full *here*, bounded, before the route runs,
  so no route can answer early and leave the server draining a body nobody reads;
- refuses an unsafe request whose Origin (or, without one, Referer) is another site's, even
  with a valid token: the token stops forged forms, the Origin stops a page that stole one;
- adds the security headers (and HSTS when served over HTTPS).
"""
from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from cdsflow.services.accounts import principal_for
from cdsflow.storage.db import UnitOfWork

MB = 1024 * 1024
DEFAULT_LIMIT = 1 * MB  # forms and JSON: the largest real one (a team's visits) is ~100 KB
LOGIN_LIMIT = 16 * 1024
CSRF_PEEK = 64 * 1024  # the first multipart part (the CSRF token) must arrive within this many bytes


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    limit: int
    multipart: bool = False  # the only routes that accept a file upload
    public: bool = False  # reachable without a session (the login forms)


# One table: the routes whose limits differ from DEFAULT_LIMIT (checked on POST/PUT/PATCH/DELETE).
ROUTES = [
    Route(re.compile(r"/assessments/\d{1,18}/evidence"), 20 * MB + 64 * 1024, multipart=True),
    Route(re.compile(r"/campaigns"), 1 * MB, multipart=True),  # launch form with its calendar file
    Route(re.compile(r"/assessments/\d{1,18}/answer-sheet"), 20 * MB + 64 * 1024, multipart=True),  # Excel answers
    Route(re.compile(r"/indexsets/check"), 20 * MB + 64 * 1024, multipart=True),  # an official table (.xlsx/.yaml)
    Route(re.compile(r"/calendars/import"), 2 * MB + 64 * 1024, multipart=True),  # a calendar's Excel workbook
    Route(re.compile(r"/documents/\d{1,18}/signed"), 20 * MB + 64 * 1024, multipart=True),  # signed copy (PDF)
    Route(re.compile(r"/login"), LOGIN_LIMIT, public=True),
    Route(re.compile(r"/api/login"), LOGIN_LIMIT, public=True),
    Route(re.compile(r"/login/forgot"), LOGIN_LIMIT, public=True),  # "Quên mật khẩu?": no session yet
    Route(re.compile(r"/login/reset"), LOGIN_LIMIT, public=True),  # the link's token is the proof
]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")

TOO_LARGE = "Tệp hoặc dữ liệu gửi lên quá lớn (tối đa {limit})."
NEED_LOGIN = "Bạn cần đăng nhập."
BAD_CSRF = ("Phiên làm việc không hợp lệ hoặc đã hết hạn (mã chống giả mạo CSRF không khớp). "
            "Hãy tải lại trang rồi thử lại.")
NO_MULTIPART = "Địa chỉ này không nhận tệp tải lên."
NOT_FOUND = "Không tìm thấy trang này."
FOREIGN_ORIGIN = "Yêu cầu gửi từ một trang web khác ({origin}) nên bị từ chối. Hãy thao tác trên chính trang cdsflow."
SAFE_BODY_LIMIT = 16 * 1024  # a GET carries no body worth reading
_NUMBER = re.compile(r"-?\d{10,}")
MAX_ID = 2**31 - 1  # ids are INTEGER columns (32 bits on PostgreSQL)


def huge_id(path: str) -> bool:
    """A path segment of digits no id column can hold: refused before the driver overflows."""
    return any(_NUMBER.fullmatch(seg) and not -MAX_ID <= int(seg) <= MAX_ID for seg in path.split("/"))


def size_label(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit // 1024} KB"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the streamed body passes the limit; FastAPI passes HTTPExceptions through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, TOO_LARGE.format(limit=size_label(limit)))


def route_for(path: str) -> Route | None:
    return next((r for r in ROUTES if r.pattern.fullmatch(path)), None)


def is_https(scope) -> bool:
    return scope.get("scheme") == "https"


class Guard:
    def __init__(self, app, uow_factory: Callable[[], UnitOfWork] | None = None,
                 session_cookie: str = "cdsflow_session", login_cookie: str = "cdsflow_login") -> None:
        self.app = app
        self.uow_factory = uow_factory
        self.session_cookie = session_cookie
        self.login_cookie = login_cookie

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # FastAPI's Swagger page loads its script from a CDN: that one page goes without our CSP.
        headers = SECURITY_HEADERS if scope.get("path") != "/api/docs" else SECURITY_HEADERS[:3]
        if is_https(scope):
            headers = [*headers, HSTS]
        started = False
        cut: list[bool] = []  # set by the counting receive when the body passed the limit

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # After a cut body the connection is closed: nobody reads the rest of it.
                extra = [(b"connection", b"close")] if cut else []
                message = {**message, "headers": [*message.get("headers", []), *headers, *extra]}
            await send(message)

        refusal = None
        if huge_id(scope.get("path", "")):
            # An id no database column can hold: 404 here, not an overflow (500) in the driver.
            refusal = (404, NOT_FOUND)
        elif scope["method"] not in SAFE_METHODS:
            refusal, receive = await self._check(scope, receive, cut)
        else:
            refusal, receive = await _read_small(receive, Headers(scope=scope), SAFE_BODY_LIMIT, cut)
        if refusal is not None:
            status, text = refusal
            return await self._refuse(scope, send_with_headers, status, text)
        try:
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge as err:  # raised outside FastAPI's own handling: answer here if still possible
            if started:
                raise
            await self._refuse(scope, send_with_headers, 413, err.detail)

    async def _check(self, scope, receive, cut: list[bool]):
        """(status, message) to refuse with, or None; and the `receive` the app should use."""
        req_headers = Headers(scope=scope)
        if (origin := foreign_origin(scope, req_headers)) is not None:
            return (403, FOREIGN_ORIGIN.format(origin=origin[:200])), receive
        route = route_for(scope["path"])
        limit = route.limit if route else DEFAULT_LIMIT
        length = req_headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return (413, TOO_LARGE.format(limit=size_label(limit))), receive
        has_body = length not in (None, "0") or "chunked" in req_headers.get("transfer-encoding", "").lower()
        kind = req_headers.get("content-type", "").split(";")[0].strip().lower()
        multipart = kind == "multipart/form-data"
        if multipart and not (route and route.multipart):
            return (415, NO_MULTIPART), receive
        cookies = _cookies(req_headers)
        if route is not None and route.public:
            # The login form's double-submit cookie is checked before its body is read.
            if scope["path"] == "/login" and not cookies.get(self.login_cookie):
                return (403, BAD_CSRF), receive
        elif has_body and self.uow_factory is not None:
            refusal, receive = await self._session_check(req_headers, cookies, receive, multipart, limit, cut)
            if refusal is not None:
                return refusal, receive
        if multipart:
            return None, _counting(receive, limit, cut)  # an upload streams to its route, counted
        return await _read_small(receive, req_headers, limit, cut)

    async def _session_check(self, req_headers: Headers, cookies: dict[str, str], receive, multipart: bool,
                             limit: int, cut: list[bool]):
        """A body from a live session only; an upload's token is checked before its file is read."""
        csrf = await self._session_csrf(cookies.get(self.session_cookie))
        if csrf is None:
            return (401, NEED_LOGIN), receive
        if not multipart:
            return None, receive
        header = req_headers.get("x-csrf-token")
        if header is not None:
            ok = hmac.compare_digest(header.encode(), csrf.encode())
        else:
            ok, receive = await _first_part_matches(receive, _boundary(req_headers), csrf, limit, cut)
        return (None if ok else (403, BAD_CSRF)), receive

    async def _session_csrf(self, token: str | None) -> str | None:
        if not token:
            return None

        uow_factory = self.uow_factory
        assert uow_factory is not None

        def lookup() -> str | None:
            with uow_factory() as uow:
                p = principal_for(uow, token)
                return p.csrf_token if p else None

        return await anyio.to_thread.run_sync(lookup)

    @staticmethod
    async def _refuse(scope, send, status: int, text: str) -> None:
        if scope["path"].startswith("/api/"):
            body, kind = json.dumps({"error": text, "details": []}, ensure_ascii=False).encode(), b"application/json"
        else:
            body, kind = text.encode(), b"text/plain; charset=utf-8"
        # Connection: close, so the server does not wait for the rest of a body nobody will read.
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _counting(receive, limit: int, cut: list[bool]):
    seen = 0

    async def counted():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                cut.append(True)
                raise BodyTooLarge(limit)
        return message

    return counted


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length") not in (None, "0") or "chunked" in headers.get("transfer-encoding", "").lower()


async def _read_small(receive, headers: Headers, limit: int, cut: list[bool]):
    """Read a whole non-upload body now, at most `limit` bytes; (refusal or None, replaying receive).

    Past the limit the reading stops and the answer is 413 (with Connection: close): the rest
    of the body is never read, whatever the route would have done with it."""
    if not _has_body(headers):
        return None, receive
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, _replay([message], receive)
        chunks.append(message.get("body", b""))
        seen += len(chunks[-1])
        if seen > limit:
            cut.append(True)
            return (413, TOO_LARGE.format(limit=size_label(limit))), receive
        if not message.get("more_body", False):
            break
    return None, _replay([{"type": "http.request", "body": b"".join(chunks), "more_body": False}], receive)


def _replay(messages: list[dict], receive):
    async def replay():
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


def _origin_of(value: str) -> str | None:
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return None
    shown = parts.hostname.lower() + ("" if port in (None, default) else f":{port}")
    return f"{parts.scheme.lower()}://{shown}"


def own_origins(scope, headers: Headers) -> set[str]:
    """The origins this server answers as: the Host it was asked for, and CDSFLOW_BASE_URL."""
    out = set()
    host = headers.get("host")
    if host and (mine := _origin_of(f"{scope.get('scheme', 'http')}://{host}")):
        out.add(mine)
    base = (os.environ.get("CDSFLOW_BASE_URL") or "").strip()
    if base and (configured := _origin_of(base)):
        out.add(configured)
    return out


def foreign_origin(scope, headers: Headers) -> str | None:
    """The other site an unsafe request came from, or None. Browsers send Origin with every
    POST; a script without one (CLI, API client) is judged by its token alone."""
    claimed = headers.get("origin")
    if claimed is None:
        referer = headers.get("referer")
        if not referer:
            return None
        claimed = _origin_of(referer) or referer
    origin = _origin_of(claimed) if claimed.strip().lower() != "null" else None
    if origin is not None and origin in own_origins(scope, headers):
        return None
    return claimed


def _cookies(headers: Headers) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is the same as none
        return {}
    return {k: m.value for k, m in jar.items()}


def _boundary(headers: Headers) -> bytes:
    m = re.search(r'boundary="?([^";]{1,200})"?', headers.get("content-type", ""))
    return m.group(1).encode() if m else b""


_FIRST_PART = re.compile(rb'\A\s*--(?P<b>[^\r\n]+)\r\nContent-Disposition: form-data; name="csrf_token"\r\n'
                         rb'(?:[^\r\n]+\r\n)*\r\n(?P<v>[^\r\n]*)\r\n--', re.IGNORECASE)


async def _first_part_matches(receive, boundary: bytes, csrf: str, limit: int, cut: list[bool]):
    """Read at most CSRF_PEEK bytes: the first part must be `csrf_token` with the session's token.

    Browsers send fields in page order and our upload forms put the token first. The bytes
    read are replayed to the app, so nothing is lost.
    """
    buffered: list[dict] = []
    data = b""
    ok = False
    while len(data) < CSRF_PEEK:
        message = await receive()
        buffered.append(message)
        if message["type"] != "http.request":
            break
        data += message.get("body", b"")
        m = _FIRST_PART.match(data)
        if m:
            ok = bool(boundary) and m.group("b") == boundary and hmac.compare_digest(m.group("v"), csrf.encode())
            break
        if not message.get("more_body", False):
            break

    return ok, _counting(_replay(buffered, receive), limit, cut)
