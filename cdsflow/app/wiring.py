"""Wires the outer layers to the domain's events; every entry point (CLI, web, worker) calls install()."""
from __future__ import annotations

from sqlmodel import Session

from cdsflow.services.notices import enqueue_links
from cdsflow.workflow import events

# Which moves mail the school (and its supervisor), and with which template.
MAIL_ON = {"return_for_supplement": "returned", "submit_proposal": "proposal_received", "recognise": "recognised"}


def on_assessment_moved(session: Session, event: events.AssessmentMoved) -> None:
    """Queue the state-change mail in the same transaction as the move: both commit or neither."""
    from cdsflow.services.notices import enqueue_transactional

    kind = MAIL_ON.get(event.trigger)
    if kind is None:
        return
    context: dict = {"event_id": event.event_id, "now": event.at}
    if kind == "returned":
        notes = "".join(f"\n- Tiêu chí {code}: {note}" for code, note in event.criteria_notes.items())
        context["reason"] = event.reason + notes
    if kind == "recognised":
        from cdsflow.services.results import NoResults, recognised_results

        try:  # the level the recognition settled (external review, or self scores on an override)
            context["level"] = recognised_results(session, event.assessment_id).level_names
        except NoResults:
            context["level"] = ""
        context["decision_path"] = _recognition_decision(session, event.assessment_id)
    enqueue_transactional(session, kind, event.assessment_id, context)


def _recognition_decision(session: Session, assessment_id: int) -> str | None:
    """The recognition decision in force that names this school, as a file to attach; None while no
    decision names it (it is issued after the recognition step)."""
    from cdsflow.documents.render import render
    from cdsflow.services.results import recognition_decision
    from cdsflow.storage.tables import Assessment

    record = recognition_decision(session, session.get(Assessment, assessment_id))
    if record is None:
        return None
    from cdsflow.kernel import home

    path = home.papers_dir() / "attachments" / f"qd-cong-nhan-{record.id}.docx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(record.doc_type, record.context, expected_hash=record.template_hash))
    return str(path)


def install() -> None:
    events.subscribe(on_assessment_moved)
    # One mail per set-password or reset link, in the transaction that stored the links.
    events.subscribe(enqueue_links, events.PasswordLinksIssued)
