"""Index sets in the web: the Sở's administrator downloads the Excel template, uploads the official
table, sees every problem named by cell, and publishes it as a new version. The same services as
`cdsflow indexset template/check/import`; who may publish is the rulebook's (`publish_index_set`)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from cdsflow.app.web.access import require
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.pages import named_as_uploaded, render, save_upload
from cdsflow.assessment.xlsx import write_index_set_workbook
from cdsflow.kernel.errors import CdsError, InvalidInput, NotFound
from cdsflow.services import indexsets as svc
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.filelimits import MAX_XLSX_BYTES

pages = APIRouter(include_in_schema=False)
ACTION = "publish_index_set"
SUFFIXES = (".xlsx", ".yaml", ".yml")
_UPLOAD_NAME = re.compile(r"[0-9a-f]{32}\.(xlsx|yaml|yml)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(request: Request, p: Principal, uow: UnitOfWork, status: int = 200, **extra) -> Response:
    return render(request, "indexsets.html", p, status, sets=svc.list_index_sets(uow.session),
                  max_mb=MAX_XLSX_BYTES // (1024 * 1024), **extra)


@pages.get("/indexsets")
def indexsets(request: Request, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, ACTION)
    return _page(request, p, uow)


@pages.get("/indexsets/template.xlsx")
def template(code: str = "", p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The template, blank or prefilled with a set (a frame to complete, or a version to revise)."""
    require(p, ACTION)
    s = svc.resolve_index_set(uow.session, code) if code.strip() else None
    out = Path(tempfile.mkstemp(suffix=".xlsx")[1])
    write_index_set_workbook(out, s)
    name = f"bo-chi-so-{s.code}.xlsx" if s else "bo-chi-so-mau.xlsx"
    return FileResponse(out, filename=name, media_type=XLSX, background=BackgroundTask(out.unlink, missing_ok=True))


@pages.post("/indexsets/check")
async def check(request: Request, file: UploadFile | None = None, p: Principal = Depends(checked_principal),
                uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Validate an uploaded table; kept (under a generated name) until published or replaced."""
    require(p, ACTION)
    stored = None
    try:
        if file is None or not file.filename:
            raise InvalidInput("Chọn tệp bộ chỉ số (.xlsx theo mẫu, hoặc .yaml) để tải lên")
        stored = await save_upload(request, file, "indexsets", SUFFIXES, MAX_XLSX_BYTES)
        checked = svc.check_index_set_file(uow.session, stored)
    except CdsError as err:
        err = named_as_uploaded(err, stored, file)
        if stored is not None:
            stored.unlink(missing_ok=True)
        return _page(request, p, uow, status_of(err), error=err.message, details=err.details,
                     uploaded=file.filename if file is not None else "")
    if checked.clash:  # nothing to publish from it: not kept
        stored.unlink(missing_ok=True)
    return _page(request, p, uow, checked=checked, upload=stored.name, uploaded=file.filename)


@pages.post("/indexsets/publish")
def publish(request: Request, upload: str = Form(...), uploaded: str = Form(""), p: Principal = Depends(checked_principal),
            uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, ACTION)
    path = request.app.state.uploads_dir / "indexsets" / upload
    try:
        if not _UPLOAD_NAME.fullmatch(upload) or not path.is_file():
            raise NotFound("Không tìm thấy tệp đã kiểm tra; tải tệp lên lại")
        s = svc.publish_index_set(uow.session, path, actor=p.actor_name, source=Path(uploaded).name or upload)
    except CdsError as err:
        uow.rollback()
        return _page(request, p, uow, status_of(err), error=err.message, details=err.details)
    path.unlink(missing_ok=True)
    return _page(request, p, uow, published=s)
