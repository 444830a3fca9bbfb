"""Clerk pages and API: the register, downloads, dossier zip, generating papers."""
from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from cdsflow.app.web import documents, paper_text
from cdsflow.app.web.access import allowed, assessment_for
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.exports import XLSX, Column, workbook
from cdsflow.app.web.pages import render, save_upload
from cdsflow.app.web.paper_text import campaign_links
from cdsflow.kernel.errors import CdsError, Forbidden, InvalidInput, NotFound
from cdsflow.services import bulk
from cdsflow.services.accounts import Principal
from cdsflow.services.long_lists import DOC_STATUSES
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.paper_gates import PaperRefused

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["cdsflow"])


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}


@pages.get("/documents")
def register_page(request: Request, p: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow)) -> Response:
    page, rows = documents.register_list(uow, p, request.query_params)
    return render(request, "documents.html", p, rows=rows, P=page, list_path="/documents", doc_types=page.spec.filters["type"][0],
                  statuses=DOC_STATUSES, pdf=documents.pdf_available(),
                  can_void=allowed(p, "issue_school_paper") or allowed(p, "issue_authority_paper"),
                  can_sign=documents.may_upload_signed(p), can_sign_digital=documents.may_sign(p),
                  plan_campaigns=campaign_links(uow, p))


