"""The local mail sink (demo and development): what the worker would have sent, for the administrator."""
from __future__ import annotations

from email import message_from_bytes, policy

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cdsflow.app.web.access import require
from cdsflow.app.web.deps import current_principal, get_uow
from cdsflow.app.web.pages import render
from cdsflow.notifications.services import sink_message, sink_messages
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.services.accounts import Principal

pages = APIRouter(include_in_schema=False)


@pages.get("/mailbox")
def mailbox(request: Request, p: Principal = Depends(current_principal), uow: UnitOfWork = Depends(get_uow)) -> Response:
    require(p, "mailbox")
    rows, total = sink_messages(uow.session, limit=100)
    return render(request, "mailbox.html", p, rows=rows, total=total, message=None)


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
    return render(request, "mailbox.html", p, rows=[], total=0, message=m, text=text, attachments=attachments)
