"""A ward's plan with relative deadlines (calendars/data/hai-phong/phuong-mau-2025-2026.yaml), lived
through the web API in time order, with reminders delivered to a real SMTP server on 127.0.0.1.

The form closes at 17h00 on 30/01/2026; a returned file gets 5 working days from its return; only
the first send counts; schools are reminded daily after a deadline, the ward weekly. One world for
the module (SQLite): the tests below are the plan's months, in order.
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import replace
from datetime import datetime
from email import message_from_bytes, policy

import pytest
import typer
from docx import Document
from freezegun import freeze_time
from typer.testing import CliRunner

from cdsflow.app import cli_indexset
from cdsflow.calendars.timeutil import TZ
from cdsflow.documents import vietnamese as vn
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.scheduler.ticker import run_due_reminders
from cdsflow.services.accounts import create_account
from cdsflow.services.scoring import load_answers
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from tests.integration.test_mail_delivery import free_port
from tests.web_support import COMMITTEE, PASSWORD, World, build_world, fill_self_assessment

CALENDAR = "hai-phong/phuong-mau-2025-2026"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


class Ward:
    def __init__(self, world: World, campaign_id: int, s1: int, s2: int, sink: MemorySinkStore, port: int):
        self.world, self.campaign_id, self.s1, self.s2, self.sink, self.port = world, campaign_id, s1, s2, sink, port
        self.first_answers: dict = {}
        self.first_groups: list = []

    def client(self, who: str):
        return self.world.client(who)  # logged in at the frozen instant (a session lasts 12 hours)

    def step(self, who: str, aid: int, trigger: str, **extra):
        c = self.client(who)
        version = c.get(f"/api/assessments/{aid}").json()["version"]
        return c.post(f"/api/assessments/{aid}/transitions", json={"trigger": trigger, "version": version, **extra})

    def tick_and_deliver(self, when: datetime) -> list:
        """The scheduler's tick at `when`, then the outbox drained to the SMTP sink; the new mails."""
        before = len(self.sink.messages)
        run_due_reminders(self.world.engine, when)
        settings = replace(load_settings({}), port=self.port)
        drain_outbox_sync(self.world.engine, settings, clock=lambda: when)
        return [(rcpt, message_from_bytes(body, policy=policy.default))
                for _, rcpts, body in self.sink.messages[before:] for rcpt in rcpts]


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ward")
    engine = make_engine(f"sqlite:///{tmp / 'cdsflow.db'}")
    metadata.create_all(engine)
    world = build_world(engine, tmp)
    with UnitOfWork(engine) as uow:
        create_account(uow, username="head12", full_name="Đặng Thu Trang", role="school_head", password=PASSWORD,
                       unit_code="P1S2")
    store = MemorySinkStore()
    port = free_port()
    controller = start_sink(store, port=port)
    try:
        with freeze_time("2025-12-16 09:00:00+07:00"):
            r = world.client("officer").post("/api/campaigns", json={"school_year": "2025-2026",
                                                                      "calendar": CALENDAR})
            assert r.status_code == 201, r.text
            cid = r.json()["campaign_id"]
            schools = {row["school_code"]: row["assessment_id"]
                       for row in world.client("officer").get(f"/api/campaigns/{cid}/schools").json()}
        w = Ward(world, cid, schools["P1S1"], schools["P1S2"], store, port)
        for who, aid in (("head", w.s1), ("head12", w.s2)):
            with freeze_time("2026-01-05 09:00:00+07:00"):
                c = w.client(who)
                version = c.get(f"/api/assessments/{aid}").json()["version"]
                assert c.put(f"/api/assessments/{aid}/committee",
                             json={"version": version, "members": COMMITTEE}).status_code == 200
                assert w.step(who, aid, "form_committee").status_code == 200
                assert w.step(who, aid, "start_self_assessment").status_code == 200
                fill_self_assessment(c, engine, aid, strength=0.8)
            with freeze_time("2026-01-28 10:00:00+07:00"):
                assert w.step(who, aid, "submit_proposal").status_code == 200
        with freeze_time("2026-01-28 10:05:00+07:00"):
            first = w.client("officer").get(f"/api/assessments/{w.s1}/scores?phase=self").json()
            w.first_answers, w.first_groups = first["answers"], first["result"]["groups"]
        yield w
    finally:
        controller.stop()
        engine.dispose()


def test_after_the_form_closed_the_late_school_is_not_asked_to_send_and_the_ward_hears_weekly(ward):
    # The form closed on Friday 30/01. A school that never sent can no longer send (issue 23:
    # reminders never ask for a send that cannot be made), so it gets no «[Quá hạn]» reminder; its
    # ward's Phòng hears once a week (overdue-5: Friday 06/02) with the school in its digest.
    mails = []
    for day in ("2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"):
        mails += ward.tick_and_deliver(at(f"{day} 07:00"))
    to_trinh = [(rcpt, m) for rcpt, m in mails if "Gửi tờ trình đề nghị đánh giá ngoài" in m["Subject"]]
    reminders = Counter(rcpt for rcpt, m in to_trinh if m["Subject"].startswith("[Quá hạn]"))
    digests = [(rcpt, m) for rcpt, m in to_trinh if m["Subject"].startswith("[Tổng hợp quá hạn]")]
    assert reminders == Counter()
    assert [rcpt for rcpt, _ in digests] == ["p1@hanoi.edu.vn"]
    assert "Trường" in digests[0][1].get_body(("plain",)).get_content()