@pages.get("/documents/register.xlsx")
def register_export(p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    return Response(documents.register_xlsx(uow, p),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers=_attachment("so-van-ban-di.xlsx"))


@pages.post("/documents/{document_id}/void")
def void(request: Request, document_id: int, reason: str = Form(""), confirm: str = Form(""),
         p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    if confirm != "1":  # a void cannot be undone: a page names the paper and the reason first
        return render(request, "confirm.html", p, c=documents.confirm_void(uow, p, document_id, reason))
    documents.void(uow, p, document_id, reason)
    return RedirectResponse("/documents?done=void", status_code=303)


@pages.get("/assessments/{assessment_id}/documents")
def school_documents(request: Request, assessment_id: int, p: Principal = Depends(current_principal),
                     uow: UnitOfWork = Depends(get_uow)) -> Response:
    a = assessment_for(uow, p, assessment_id)
    page, rows = documents.register_list(uow, p, request.query_params, school_id=a.school_id)
    return render(request, "documents.html", p, rows=rows, P=page, list_path=f"/assessments/{a.id}/documents",
                  doc_types=page.spec.filters["type"][0], statuses=DOC_STATUSES,
                  drafts=documents.register(uow, p, school_id=a.school_id, drafts=True),
                  pdf=documents.pdf_available(), assessment_id=a.id, types=documents.school_types(),
                  can_generate=allowed(p, "issue_school_paper"), can_void=allowed(p, "issue_school_paper"),
                  can_sign=documents.may_upload_signed(p), can_sign_digital=documents.may_sign(p))


@pages.post("/assessments/{assessment_id}/documents")
def school_generate(request: Request, assessment_id: int, doc_type: str = Form(...), existing: str = Form(""),
                    reason: str = Form(""), draft: str = Form(""), confirm: str = Form(""),
                    p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    if confirm != "1" and not draft:  # warnings, and the papers a replacement leaves «Cần xử lý», are read first
        c = documents.confirm_generate(uow, p, assessment_id, doc_type, on_existing=existing or None, reason=reason)
        if c is not None:
            return render(request, "confirm.html", p, c=c)
    documents.generate_for_school(uow, p, assessment_id, doc_type, draft=bool(draft), on_existing=existing or None,
                                  reason=reason)
    return RedirectResponse(f"/assessments/{assessment_id}/documents?done=document", status_code=303)


@pages.post("/campaigns/{campaign_id}/documents")
def campaign_generate(request: Request, background: BackgroundTasks, campaign_id: int, doc_type: str = Form(...),
                      existing: str = Form(""), reason: str = Form(""), p: Principal = Depends(checked_principal),
                      uow: UnitOfWork = Depends(get_uow)) -> Response:
    later = documents.generate_in_background(uow, p, campaign_id, doc_type, request.app.state.uploads_dir / "tmp",
                                             on_existing=existing or None, reason=reason)
    if later is not None:  # a big campaign: numbered in chunks after the response, its progress page follows
        background.add_task(later)
        return RedirectResponse(f"/campaigns/{campaign_id}/documents/{quote(doc_type)}/run", status_code=303)
    result = documents.generate_for_campaign(uow, p, campaign_id, doc_type, request.app.state.uploads_dir / "tmp",
                                             on_existing=existing or None, reason=reason)
    return render(request, "documents.html", p, rows=documents.register(uow, p), pdf=documents.pdf_available(),
                  generated=len(result.paths), skipped=result.skipped)


@pages.get("/campaigns/{campaign_id}/documents/{code}/run")
def campaign_generate_run(request: Request, campaign_id: int, code: str, p: Principal = Depends(current_principal),
                          uow: UnitOfWork = Depends(get_uow)) -> Response:
    summary = documents.paper_run(uow, p, campaign_id, code)
    return render(request, "paper_run.html", p, s=summary, run=summary.run, code=code, campaign_id=campaign_id,
                  stopped=bulk.stopped(summary.run), status_label=bulk.STATUS_LABELS[summary.run.status])


@pages.get("/campaigns/{campaign_id}/documents/{code}/run.xlsx")
def campaign_generate_run_xlsx(campaign_id: int, code: str, p: Principal = Depends(current_principal),
                               uow: UnitOfWork = Depends(get_uow)) -> Response:
    heading, rows = documents.paper_run_details(uow, p, campaign_id, code)
    columns = [Column("STT", 6), Column("Mã trường", 16), Column("Tên trường", 40), Column("Kết quả", 30),
               Column("Mã lưu văn bản hoặc lý do bỏ qua", 80)]
    return Response(workbook("Văn bản hàng loạt", heading, columns, rows), media_type=XLSX,
                    headers=_attachment(f"van-ban-{code}-ke-hoach-{campaign_id}.xlsx"))


@pages.get("/steering")
def steering_page(request: Request, unit: str = "", p: Principal = Depends(current_principal),
                  uow: UnitOfWork = Depends(get_uow)) -> Response:
    row, members = documents.steering_view(uow, p, unit)
    return render(request, "steering.html", p, unit=row, members=members, roles=documents.STEERING_ROLES)


@pages.post("/steering")
async def steering_save(request: Request, p: Principal = Depends(checked_principal),
                        uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    code = str(form.get("unit", ""))
    try:
        documents.steering_save(uow, p, code, {k: [str(v) for v in form.getlist(k)] for k in documents.STEERING_FIELDS})
    except CdsError as err:  # nothing typed is lost: the page comes back with what was sent
        uow.rollback()
        row, _ = documents.steering_view(uow, p, code)
        typed = documents.steering_typed({k: [str(v) for v in form.getlist(k)] for k in documents.STEERING_FIELDS})
        return render(request, "steering.html", p, status_of(err), unit=row, members=typed,
                      roles=documents.STEERING_ROLES, error=err.message, details=err.details)
    return RedirectResponse(f"/steering?unit={quote(code)}&done=steering", status_code=303)


@pages.post("/campaigns/{campaign_id}/certificates")
def certificates(request: Request, campaign_id: int, p: Principal = Depends(checked_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    """Every recognised school's Giấy chứng nhận as one zip: a .docx per school and one PDF to print."""
    root = request.app.state.uploads_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(dir=root)
    path = documents.certificates(uow, p, campaign_id, Path(tmp.name))
    return FileResponse(path, media_type="application/zip", headers=_attachment(path.name),
                        background=BackgroundTask(tmp.cleanup))


@pages.get("/documents/{document_id}/download")
def download(document_id: int, format: str = "docx", p: Principal = Depends(current_principal),
             uow: UnitOfWork = Depends(get_uow)) -> Response:
    content, name, media = documents.download(uow, p, document_id, pdf=format == "pdf")
    return Response(content, media_type=media, headers=_attachment(name))


SIGNED_MAX = 20 * 1024 * 1024  # the route's body limit in limits.py matches


@pages.post("/documents/{document_id}/signed")
async def signed_upload(request: Request, document_id: int, back: str = Form(""), file: UploadFile | None = None,
                        p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The clerk uploads the scanned or digitally signed PDF of a numbered paper."""
    if file is None or not file.filename:
        raise InvalidInput("Chọn tệp PDF bản đã ký để tải lên")
    stored = await save_upload(request, file, "tmp", (".pdf",), SIGNED_MAX)
    try:
        documents.upload_signed(uow, p, document_id, stored, file.filename, request.app.state.uploads_dir)
    finally:
        stored.unlink(missing_ok=True)
    target = back if back.startswith("/") and not back.startswith("//") else "/documents"
    return RedirectResponse(f"{target}?done=signed", status_code=303)


@pages.post("/documents/{document_id}/sign")
def sign_digital(request: Request, document_id: int, back: str = Form(""), p: Principal = Depends(checked_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The signer signs a numbered paper with the unit's certificate (chữ ký số)."""
    documents.sign(uow, p, document_id, request.app.state.uploads_dir)
    target = back if back.startswith("/") and not back.startswith("//") else "/documents"
    return RedirectResponse(f"{target}?done=signed_digital", status_code=303)


@pages.get("/documents/{document_id}/signed.pdf")
def signed_download(request: Request, document_id: int, p: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    path, name = documents.signed_file(uow, p, document_id, request.app.state.uploads_dir)
    return FileResponse(path, media_type="application/pdf", headers=_attachment(name))


@pages.get("/assessments/{assessment_id}/dossier.zip")
def dossier(request: Request, assessment_id: int, pdf: bool = False, p: Principal = Depends(current_principal),
            uow: UnitOfWork = Depends(get_uow)) -> Response:
    """?pdf=1 adds the dossier bound as one PDF with a bookmark per part (needs LibreOffice)."""
    root = request.app.state.uploads_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(dir=root)
    try:
        path, _missing = documents.dossier(uow, p, assessment_id, Path(tmp.name), request.app.state.uploads_dir, pdf=pdf)
    except BaseException:
        tmp.cleanup()
        raise
    return FileResponse(path, media_type="application/zip", headers=_attachment(path.name),
                        background=BackgroundTask(tmp.cleanup))


@api.get("/documents", summary="Sổ văn bản trong phạm vi")
def api_register(p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    return [{**{k: v for k, v in r.__dict__.items() if k != "line"},
             **({"register": r.line.__dict__} if r.line else {}), "download": f"/documents/{r.id}/download"}
            for r in documents.register(uow, p)]


@api.post("/assessments/{assessment_id}/documents", status_code=201, summary="Lập một văn bản cho trường")
def api_generate(assessment_id: int, body: dict, p: Principal = Depends(checked_principal),
                 uow: UnitOfWork = Depends(get_uow)):
    record = documents.generate_for_school(uow, p, assessment_id, str(body.get("doc_type", "")),
                                           draft=bool(body.get("draft")), on_existing=body.get("existing") or None,
                                           reason=str(body.get("reason", "")))
    return {"id": record.id, "number_line": record.number_line, "download": f"/documents/{record.id}/download"}


@api.post("/campaigns/{campaign_id}/documents", status_code=201, summary="Lập văn bản cho mọi trường của kế hoạch")
def api_generate_all(request: Request, campaign_id: int, body: dict, p: Principal = Depends(checked_principal),
                     uow: UnitOfWork = Depends(get_uow)):
    result = documents.generate_for_campaign(uow, p, campaign_id, str(body.get("doc_type", "")),
                                             request.app.state.uploads_dir / "tmp",
                                             on_existing=body.get("existing") or None, reason=str(body.get("reason", "")))
    return {"generated": len(result.paths), "skipped": [{"school": c, "reason": r} for c, r in result.skipped]}


# --- the authority's own papers, written section by section before numbering (web/paper_text.py) ---


def _paper_page(request: Request, p: Principal, campaign_id: int, code: str, fields: list, *, status: int = 200,
                error: str = "", details: list[str] | None = None, existing: str = "", reason: str = "",
                assessment_id: int | None = None, warnings: list[str] | None = None,
                marks: list[str] | None = None) -> Response:
    action = (f"/assessments/{assessment_id}/papers/{code}" if assessment_id is not None
              else f"/campaigns/{campaign_id}/papers/{code}")
    back = (f"/assessments/{assessment_id}/documents", "← Về văn bản của trường") if assessment_id is not None \
        else (f"/campaigns/{campaign_id}", "← Về kế hoạch")
    return render(request, "paper_text.html", p, status=status, title=paper_text.title(code), code=code,
                  campaign_id=campaign_id, fields=fields, error=error, details=details or [], existing=existing,
                  reason=reason, action_url=action, back=back, warnings=warnings or [], marks=marks or [])


@pages.get("/assessments/{assessment_id}/papers/{code}")
def school_paper_text_page(request: Request, assessment_id: int, code: str, p: Principal = Depends(current_principal),
                           uow: UnitOfWork = Depends(get_uow)) -> Response:
    """A school's paper written section by section (the Báo cáo tự đánh giá's IV–VI), as `docs text`."""
    try:
        fields = paper_text.school_fields(uow, p, assessment_id, code)
    except PaperRefused as err:
        return _paper_page(request, p, 0, code, [], status=422, error=err.message, details=err.details,
                           assessment_id=assessment_id)
    return _paper_page(request, p, 0, code, fields, assessment_id=assessment_id)


@pages.post("/assessments/{assessment_id}/papers/{code}")
async def school_paper_text_issue(request: Request, assessment_id: int, code: str,
                                  p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    typed = paper_text.typed_sections(code, form) if code in paper_text.paper_sections.PER_SCHOOL else {}
    existing, reason = str(form.get("existing", "")), str(form.get("reason", ""))
    draft = form.get("action") == "draft"
    try:
        record = paper_text.school_issue(uow, p, assessment_id, code, typed, draft=draft,
                                         on_existing=existing or None, reason=reason)
    except (Forbidden, NotFound):
        raise
    except InvalidInput as err:  # what was typed stays in the form, with the reason above it
        uow.rollback()
        fields = paper_text.school_fields(uow, p, assessment_id, code, typed)
        return _paper_page(request, p, 0, code, fields, status=422, error=err.message, details=err.details,
                           existing=existing, reason=reason, assessment_id=assessment_id)
    if draft:
        return RedirectResponse(f"/documents/{record.id}/download", status_code=303)
    return RedirectResponse(f"/assessments/{assessment_id}/documents?done=document", status_code=303)


@pages.get("/campaigns/{campaign_id}/papers/{code}")
def paper_text_page(request: Request, campaign_id: int, code: str, p: Principal = Depends(current_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    try:
        fields = paper_text.fields(uow, p, campaign_id, code)
    except PaperRefused as err:  # missing data: the reason, not a form with empty sections
        return _paper_page(request, p, campaign_id, code, [], status=422, error=err.message, details=err.details)
    return _paper_page(request, p, campaign_id, code, fields)


@pages.post("/campaigns/{campaign_id}/papers/{code}")
async def paper_text_issue(request: Request, campaign_id: int, code: str, p: Principal = Depends(checked_principal),
                           uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    typed = paper_text.typed_sections(code, form) if paper_text.editable(code) else {}
    existing, reason = str(form.get("existing", "")), str(form.get("reason", ""))
    draft = form.get("action") == "draft"
    try:
        if not draft and form.get("confirm") != "1":  # the warnings are read before a number is taken
            warnings = paper_text.warnings_before_numbering(uow, p, campaign_id, code, typed,
                                                            on_existing=existing or None, reason=reason)
            marks = paper_text.replace_marks(uow, p, campaign_id, code) if existing == "replace" else []
            if warnings or marks:
                fields = paper_text.fields(uow, p, campaign_id, code, typed)
                return _paper_page(request, p, campaign_id, code, fields, existing=existing, reason=reason,
                                   warnings=warnings, marks=marks)
        record = paper_text.issue(uow, p, campaign_id, code, typed, draft=draft, on_existing=existing or None,
                                  reason=reason)
    except (Forbidden, NotFound):
        raise
    except InvalidInput as err:  # what was typed stays in the form, with the reason above it
        fields = paper_text.fields(uow, p, campaign_id, code, typed)
        return _paper_page(request, p, campaign_id, code, fields, status=422, error=err.message,
                           details=err.details, existing=existing, reason=reason)
    if draft:
        return RedirectResponse(f"/documents/{record.id}/download", status_code=303)
    return RedirectResponse("/documents?done=document", status_code=303)
