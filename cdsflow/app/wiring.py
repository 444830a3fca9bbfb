"""Wires the outer layers to the domain's events; every entry point (CLI, web, worker) calls install().

Also the one module of app/ that builds the database engine and its units of work: the CLI, the
worker and the web (through `uow_factory`) open no session and touch no database library themselves."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from cdsflow.documents.render import render
from cdsflow.kernel import home
from cdsflow.services.notices import enqueue_links, enqueue_transactional
from cdsflow.services.results import NoResults, recognised_results, recognition_decision
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.tables import Assessment
from cdsflow.workflow import events

UowFactory = Callable[[], UnitOfWork]


def uow_factory(engine: Engine) -> UowFactory:
    """A fresh unit of work on `engine` per call: one per request, one per guard check."""
    return partial(UnitOfWork, engine)


# Which moves mail the school (and its supervisor), and with which template.
MAIL_ON = {"return_for_supplement": "returned", "submit_proposal": "proposal_received", "recognise": "recognised"}


def on_assessment_moved(session: Session, event: events.AssessmentMoved) -> None:
    """Queue the state-change mail in the same transaction as the move: both commit or neither."""
    kind = MAIL_ON.get(event.trigger)
    if kind is None:
        return
    context: dict = {"event_id": event.event_id, "now": event.at}
    if kind == "returned":
        notes = "".join(f"\n- Tiêu chí {code}: {note}" for code, note in event.criteria_notes.items())
        context["reason"] = event.reason + notes
    if kind == "recognised":
        try:  # the level the recognition settled (external review, or self scores on an override)
            context["level"] = recognised_results(session, event.assessment_id).level_names
        except NoResults:
            context["level"] = ""
        context["decision_path"] = _recognition_decision(session, event.assessment_id)
    enqueue_transactional(session, kind, event.assessment_id, context)


def _recognition_decision(session: Session, assessment_id: int) -> str | None:
    """The recognition decision in force that names this school, as a file to attach; None while no
    decision names it (it is issued after the recognition step)."""
    record = recognition_decision(session, session.get(Assessment, assessment_id))
    if record is None:
        return None

    path = home.papers_dir() / "attachments" / f"qd-cong-nhan-{record.id}.docx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(record.doc_type, record.context, expected_hash=record.template_hash))
    return str(path)


def install() -> None:
    events.subscribe(on_assessment_moved)
    # One mail per set-password or reset link, in the transaction that stored the links.
    events.subscribe(enqueue_links, events.PasswordLinksIssued)


def engine(url: str | None = None) -> Engine:
    """The engine of the configured database (`url`, else DATABASE_URL, else the SQLite file in the data home)."""
    return make_engine(url)


def uow(on: Engine | None = None) -> UnitOfWork:
    """A unit of work on the configured database (or on `on`); the caller commits (use-cases do)."""
    return UnitOfWork(on or engine())


@contextmanager
def transaction() -> Iterator[UnitOfWork]:
    """A unit of work committed when the block ends without an error, its engine disposed after."""
    eng = engine()
    try:
        with UnitOfWork(eng) as u:
            yield u
            u.commit()
    finally:
        eng.dispose()
