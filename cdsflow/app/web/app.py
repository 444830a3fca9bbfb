"""The FastAPI app factory: `create_app(engine)` gives pages, the JSON API and static files.

The engine comes from `app/wiring.py`; routes only ever see units of work (`app.state.uow_factory`)."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from cdsflow import __version__
from cdsflow.app import wiring
from cdsflow.app.console import local
from cdsflow.app.web import (
    api,
    errors,
    limits,
    pages,
    routes_accounts,
    routes_calendars,
    routes_documents,
    routes_health,
    routes_indexsets,
    routes_lists,
    routes_mailbox,
    routes_meetings,
    routes_scores,
    routes_teams,
)
from cdsflow.app.web.deps import LOGIN_COOKIE, SESSION_COOKIE, MailLinkBase
from cdsflow.calendars.timeutil import vn_dates
from cdsflow.kernel import home
from cdsflow.workflow.machine import history_text

HERE = Path(__file__).parent


def _num(value) -> str:
    """7.5 → "7,5", 10 → "10": points as Vietnamese write them."""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else f"{value:g}"
    return text.replace(".", ",")


def _score_cell(points: float | Decimal | None, level: int | None) -> Markup:
    """A list's score cell: "7,5 <span class="lvl">mức 2</span>" (or "chưa đạt"), empty without points.
    A function, not a Jinja macro: a page of 50 schools has 200 of them, and macro calls were a
    tenth of the page's Python."""
    if points is None:
        return Markup("")
    return Markup('{} <span class="lvl">{}</span>').format(_num(points), f"mức {level}" if level else "chưa đạt")


def create_app(
    engine: wiring.Engine | None = None,
    *,
    uploads_dir: Path | str | None = None,
    secure_cookies: bool = False,
    trusted_proxies: str | None = None,
) -> FastAPI:
    """`trusted_proxies`: addresses/networks whose X-Forwarded-For/-Proto are believed
    (default: CDSFLOW_TRUSTED_PROXIES, unset = nobody, so a client cannot pick its own address).
    Without `engine`, the database of DATABASE_URL (or the data home's)."""
    wiring.install()  # a school returned or recognised from a page gets its mail, as from the CLI
    app = FastAPI(
        title="cdsflow",
        description="API đánh giá mức độ chuyển đổi số trong giáo dục. Xác thực bằng cookie phiên "
                    "(đăng nhập qua /api/login); mọi yêu cầu ghi cần tiêu đề X-CSRF-Token.",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # Part counts of a multipart form: our upload forms carry one file and a few fields.
        form_limits={"max_files": 2, "max_fields": 1000, "max_part_size": 256 * 1024},
    )
    new_uow = wiring.uow_factory(engine if engine is not None else wiring.engine())
    app.state.uow_factory = new_uow
    app.state.uploads_dir = Path(uploads_dir) if uploads_dir is not None else home.uploads_dir()
    app.state.secure_cookies = secure_cookies
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    templates.env.filters["local"] = local
    # Jinja's capitalize lower-cases the rest ("Hội đồng" → "hội đồng"); only raise the first letter.
    templates.env.filters["num"] = _num
    templates.env.globals["score_cell"] = _score_cell
    templates.env.filters["vn_dates"] = vn_dates  # "phiên bản 2022-12-30" read as 30/12/2022
    templates.env.filters["first_upper"] = lambda s: s[:1].upper() + s[1:]
    templates.env.globals["history_text"] = history_text
    app.state.templates = templates
    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(routes_scores.api)
    app.include_router(routes_documents.api)
    app.include_router(routes_teams.api)
    app.include_router(routes_calendars.pages)  # before pages: /campaigns/preview is not a campaign id
    app.include_router(pages.router)
    app.include_router(routes_scores.pages)
    app.include_router(routes_documents.pages)
    app.include_router(routes_mailbox.pages)
    app.include_router(routes_teams.pages)
    app.include_router(routes_health.router)
    app.include_router(routes_meetings.pages)
    app.include_router(routes_indexsets.pages)
    app.include_router(routes_lists.pages)
    app.include_router(routes_lists.api)

    app.include_router(routes_accounts.pages)

    app.add_middleware(MailLinkBase, session_cookie=SESSION_COOKIE)  # links in mail written while serving
    app.add_middleware(limits.Guard, uow_factory=new_uow, session_cookie=SESSION_COOKIE, login_cookie=LOGIN_COOKIE)
    trusted = trusted_proxies if trusted_proxies is not None else os.environ.get("CDSFLOW_TRUSTED_PROXIES", "")
    if trusted.strip():
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # Outermost, so the guard and the routes see the client's address and https scheme.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[t.strip() for t in trusted.split(",") if t.strip()])
    return app
