"""The council's meeting facts on the web: the school records them; the Biên bản prints them.

Translation only: the form's fields go to `workflow.services.meetings.record_meeting`, which
refuses anyone but the school itself and a locked file.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from cdsflow.app.web.access import assessment_for, require
from cdsflow.app.web.actions import actor
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.errors import status_of
from cdsflow.app.web.pages import NOTICES, render
from cdsflow.kernel.errors import CdsError
from cdsflow.services import meetings as svc
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork

NOTICES["meeting"] = "Đã ghi thông tin cuộc họp Hội đồng."
FIELDS = ("start", "end", "place", "chaired_by", "secretary", "attendees_present", "attendees_total", "absent",
          "vote_for", "vote_against", "vote_abstain", "conclusions")

pages = APIRouter(include_in_schema=False)


def _page(request: Request, p: Principal, uow: UnitOfWork, assessment_id: int, *, status: int = 200,
          error: str = "", form: dict | None = None) -> Response:
    a = assessment_for(uow, p, assessment_id)
    view = svc.meeting_page(uow, actor(p), a)
    n = len(view.members)
    return render(request, "meeting.html", p, status, a=a, school=view.school, meeting=view.meeting,
                  members=view.members, can_record=view.can_record, error=error,
                  form=form or {"attendees_total": n, "attendees_present": n, "vote_for": n})


@pages.get("/assessments/{assessment_id}/meeting")
def meeting_page(request: Request, assessment_id: int, p: Principal = Depends(current_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    return _page(request, p, uow, assessment_id)


@pages.post("/assessments/{assessment_id}/meeting")
async def record(request: Request, assessment_id: int, p: Principal = Depends(checked_principal),
                 uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "record_meeting")
    a = assessment_for(uow, p, assessment_id)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in FIELDS}
    try:
        svc.record_meeting(uow.session, a.id, svc.meeting_input(values), actor(p))
        uow.commit()
    except CdsError as err:  # the form comes back with what was typed and the reasons
        uow.rollback()
        return _page(request, p, uow, assessment_id, status=status_of(err), error=str(err), form=values)
    return RedirectResponse(f"/assessments/{assessment_id}/meeting?done=meeting", status_code=303)
