"""A school's file moves through the workflow and the right people get mail, once, over real SMTP."""
import socket
from dataclasses import replace
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from cdsflow.app import wiring
from cdsflow.kernel.errors import InvalidInput, TransitionRefused
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.services import papers as docs
from cdsflow.services.assessments import MemberInput, find_assessment, set_committee, transition
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.demo import demo_answers
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.scoring import save_answers
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.workflow import events
from cdsflow.workflow.context import ActorRef
from tests.factories import calendar, complete_self_assessment, load_units


@pytest.fixture
def wired():
    events.subscribe(wiring.on_assessment_moved)
    yield
    events.unsubscribe(wiring.on_assessment_moved)


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    yield store, replace(load_settings({}), host="127.0.0.1", port=port, connections=2)
    controller.stop()


def received(store):
    out = []
    for _, rcpts, raw in store.messages:
        msg = message_from_bytes(raw)
        body = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
        out.append((str(make_header(decode_header(msg["Subject"]))), sorted(rcpts), body, msg))
    return out


def test_return_proposal_and_recognition_mail(engine, wired, smtp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # attachments are written under var/
    store, settings = smtp
    load_units(engine)
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="P1", school_year="2024-2025", index_set="4725",
                              calendar=calendar()).campaign_id
    with UnitOfWork(engine) as uow:
        a = find_assessment(uow, "P1S1")
        head, officer = ActorRef("Cô Hoa", a.school_id), ActorRef("Anh Tuấn", get_unit(uow, "P1").id)
        set_committee(uow, a.id, [MemberInput("Cô Hoa", "Chủ tịch"), MemberInput("Thầy Nam", "Thư ký")], head)
        for t in ("advance", "advance"):
            transition(uow, a.id, t, head)
    complete_self_assessment(engine, a.id)
    with UnitOfWork(engine) as uow:
        transition(uow, a.id, "submit_proposal", head)
        transition(uow, a.id, "start_review", officer)
        transition(uow, a.id, "return_for_supplement", officer, reason="Bổ sung minh chứng",
                   criteria_notes={"1.4": "Thiếu danh mục học liệu số"})
    assert drain_outbox_sync(engine, settings).sent == 3
    first = received(store)
    returned = next(m for m in first if "Bổ sung minh chứng" in m[2])
    # The proposal reaches the school and its supervisor, one message each; the return only the school.
    assert sorted(r for m in first if m is not returned for r in m[1]) == ["p1@hanoi.edu.vn", "p1s1@hanoi.edu.vn"]
    assert returned[1] == ["p1s1@hanoi.edu.vn"]
    assert "Bổ sung minh chứng" in returned[2] and "Tiêu chí 1.4: Thiếu danh mục học liệu số" in returned[2]

    # Recognition: the decision lists only schools already recognised, so it is issued after the
    # step and the recognition mail never carries a decision that does not name the school.
    with UnitOfWork(engine) as uow:
        transition(uow, a.id, "submit_proposal", head)
        transition(uow, a.id, "start_review", officer)
    with pytest.raises(InvalidInput):
        docs.generate(engine, "qd_cong_nhan", campaign_id=cid)  # nobody recognised yet
    with UnitOfWork(engine) as uow:
        save_answers(uow.session, a.id, "external", demo_answers(index_set_for_assessment(uow.session, a.id), 0.8),
                     "Anh Tuấn")
        uow.commit()
        transition(uow, a.id, "recognise", officer)
    drain_outbox_sync(engine, settings)
    assert len(store.messages) == 6  # a second proposal (2 messages) and the recognition, nothing twice
    recognised = received(store)[-1]
    assert recognised[0].startswith("[Công nhận]") and "Mức đáp ứng" in recognised[0]
    assert not [p for p in recognised[3].walk() if p.get_filename()]
    with UnitOfWork(engine) as uow:  # nothing left, nothing twice
        assert {m.status for m in uow.session.execute(select(OutboxMessage)).scalars()} == {"sent"}


def test_a_refused_move_mails_nobody(engine, wired):
    load_units(engine)
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="P1", school_year="2024-2025", index_set="4725", calendar=calendar())
    with UnitOfWork(engine) as uow:
        a = find_assessment(uow, "P1S1")
        with pytest.raises(TransitionRefused):
            transition(uow, a.id, "return_for_supplement", ActorRef("Anh Tuấn", get_unit(uow, "P1").id), reason="x")
    with UnitOfWork(engine) as uow:
        assert uow.session.execute(select(OutboxMessage)).first() is None
