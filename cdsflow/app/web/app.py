"""The FastAPI app factory: `create_app(engine)` gives pages, the JSON API and static files."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from cdsflow import __version__, home
from cdsflow.app.console import local
from cdsflow.app.web import errors
from cdsflow.workflow.machine import history_text

HERE = Path(__file__).parent
MAX_BODY = 3 * 1024 * 1024  # uploads are small office files; anything bigger is refused up front
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"),
]


def _num(value) -> str:
    """7.5 → "7,5", 10 → "10": points as Vietnamese write them."""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else f"{value:g}"
    return text.replace(".", ",")


class _Guard:
    """Pure ASGI: refuse oversized bodies before reading them; add security headers to every answer."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                body = "Tệp hoặc dữ liệu gửi lên quá lớn (tối đa 3 MB).".encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *SECURITY_HEADERS]})
                await send({"type": "http.response.body", "body": body})
                return

        # FastAPI's Swagger page loads its script from a CDN: that one page goes without our CSP.
        headers = SECURITY_HEADERS if scope.get("path") != "/api/docs" else SECURITY_HEADERS[:3]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    engine: Engine,
    *,
    uploads_dir: Path | str | None = None,
    secure_cookies: bool = False,
) -> FastAPI:
    from cdsflow.app import wiring
    from cdsflow.app.web import api, pages, routes_documents, routes_health, routes_mailbox, routes_scores, routes_teams

    wiring.install()  # a school returned or recognised from a page gets its mail, as from the CLI
    app = FastAPI(
        title="cdsflow",
        description="API đánh giá mức độ chuyển đổi số trong giáo dục. Xác thực bằng cookie phiên "
                    "(đăng nhập qua /api/login); mọi yêu cầu ghi cần tiêu đề X-CSRF-Token.",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.engine = engine
    app.state.uploads_dir = Path(uploads_dir) if uploads_dir is not None else home.uploads_dir()
    app.state.secure_cookies = secure_cookies
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    templates.env.filters["local"] = local
    # Jinja's capitalize lower-cases the rest ("Hội đồng" → "hội đồng"); only raise the first letter.
    templates.env.filters["num"] = _num
    templates.env.filters["first_upper"] = lambda s: s[:1].upper() + s[1:]
    templates.env.globals["history_text"] = history_text
    app.state.templates = templates
    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(routes_scores.api)
    app.include_router(routes_documents.api)
    app.include_router(routes_teams.api)
    app.include_router(pages.router)
    app.include_router(routes_scores.pages)
    app.include_router(routes_documents.pages)
    app.include_router(routes_mailbox.pages)
    app.include_router(routes_teams.pages)
    app.include_router(routes_health.router)
    app.add_middleware(_Guard)
    return app
