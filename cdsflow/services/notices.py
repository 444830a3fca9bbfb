"""Mail raised by events, written to the outbox in the same transaction as the change itself: state
changes of a school's file (`enqueue_transactional`) and set-password or reset links (`enqueue_links`).
`app/wiring.py` subscribes these handlers; a use-case only raises the event."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cdsflow.calendars.timeutil import vn_datetime
from cdsflow.kernel import home
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.notifications.outbox import insert_ignoring_duplicates, outbox_row
from cdsflow.notifications.rendering import TRANSACTIONAL_KINDS, default_templates
from cdsflow.notifications.settings import MailSettings, load_settings
from cdsflow.services.fanout import school_link, split_emails
from cdsflow.services.password_links import KIND, link_url
from cdsflow.storage.tables import Assessment, Campaign, Unit
from cdsflow.workflow.events import PasswordLink, PasswordLinksIssued
from cdsflow.workflow.roles import Role


def enqueue_transactional(session: Session, kind: str, assessment_id: int, context: dict[str, Any]) -> None:
    """Queue the mail for a state change of one assessment; the caller's commit sends it.

    kind: "returned" (context["reason"] required), "proposal_received", "recognised"
    (context["decision_path"]: the decision file to attach, when it exists; context["level"]).
    context["event_id"] (the AssessmentEvent id) makes the unique key; without it the
    assessment's version is used. Either way a retried request does not mail twice.
    Optional: context["now"] (aware datetime), context["due_at"] (deadline to resend, returned).
    """
    if kind not in TRANSACTIONAL_KINDS:
        raise InvalidInput(
            f"Loại thư giao dịch không tồn tại: {kind}", details=[f"các loại: {', '.join(TRANSACTIONAL_KINDS)}"]
        )
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    school = session.get(Unit, assessment.school_id)
    campaign = session.get(Campaign, assessment.campaign_id)
    supervisor = session.get(Unit, school.supervisor_id) if school and school.supervisor_id else None
    if school is None or campaign is None:  # pragma: no cover - foreign keys forbid it
        raise NotFound(f"Hồ sơ đánh giá số {assessment_id} không gắn với trường hoặc kế hoạch")
    settings = load_settings()
    now: datetime = context.get("now") or datetime.now(UTC)
    values: dict[str, Any] = {
        "school_name": school.name,
        "supervisor_name": supervisor.name if supervisor else "cơ quan quản lý",
        "campaign_title": campaign.title,
        "link": school_link(settings, assessment.id),
        "sender_name": settings.from_name,
        "reason": "",
        "due_text": "",
        "received_text": vn_datetime(now),
        "proposal_count": assessment.proposal_count or 0,
        "level": context.get("level") or "",
        "decision_attached": False,
    }
    attachments: list[str] = []
    recipients = split_emails(school.emails)
    if kind == "returned":
        try:
            reason = clean_text(context.get("reason"), field="Lý do trả hồ sơ", allow_newlines=True)
        except TextError as err:
            raise InvalidInput(str(err)) from None
        if not reason:
            raise InvalidInput("Cần ghi rõ lý do yêu cầu bổ sung hồ sơ")
        values["reason"] = reason
        if context.get("due_at"):
            values["due_text"] = vn_datetime(context["due_at"])
    elif kind == "proposal_received":
        if supervisor:
            recipients += [a for a in split_emails(supervisor.emails) if a not in recipients]
    elif kind == "recognised":
        path = context.get("decision_path")
        if path and Path(path).is_file():
            attachments.append(home.to_stored(path))  # relative to the home: the worker may start elsewhere
            values["decision_attached"] = True
    rendered = default_templates().render(kind, values)
    event = context.get("event_id") or f"v{assessment.version}"
    supervisor_emails = split_emails(supervisor.emails) if supervisor else []
    headers = {"Reply-To": supervisor_emails[0]} if supervisor_emails else {}
    rows = [
        outbox_row(
            dedup_key=f"t:{kind}:{assessment.id}:{event}:{addr.lower()}",
            kind=kind, recipient=addr, subject=rendered.subject, body_text=rendered.text,
            body_html=rendered.html, now=now, campaign_id=campaign.id, unit_id=school.id,
            assessment_id=assessment.id, attachments=attachments, headers=headers,
            # Useful for so long after it was written (not after the step's own instant: a step
            # recorded with an earlier date, as the demo does, still tells the school).
            useful_until=max(now, datetime.now(UTC)) + timedelta(days=settings.notice_useful_days),
        )
        for addr in recipients
    ]
    insert_ignoring_duplicates(session, rows)


def _link_mail(link: PasswordLink, base_url: str, settings: MailSettings, templates: Any) -> Any:
    return templates.render(KIND[link.purpose], {
        "full_name": link.full_name,
        "username": link.username,
        "role_label": Role(link.role).label,
        "unit_name": link.unit_name,
        "link": link_url(base_url, link.token),
        "expires_text": vn_datetime(link.expires_at),
        "sender_name": settings.from_name,
    })


def render_link(link: PasswordLink, base_url: str | None = None) -> tuple[str, str, str]:
    """(to, subject, text) of the mail a link is sent in: what a ward is shown before it sends."""
    settings = load_settings()
    rendered = _link_mail(link, base_url or settings.base_url, settings, default_templates())
    return link.email, rendered.subject, rendered.text


def enqueue_links(session: Session, event: PasswordLinksIssued) -> int:
    """One mail per issued link, keyed by the link's stored hash (a retry never mails twice)."""
    settings = load_settings()
    base_url = event.base_url or settings.base_url
    templates = default_templates()
    rows = []
    for link in event.links:
        rendered = _link_mail(link, base_url, settings, templates)
        rows.append(outbox_row(dedup_key=f"a:{link.purpose}:{link.token_id}", kind=KIND[link.purpose],
                               recipient=link.email, subject=rendered.subject, body_text=rendered.text,
                               body_html=rendered.html, now=event.at, unit_id=link.unit_id,
                               useful_until=link.expires_at))
    return sum(insert_ignoring_duplicates(session, rows[i:i + 1000]) for i in range(0, len(rows), 1000))