def test_a_return_after_the_form_closed_gets_five_working_days_across_tet(ward):
    with freeze_time("2026-02-09 09:00:00+07:00"):
        for aid in (ward.s1, ward.s2):
            assert ward.step("officer", aid, "start_review").status_code == 200
    with freeze_time("2026-02-12 10:00:00+07:00"):  # Thursday; Tết runs 16–20/02
        assert ward.step("officer", ward.s1, "return_for_supplement", reason="Bổ sung minh chứng").status_code == 200
    with freeze_time("2026-02-25 09:00:00+07:00"):
        page = ward.client("head").get(f"/assessments/{ward.s1}")
        # Its own deadline: 5 working days after 12/02 skip the weekend and Tết → Thursday 26/02.
        assert "26/02/2026" in page.text and "Hạn riêng của cơ sở" in page.text
        fill_self_assessment(ward.client("head"), ward.world.engine, ward.s1, strength=0.4)
    with freeze_time("2026-02-26 16:00:00+07:00"):
        r = ward.step("head", ward.s1, "submit_proposal")
        assert r.status_code == 200, r.text  # the form closed a month ago; its own window is open


def test_counts_first_keeps_the_first_send_for_reviewers_and_the_page_lists_both(ward):
    with freeze_time("2026-02-27 09:00:00+07:00"):
        seen = ward.client("officer").get(f"/api/assessments/{ward.s1}/scores?phase=self").json()["answers"]
        assert seen == ward.first_answers
        page = ward.client("head").get(f"/assessments/{ward.s1}").text
    sends = page.split('<ol id="sends">')[1].split("</ol>")[0]
    assert sends.count("<li>") == 2 and "gửi lại sau khi bị trả hồ sơ" in sends
    assert "(lần gửi được ghi nhận)" in sends.split("</li>")[0]  # the first one
    # The self-assessment report prints the first send's group totals, not the resent ones.
    with freeze_time("2026-02-27 09:30:00+07:00"):
        head = ward.client("head")
        doc = head.post(f"/api/assessments/{ward.s1}/documents", json={"doc_type": "bao_cao"})
        assert doc.status_code == 201, doc.text
        body = head.get(doc.json()["download"]).content
    text = "\n".join(p.text for p in Document(io.BytesIO(body)).paragraphs)
    text += "\n".join(c.text for t in Document(io.BytesIO(body)).tables for r in t.rows for c in r.cells)
    for g in ward.first_groups:
        assert f"{vn.decimal(g['total'])}/" in text, (g, text[:2000])


def test_own_deadline_across_30_4_drives_reminders_late_and_refusal(ward):
    with freeze_time("2026-04-28 10:00:00+07:00"):  # Tuesday; 30/04 and 01/05 are holidays
        assert ward.step("officer", ward.s2, "return_for_supplement", reason="Thiếu biên bản").status_code == 200
    # Its deadline is Thursday 07/05: the day before, the school is reminded of its own deadline.
    mails = ward.tick_and_deliver(at("2026-05-06 07:00"))
    own = [(rcpt, m) for rcpt, m in mails if "Bổ sung hồ sơ và gửi lại" in m["Subject"]]
    assert [(rcpt, m["Subject"]) for rcpt, m in own] == [
        ("p1s2@hanoi.edu.vn", "[Nhắc hạn] Bổ sung hồ sơ và gửi lại trong 05 ngày làm việc kể từ ngày bị trả hồ sơ "
                              "– hạn 23:59 ngày 7 tháng 5 năm 2026")]
    with freeze_time("2026-05-08 09:00:00+07:00"):
        r = ward.step("head12", ward.s2, "submit_proposal")
        assert r.status_code == 422 and "Đã hết thời hạn gửi lại hồ sơ sau khi bị trả" in r.text
        board = ward.client("officer").get(f"/api/campaigns/{ward.campaign_id}").json()
        # The officer's nudge on the relative milestone reaches the schools that have such a deadline
        # (P1S2, late: one reminder, and one digest to the ward's Phòng).
        nudge = ward.client("officer").post(f"/api/campaigns/{ward.campaign_id}/remind", json={"milestone": "nop-lai"})
        assert nudge.status_code == 200 and (nudge.json()["late_schools"], nudge.json()["queued"]) == (1, 2), nudge.text
    late = {x["school_code"]: x for x in board["late"]}
    assert late["P1S2"]["milestone"].startswith("Bổ sung hồ sơ và gửi lại")
    assert datetime.fromisoformat(late["P1S2"]["due_at"]).astimezone(TZ).date().isoformat() == "2026-05-07"


def test_score_compare_reads_the_send_that_counts_as_the_web_and_the_papers_do(ward, monkeypatch):
    # After the return and the second send (strength 0.4), `counts: first` keeps the first send.
    monkeypatch.setenv("DATABASE_URL", str(ward.world.engine.url))
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    cli_indexset.register(app)
    with freeze_time("2026-02-27 10:00:00+07:00"):
        r = CliRunner().invoke(app, ["score", "compare", "--assessment", str(ward.s1)])
        live = ward.client("head").get(f"/api/assessments/{ward.s1}/scores?phase=self").json()
    assert r.exit_code == 0, r.output
    rows = {line.split("│")[2].strip(): line.split("│")[3].strip() for line in r.output.splitlines()
            if line.count("│") >= 5 and "Nhóm" in line}
    for g in ward.first_groups:
        assert rows[f"Nhóm {g['code']}"] == vn.decimal(g["total"]), (rows, g)
    with UnitOfWork(ward.world.engine) as uow:
        own = load_answers(uow.session, ward.s1, "self")  # the school's live answers: the second send
    assert own != ward.first_answers and live["answers"] == ward.first_answers
