"""Probes for the reverse proxy, systemd and monitoring: /healthz (the process answers) and
/readyz (the database answers and its schema is this release's)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cdsflow import __version__
from cdsflow.services import health

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    with request.app.state.uow_factory() as uow:
        state = health.readiness(uow)
    if not state.ready:
        return _not_ready(state.reason, state.detail)
    return JSONResponse({"status": "ready", "version": __version__, "schema": state.schema})


def _not_ready(reason: str, detail: str = "") -> JSONResponse:
    body = {"status": "not_ready", "reason": reason}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=503)
