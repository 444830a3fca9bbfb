"""Request plumbing: one unit of work per request, the logged-in principal, the CSRF check."""
from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import Depends, Request

from cdsflow.app.web.errors import BadCsrf, NeedLogin
from cdsflow.notifications.settings import REQUEST_BASE_URL
from cdsflow.services.accounts import DEVICE_LIFETIME, Principal, principal_for, remember_device
from cdsflow.storage.db import UnitOfWork

SESSION_COOKIE = "cdsflow_session"
LOGIN_COOKIE = "cdsflow_login"  # double-submit token for the login form (there is no session yet)
DEVICE_COOKIE = "cdsflow_device"  # a browser that logged in before: others' guesses never slow it down
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_uow(request: Request) -> Iterator[UnitOfWork]:
    with request.app.state.uow_factory() as uow:
        yield uow


def optional_principal(request: Request, uow: UnitOfWork = Depends(get_uow)) -> Principal | None:
    p = principal_for(uow, request.cookies.get(SESSION_COOKIE))
    request.state.principal = p
    return p


def current_principal(p: Principal | None = Depends(optional_principal)) -> Principal:
    if p is None:
        raise NeedLogin()
    return p


async def checked_principal(request: Request, p: Principal = Depends(current_principal)) -> Principal:
    """The principal, after the CSRF token of an unsafe request matched the session's."""
    if request.method in SAFE_METHODS:
        return p
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        token = (await request.form()).get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), p.csrf_token.encode()):
        raise BadCsrf()
    return p


def cookie_secure(request: Request) -> bool:
    """Cookies are Secure when asked (--secure-cookies) or whenever the request came over HTTPS."""
    return bool(request.app.state.secure_cookies) or request.url.scheme == "https"


def set_device_cookie(request: Request, response, uow: UnitOfWork, account) -> None:
    """After a correct password: this browser is known to the account from now on."""
    token = remember_device(uow, account, request.cookies.get(DEVICE_COOKIE))
    response.set_cookie(DEVICE_COOKIE, token, httponly=True, samesite="lax", path="/", secure=cookie_secure(request),
                        max_age=int(DEVICE_LIFETIME.total_seconds()))


def client_address(request: Request) -> str:
    # Forwarded headers are applied (by uvicorn's ProxyHeadersMiddleware) only for CDSFLOW_TRUSTED_PROXIES.
    return request.client.host if request.client else "?"


def link_base(request: Request, *, trust_host: bool = True) -> str:
    """The address links in mail start with: CDSFLOW_BASE_URL when set, else this request's own.

    `trust_host=False` for what a visitor without a session triggers (a reset link): the Host
    header is theirs to choose, so the server's own socket address is used instead of it."""
    import os

    configured = (os.environ.get("CDSFLOW_BASE_URL") or "").strip().rstrip("/")
    if configured:
        return configured
    if trust_host:
        return str(request.base_url).rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 8000)
    shown = f"[{host}]" if ":" in str(host) else host
    scheme = request.url.scheme
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{shown}" + ("" if port in (None, default) else f":{port}")


class MailLinkBase:
    """Pure ASGI: while a request is served, mail written for it (a returned file, a proposal
    received…) links back to the address the request came to, unless CDSFLOW_BASE_URL is set.
    The Host header counts only for a request with a session; otherwise the socket address."""

    def __init__(self, app, session_cookie: str = SESSION_COOKIE) -> None:
        self.app = app
        self.session_cookie = session_cookie

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        request = Request(scope)
        token = REQUEST_BASE_URL.set(link_base(request, trust_host=self.session_cookie in request.cookies))
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_BASE_URL.reset(token)
