"""The administrator's mailbox: is the worker alive, is the relay failing, failed mail with
"Gửi lại", and the local mail sink (demo and development): what the worker has sent."""
from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cdsflow.app.web.access import require
from cdsflow.app.web.deps import checked_principal, current_principal, get_uow
from cdsflow.app.web.pages import render
from cdsflow.services import long_lists
from cdsflow.services.accounts import Principal
from cdsflow.services.mail import mailbox_status, retry_failed_mail, sink_message, sink_messages
from cdsflow.storage.db import UnitOfWork

pages = APIRouter(include_in_schema=False)

_RETRIED = "Đã đưa {n} thư trở lại hàng đợi; tiến trình nền sẽ gửi lại."


def _page(request: Request, p: Principal, uow: UnitOfWork, status: int = 200, **extra) -> Response:
    rows, total = sink_messages(uow.session, limit=100)
    delivery = mailbox_status(uow.session, datetime.now(UTC))
    retried = request.query_params.get("retried", "")
    queue = long_lists.outbox_page(uow.session, request.query_params)
    context = {"rows": rows, "total": total, "message": None, "delivery": delivery, "Q": queue,
               "mail_statuses": list(long_lists.MAIL_STATUSES.items()),
               "retried": _RETRIED.format(n=int(retried)) if retried.isdigit() else None}
    return render(request, "mailbox.html", p, status, **{**context, **extra})


@pages.get("/mailbox")
def mailbox(request: Request, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "mailbox")
    return _page(request, p, uow)


@pages.post("/mailbox/retry")
def retry(request: Request, message_id: str = Form(""), p: Principal = Depends(checked_principal),
          uow: UnitOfWork = Depends(get_uow)) -> Response:
    """"Gửi lại": one failed message (message_id) or, with message_id "all", every one."""
    require(p, "mailbox")
    ids = None if message_id == "all" else [int(message_id)] if message_id.isdigit() else []
    if ids == []:
        return _page(request, p, uow, error="Không rõ thư cần gửi lại.", status=422)
    n = retry_failed_mail(uow.engine, ids, datetime.now(UTC))
    return RedirectResponse(f"/mailbox?retried={n}", status_code=303)


@pages.get("/mailbox/{message_id}")
def mail(request: Request, message_id: int, p: Principal = Depends(current_principal),
         uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "mailbox")
    m = sink_message(uow.session, message_id)
    # The sink stored the bytes decoded as UTF-8; parse bytes again so 8-bit bodies decode right.
    parsed = message_from_bytes(m.raw.encode("utf-8", errors="replace"), policy=policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    attachments = [a.get_filename() or "tệp đính kèm" for a in parsed.iter_attachments()]
    return render(request, "mailbox.html", p, rows=[], total=0, message=m, text=text, attachments=attachments,
                  delivery=None, retried=None)
