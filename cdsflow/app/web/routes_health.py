"""Probes for the reverse proxy, systemd and monitoring: /healthz (the process answers) and
/readyz (the database answers and its schema is this release's)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cdsflow import __version__
from cdsflow.storage.migrate import schema_revisions

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        current, heads = schema_revisions(request.app.state.engine)
    except SQLAlchemyError as err:
        return _not_ready("Không kết nối được cơ sở dữ liệu", type(err).__name__)
    if not current:
        return _not_ready("Cơ sở dữ liệu chưa được khởi tạo: chạy «cdsflow init»")
    if current != heads:
        return _not_ready("Cơ sở dữ liệu chưa ở phiên bản mới nhất: chạy «cdsflow init»",
                          f"đang ở {', '.join(sorted(current))}, cần {', '.join(sorted(heads))}")
    return JSONResponse({"status": "ready", "version": __version__, "schema": sorted(current)})


def _not_ready(reason: str, detail: str = "") -> JSONResponse:
    body = {"status": "not_ready", "reason": reason}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=503)
