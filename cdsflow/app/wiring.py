"""Wires the outer layers to the domain's events; every entry point (CLI, web, worker) calls install()."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from cdsflow.workflow import events

# Which moves mail the school (and its supervisor), and with which template.
MAIL_ON = {"return_for_supplement": "returned", "submit_proposal": "proposal_received", "recognise": "recognised"}


def on_assessment_moved(session: Session, event: events.AssessmentMoved) -> None:
    """Queue the state-change mail in the same transaction as the move: both commit or neither."""
    from cdsflow.notifications.transactional import enqueue_transactional

    kind = MAIL_ON.get(event.trigger)
    if kind is None:
        return
    context: dict = {"event_id": event.event_id, "now": event.at}
    if kind == "returned":
        notes = "".join(f"\n- Tiêu chí {code}: {note}" for code, note in event.criteria_notes.items())
        context["reason"] = event.reason + notes
    if kind == "recognised":
        from cdsflow.documents.scores import stored_scores
        from cdsflow.storage.tables import Assessment

        context["level"] = stored_scores(session.get(Assessment, event.assessment_id)).get("level") or ""
        context["decision_path"] = _recognition_decision(session, event.campaign_id)
    enqueue_transactional(session, kind, event.assessment_id, context)


def _recognition_decision(session: Session, campaign_id: int) -> str | None:
    """The newest numbered recognition decision of the campaign (or its parent), as a file to attach."""
    from cdsflow.documents.render import render
    from cdsflow.storage.documents_tables import GeneratedDocument
    from cdsflow.storage.tables import Campaign

    campaign = session.get(Campaign, campaign_id)
    ids = [campaign_id] + ([campaign.parent_id] if campaign and campaign.parent_id else [])
    record = session.execute(
        select(GeneratedDocument).where(GeneratedDocument.campaign_id.in_(ids),
                                        GeneratedDocument.doc_type == "qd_cong_nhan",
                                        GeneratedDocument.number.is_not(None))
        .order_by(GeneratedDocument.id.desc())
    ).scalars().first()
    if record is None:
        return None
    from cdsflow import home

    path = home.papers_dir() / "attachments" / f"qd-cong-nhan-{record.id}.docx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(record.doc_type, record.context, expected_hash=record.template_hash))
    return str(path)


def install() -> None:
    events.subscribe(on_assessment_moved)
