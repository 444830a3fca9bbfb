"""The calendar editor (start from a calendar, shift it to a year, edit the table, check as you
type, save a version, Excel out and in) and the launch preview. Translation only: the use-cases
are in workflow/services/calendar_drafts.py and launch_scope.py."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from cdsflow.app.web import actions
from cdsflow.app.web.access import actor, require
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.pages import NOTICES, named_as_uploaded, render, save_upload
from cdsflow.calendars.table import COLUMNS, HEADER, Draft, TableError, as_typed, groups
from cdsflow.calendars.xlsx import write_calendar_workbook
from cdsflow.kernel.errors import CdsError, Forbidden, InvalidInput
from cdsflow.services import calendar_drafts as svc
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork

pages = APIRouter(include_in_schema=False)
NOTICES["calendar_saved"] = "Đã lưu lịch thành phiên bản mới."
XLSX_MAX = 2 * 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _officer(p: Principal) -> int:
    """Calendars are made by the officers who launch campaigns, for their own unit."""
    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không soạn lịch được.")
    return p.unit_id


def _draft_from_form(text: str) -> Draft:
    try:
        return Draft.from_json(json.loads(text or "{}"))
    except (ValueError, TableError) as err:
        raise InvalidInput(f"Dữ liệu bảng lịch không đọc được: {err}") from None


def _editor(request, p, uow, *, draft: Draft | None = None, source: str = "", year: str = "",
            flags=(), status: int = 200, error: str | None = None, details=()) -> Response:
    check = svc.validate(draft, uow=uow, unit_id=p.unit_id) if draft is not None else None
    return render(request, "calendar_editor.html", p, status, sources=svc.calendar_sources(uow, p.unit_id),
                  source=source, year=year, draft=as_typed(draft) if draft is not None else None,  # dd/mm/yyyy
                  column_groups=groups(COLUMNS), header_groups=groups(HEADER),
                  flags=[f.to_json() for f in flags] or ([f.to_json() for f in check.flags] if check else []),
                  problems=[x.to_json() for x in check.problems] if check else [],
                  error=error, details=list(details))


@pages.get("/calendars/editor")
def editor(request: Request, source: str = "", year: str = "", p: Principal = Depends(current_principal),
           uow: UnitOfWork = Depends(get_uow)) -> Response:
    _officer(p)
    if not source:
        return _editor(request, p, uow, year=year)
    try:
        draft, flags = svc.open_draft(uow, p.unit_id, source, year.strip() or None)
    except CdsError as err:
        return _editor(request, p, uow, source=source, year=year, status=status_of(err), error=err.message,
                       details=err.details)
    return _editor(request, p, uow, draft=draft, source=source, year=year, flags=flags)


@pages.post("/calendars/check")
async def check(request: Request, p: Principal = Depends(checked_principal),
                uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Validate as you type: the draft in, the validator's problems (by row) and day-off flags out."""
    _officer(p)
    try:
        draft = Draft.from_json(await request.json())
    except (ValueError, TableError) as err:
        return JSONResponse({"ok": False, "problems": [{"row": None, "severity": "error", "message": str(err)}],
                             "flags": []}, status_code=422)
    return JSONResponse(svc.validate(draft, uow=uow, unit_id=p.unit_id).to_json())


@pages.post("/calendars")
def save(request: Request, draft_json: str = Form(""), source: str = Form(""), year: str = Form(""),
         p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    unit_id = _officer(p)
    draft = None
    try:
        draft = _draft_from_form(draft_json)
        row = svc.save_calendar(uow, unit_id, draft, actor=actor(p).name, based_on=source)
    except CdsError as err:
        uow.rollback()
        return _editor(request, p, uow, draft=draft, source=source, year=year, status=status_of(err),
                       error=err.message, details=err.details)
    return RedirectResponse(f"/campaigns?calendar=saved:{row.id}&year={row.school_year}&done=calendar_saved#phat-dong",
                            status_code=303)


@pages.post("/calendars/export")
def export(draft_json: str = Form(""), p: Principal = Depends(checked_principal)) -> Response:
    """The table as it stands, as an Excel workbook with the same columns."""
    _officer(p)

    draft = _draft_from_form(draft_json)
    folder = Path(tempfile.mkdtemp(prefix="cdsflow-lich-"))
    year = draft.header.get("school_year", "") or "lich"
    path = write_calendar_workbook(draft, folder / f"lich-{year}.xlsx")
    return FileResponse(path, media_type=XLSX_TYPE, filename=path.name,
                        background=BackgroundTask(lambda: (path.unlink(missing_ok=True), folder.rmdir())))


@pages.post("/calendars/import")
async def import_xlsx(request: Request, file: UploadFile | None = None, p: Principal = Depends(checked_principal),
                      uow: UnitOfWork = Depends(get_uow)) -> Response:
    unit_id = _officer(p)
    path = None
    try:
        if file is None or not file.filename:
            raise InvalidInput("Hãy chọn tệp Excel (.xlsx) của lịch")
        path = await save_upload(request, file, "calendars", (".xlsx",), XLSX_MAX)
        row = svc.import_workbook(uow, unit_id, path, actor=actor(p).name)
    except CdsError as err:
        uow.rollback()
        err = named_as_uploaded(err, path, file)
        return _editor(request, p, uow, status=status_of(err), error=err.message, details=err.details)
    finally:
        if path is not None:  # the workbook's content is now in the database (or refused)
            path.unlink(missing_ok=True)
    return RedirectResponse(f"/campaigns?calendar=saved:{row.id}&year={row.school_year}&done=calendar_saved#phat-dong",
                            status_code=303)


@pages.get("/campaigns/preview")
def launch_preview(request: Request, school_year: str = "", index_set: str = "4725", calendar: str = "",
                   title: str = "", spawn_children: bool = False, p: Principal = Depends(current_principal),
                   uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Before confirming: the schools the campaign covers, those left out and why, the calendar."""
    try:
        preview = actions.launch_preview(uow, p, school_year=school_year, index_set_code=index_set.strip(),
                                         calendar=calendar or None)
    except CdsError as err:
        from cdsflow.app.web.pages import _campaigns_page

        return _campaigns_page(request, p, uow, status_of(err), err.message, err.details)
    return render(request, "launch_preview.html", p, v=preview, school_year=school_year.strip(),
                  index_set=index_set.strip(), calendar=calendar, title=title, spawn_children=spawn_children)
