"""Scoring form (caps, live totals, levels) and evidence: pages and JSON API."""
from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.background import BackgroundTask

from cdsflow.app.web import scores
from cdsflow.app.web.actions import confirm_evidence_removal
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.pages import named_as_uploaded, render, save_upload
from cdsflow.kernel.errors import CdsError, InvalidInput, StaleUpdate
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork

pages = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
api = APIRouter(prefix="/api", tags=["cdsflow"])


def _sheet_page(request: Request, p: Principal, uow: UnitOfWork, aid: int, phase: str, status: int = 200,
                **extra) -> Response:
    sheet = scores.sheet(uow, p, aid, phase)
    return render(request, "scores.html", p, status, sh=sheet, phase_labels=scores.PHASE_LABELS,
                  evidence_types=", ".join(scores.EVIDENCE_TYPES), evidence_max_mb=scores.EVIDENCE_MAX // (1024 * 1024),
                  **extra)


@pages.get("/assessments/{assessment_id}/scores")
def score_page(request: Request, assessment_id: int, phase: str = "self", p: Principal = Depends(current_principal),
               uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _sheet_page(request, p, uow, assessment_id, phase)


@pages.post("/assessments/{assessment_id}/scores")
async def score_save(request: Request, assessment_id: int, phase: str = Form("self"),
                     p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    form = await request.form()
    try:
        sheet = scores.sheet(uow, p, assessment_id, phase)
        scores.save(uow, p, assessment_id, phase, scores.form_answers(sheet.index_set, form),
                    scores.form_revision(form))
    except CdsError as err:
        uow.rollback()
        # What was typed stays on the page, so a refused save loses nothing.
        typed = {k.removeprefix("item:"): str(v) for k, v in form.items() if k.startswith("item:")}
        typed_pts = {k.removeprefix("pts:"): str(v) for k, v in form.items() if k.startswith("pts:")}
        return _sheet_page(request, p, uow, assessment_id, phase, status_of(err), error=err.message,
                           details=err.details, typed=typed, typed_pts=typed_pts, stale=isinstance(err, StaleUpdate))
    return RedirectResponse(f"/assessments/{assessment_id}/scores?phase={phase}&done=scores", status_code=303)


@pages.post("/assessments/{assessment_id}/evidence")
async def evidence_add(request: Request, assessment_id: int, criterion: str = Form(...), title: str = Form(""),
                       link: str = Form(""), document_number: str = Form(""), file: UploadFile | None = None,
                       p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    stored = None
    try:
        scores.assessment_for(uow, p, assessment_id)  # scope first: nothing is written for others' files
        if file is not None and file.filename:
            stored = await save_upload(request, file, "evidence", scores.EVIDENCE_TYPES, scores.EVIDENCE_MAX)
        scores.add_evidence(uow, p, assessment_id, criterion=criterion, title=title, link=link.strip(),
                            stored=stored, document_number=document_number)
    except CdsError as err:
        uow.rollback()
        if stored is not None:
            stored.unlink(missing_ok=True)
        # The criterion's form opens again with what was typed in it.
        typed = {"criterion": criterion, "title": title, "link": link, "document_number": document_number}
        return _sheet_page(request, p, uow, assessment_id, "self", status_of(err), error=err.message,
                           details=err.details, ev_typed=typed)
    return RedirectResponse(f"/assessments/{assessment_id}/scores?done=evidence&c={quote(criterion)}#mc-{quote(criterion)}",
                            status_code=303)


@pages.get("/assessments/{assessment_id}/answer-sheet.xlsx")
def answer_sheet(assessment_id: int, phase: str = "self", p: Principal = Depends(current_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    """The Excel answer sheet with what is stored, to fill offline (validated cells, % cells)."""
    path = scores.answer_sheet(uow, p, assessment_id, phase)
    return FileResponse(path, filename=f"phieu-tra-loi-{assessment_id}.xlsx", media_type=XLSX,
                        background=BackgroundTask(path.unlink, missing_ok=True))


@pages.post("/assessments/{assessment_id}/answer-sheet")
async def answer_sheet_upload(request: Request, assessment_id: int, phase: str = Form("self"),
                              revision: str = Form(""), file: UploadFile | None = None,
                              p: Principal = Depends(checked_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    stored = None
    try:
        scores.assessment_for(uow, p, assessment_id)  # scope first
        if file is None or not file.filename:
            raise InvalidInput("Chọn tệp phiếu trả lời (.xlsx) để tải lên")
        stored = await save_upload(request, file, "answers", (".xlsx",), scores.EVIDENCE_MAX)
        scores.save_sheet(uow, p, assessment_id, phase, stored, int(revision) if revision.isdigit() else None)
    except CdsError as err:
        uow.rollback()
        err = named_as_uploaded(err, stored, file)
        return _sheet_page(request, p, uow, assessment_id, phase, status_of(err), error=err.message,
                           details=err.details, stale=isinstance(err, StaleUpdate))
    finally:
        if stored is not None:
            stored.unlink(missing_ok=True)
    return RedirectResponse(f"/assessments/{assessment_id}/scores?phase={phase}&done=scores", status_code=303)


@pages.get("/evidence/{evidence_id}/file")
def evidence_download(request: Request, evidence_id: int, p: Principal = Depends(current_principal),
                      uow: UnitOfWork = Depends(get_uow)) -> Response:
    path, name = scores.evidence_file(uow, p, evidence_id, request.app.state.uploads_dir)
    return FileResponse(path, filename=name, media_type=scores.MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        content_disposition_type="attachment")


@pages.post("/evidence/{evidence_id}/delete")
def evidence_delete(request: Request, evidence_id: int, confirm: str = Form(""), p: Principal = Depends(checked_principal),
                    uow: UnitOfWork = Depends(get_uow)) -> Response:
    if confirm != "1":  # deleting cannot be undone: a page names the evidence first
        return render(request, "confirm.html", p, c=confirm_evidence_removal(uow, p, evidence_id))
    aid, criterion = scores.remove_evidence(uow, p, evidence_id)
    return RedirectResponse(f"/assessments/{aid}/scores?done=evidence_removed&c={quote(criterion)}#mc-{quote(criterion)}",
                            status_code=303)


# --- API -------------------------------------------------------------------------------------


class AnswersIn(BaseModel):
    phase: str = "self"
    # An answer, or {value, points} when the assessor gives points other than the tier's.
    answers: dict[str, str | int | float | bool | dict[str, str | int | float | None] | None]
    # The revision the answers were read at (`revision` of GET …/scores): a save that changes an item
    # somebody saved since is refused (409) naming who and when; omitted, the save wins.
    base_revision: int | None = None


@api.get("/assessments/{assessment_id}/scores", summary="Điểm và câu trả lời của một giai đoạn")
def api_scores(assessment_id: int, phase: str = "self", p: Principal = Depends(current_principal),
               uow: UnitOfWork = Depends(get_uow)):
    sheet = scores.sheet(uow, p, assessment_id, phase)
    return {"phase": phase, "answers": sheet.answers, "result": scores.result_json(sheet.result),
            "can_edit": sheet.can_edit, "revision": sheet.revision}


@api.put("/assessments/{assessment_id}/scores", summary="Lưu điểm (tự đánh giá hoặc đánh giá ngoài)")
def api_save_scores(assessment_id: int, body: AnswersIn, p: Principal = Depends(checked_principal),
                    uow: UnitOfWork = Depends(get_uow)):
    return scores.result_json(scores.save(uow, p, assessment_id, body.phase, body.answers, body.base_revision))


@api.post("/assessments/{assessment_id}/scores/preview", summary="Tính thử tổng điểm và mức (không lưu)")
def api_preview(assessment_id: int, body: AnswersIn, p: Principal = Depends(checked_principal),
                uow: UnitOfWork = Depends(get_uow)):
    return scores.result_json(scores.preview(uow, p, assessment_id, body.phase, body.answers))


class EvidenceIn(BaseModel):
    criterion: str
    title: str
    link: str
    document_number: str = ""


@api.get("/assessments/{assessment_id}/evidence", summary="Danh sách minh chứng")
def api_evidence(assessment_id: int, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)):
    sheet = scores.sheet(uow, p, assessment_id)
    return [{"id": e.id, "criterion": e.criterion_code, "title": e.title, "link": e.link,
             "file": f"/evidence/{e.id}/file" if e.file_path else None} for e in sheet.evidence]


@api.post("/assessments/{assessment_id}/evidence", status_code=201, summary="Thêm minh chứng (đường link)")
def api_add_evidence(assessment_id: int, body: EvidenceIn, p: Principal = Depends(checked_principal),
                     uow: UnitOfWork = Depends(get_uow)):
    e = scores.add_evidence(uow, p, assessment_id, criterion=body.criterion, title=body.title, link=body.link,
                            document_number=body.document_number)
    return {"id": e.id, "criterion": e.criterion_code}
