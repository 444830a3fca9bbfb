"""Delivery against a real aiosmtpd server on 127.0.0.1: exactly once, through crashes and outages."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cdsflow.notifications.outbox import claim_batch, failed_messages
from cdsflow.notifications.sender import Sender, drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import DatabaseSinkStore, MemorySinkStore, start_sink
from cdsflow.services.fanout import fan_out_reminder
from cdsflow.services.notices import enqueue_transactional
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage, SinkMessage
from tests.integration.test_mail_support import VN, seed_campaign

ROOT = Path(__file__).resolve().parents[2]
BEFORE = datetime(2025, 3, 28, 8, 0, tzinfo=VN)
# The sender's clock a minute after the reminders were written (their deadline is 31/3/2025:
# at the real date they would be past their useful life and expire instead of going out).
SOON = BEFORE + timedelta(minutes=1)


def soon() -> datetime:
    return SOON
STATES = ["self_assessment", "proposal", "plan_issued", "committee_formed"] * 5  # 15 late schools


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(port: int, **kw):
    return replace(load_settings({}), host="127.0.0.1", port=port, connections=3, **kw)


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def sink(port):
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    yield store
    controller.stop()


def _statuses(engine) -> Counter:
    with Session(engine) as s:
        return Counter(s.scalars(select(OutboxMessage.status)))


def _fan_out(engine, campaign_id: int, offset: str = "before-3") -> int:
    with UnitOfWork(engine) as uow:
        n = fan_out_reminder(uow.session, campaign_id, "to_trinh", offset, BEFORE)
        uow.commit()
    return n


def _assert_each_row_delivered_once(engine, store: MemorySinkStore) -> None:
    with Session(engine) as s:
        ids = list(s.scalars(select(OutboxMessage.id)))
    received = Counter(store.message_ids())
    assert received == Counter({f"<outbox-{i}@cdsflow.local>": 1 for i in ids})


def test_fan_out_killed_mid_transaction_then_rerun_delivers_each_message_once(engine, sink, port):
    seeded = seed_campaign(engine, STATES)
    url = engine.url.render_as_string(hide_password=False)
    # A real process writes the rows (not committed yet) and is killed with SIGKILL.
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime
        from zoneinfo import ZoneInfo
        from sqlalchemy.orm import Session
        from cdsflow.storage.db import make_engine
        from cdsflow.services.fanout import fan_out_reminder
        engine = make_engine({url!r})
        with Session(engine) as s:
            n = fan_out_reminder(s, {seeded.campaign_id}, "to_trinh", "before-3",
                                 datetime(2025, 3, 28, 8, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
            s.flush()
            print(n, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "15"
    assert _statuses(engine) == Counter()
    # Started again: the job re-runs (twice, as a catch-up after a restart may do).
    assert _fan_out(engine, seeded.campaign_id) == 15
    assert _fan_out(engine, seeded.campaign_id) == 0
    stats = drain_outbox_sync(engine, settings_for(port), clock=soon)
    assert stats.sent == 15
    assert _fan_out(engine, seeded.campaign_id) == 0
    assert drain_outbox_sync(engine, settings_for(port), clock=soon).sent == 0
    _assert_each_row_delivered_once(engine, sink)
    assert _statuses(engine) == Counter({"sent": 15})


def test_smtp_server_down_then_up_delivers_everything_once(engine, port):
    seeded = seed_campaign(engine, STATES)
    _fan_out(engine, seeded.campaign_id)
    t0 = SOON
    down = drain_outbox_sync(engine, settings_for(port), clock=lambda: t0)
    assert down.sent == 0 and down.retried == 15
    with Session(engine) as s:
        rows = list(s.scalars(select(OutboxMessage)))
    assert {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {1}
    assert all("kết nối" in r.last_error for r in rows)
    assert min(r.next_attempt_at for r in rows) >= t0 + timedelta(seconds=60)  # backoff

    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    try:
        # Not due yet: the backoff is respected even though the server is back.
        assert drain_outbox_sync(engine, settings_for(port), clock=lambda: t0).sent == 0
        later = t0 + timedelta(hours=1)
        assert drain_outbox_sync(engine, settings_for(port), clock=lambda: later).sent == 15
        assert drain_outbox_sync(engine, settings_for(port), clock=lambda: later).sent == 0
    finally:
        controller.stop()
    _assert_each_row_delivered_once(engine, store)


def test_a_recipient_refused_with_5xx_is_failed_and_the_rest_go_through(engine, port):
    seeded = seed_campaign(engine, STATES)
    _fan_out(engine, seeded.campaign_id)
    store = MemorySinkStore()
    controller = start_sink(store, port=port, refuse=["school2.0@example.edu.vn"])
    try:
        stats = drain_outbox_sync(engine, settings_for(port), clock=soon)
    finally:
        controller.stop()
    assert (stats.sent, stats.failed, stats.retried) == (14, 1, 0)
    with Session(engine) as s:
        failed = failed_messages(s)
    assert [f.recipient for f in failed] == ["school2.0@example.edu.vn"]
    assert "550" in failed[0].last_error and "từ chối" in failed[0].last_error
    assert len(store.messages) == 14
    assert "school2.0@example.edu.vn" not in {r for _, rcpts, _ in store.messages for r in rcpts}


def test_rows_abandoned_by_a_crashed_sender_are_sent_when_its_lease_lapses(engine, sink, port):
    seeded = seed_campaign(engine, STATES[:4])
    _fan_out(engine, seeded.campaign_id)
    t0 = SOON
    settings = settings_for(port)
    with Session(engine) as s:  # a sender claims, then dies before sending
        assert len(claim_batch(s, t0, 100, "crashed-sender", settings.lease)) == 3
        s.commit()
    # Its lease still runs: nobody else may take the rows.
    almost = t0 + timedelta(seconds=settings.lease - 1)
    assert drain_outbox_sync(engine, settings, clock=lambda: almost).sent == 0
    late = t0 + timedelta(seconds=settings.lease + 1)
    stats = drain_outbox_sync(engine, settings, clock=lambda: late)
    assert stats.sent == 3 and stats.requeued_stale == 3
    _assert_each_row_delivered_once(engine, sink)


def test_rate_limited_sender_reuses_its_connections(engine, sink, port):
    seeded = seed_campaign(engine, STATES)
    _fan_out(engine, seeded.campaign_id)
    import asyncio

    async def run():
        sender = Sender(engine, settings_for(port, rate=1000.0), clock=soon)
        await sender.drain()
        clients = [c for c in sender._pool if c is not None]
        await sender.aclose()
        return len(clients)

    # Three pooled connections carried all fifteen mails.
    assert asyncio.run(run()) <= 3
    _assert_each_row_delivered_once(engine, sink)


def test_messages_arrive_readable_with_vietnamese_headers_and_attachment(engine, port, tmp_path):
    seeded = seed_campaign(engine, STATES[:1])
    decision = tmp_path / "Quyết định công nhận.docx"
    decision.write_bytes(b"PK\x03\x04 docx bytes")
    with UnitOfWork(engine) as uow:
        enqueue_transactional(uow.session, "recognised", seeded.assessment_ids[0],
                              {"event_id": 1, "level": "Mức 3", "decision_path": str(decision)})
        uow.commit()
    controller = start_sink(DatabaseSinkStore(engine), port=port)
    try:
        assert drain_outbox_sync(engine, settings_for(port)).sent == 1
    finally:
        controller.stop()
    with Session(engine) as s:
        kept = s.scalars(select(SinkMessage)).one()
    assert kept.subject == "[Công nhận] Trường Tiểu học Số 0 được công nhận mức độ chuyển đổi số: Mức 3"
    msg = message_from_bytes(kept.raw.encode())
    assert str(make_header(decode_header(msg["From"]))).startswith("Hệ thống đánh giá chuyển đổi số")
    assert msg["Message-ID"] and msg["Date"] and msg["To"] == "school0.0@example.edu.vn"
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert "Mức 3" in parts["text/plain"].get_payload(decode=True).decode("utf-8")
    attachment = [p for p in msg.walk() if p.get_filename()]
    assert attachment[0].get_filename() == "Quyết định công nhận.docx"
    assert attachment[0].get_payload(decode=True) == b"PK\x03\x04 docx bytes"


def test_a_lease_lapsed_by_the_application_clock_is_not_trusted_by_the_monotonic_one(engine, sink, port):
    """The ×3600 audit's double sends: the lease is written in the application clock but was
    trusted by the process's monotonic clock alone. Under a fast (or jumping) clock, another
    sender found the lease lapsed, took the rows and sent them, and the first sent them too.
    Here sender A claims, its clock then passes the lease before it sends, and sender B takes
    the rows over in between: each message arrives once."""
    import asyncio

    seeded = seed_campaign(engine, STATES)
    written = _fan_out(engine, seeded.campaign_id)
    settings = settings_for(port)
    late = SOON + timedelta(seconds=settings.lease + 1)
    calls = []

    def a_clock() -> datetime:  # the claim at SOON, everything after it past the lease
        calls.append(1)
        return SOON if len(calls) == 1 else late

    async def run() -> int:
        a, b = Sender(engine, settings, clock=a_clock), Sender(engine, settings, clock=lambda: late)
        b_ran: list = []
        connect = a._connection

        async def connection(slot: int):
            if not b_ran:  # while A connects, B finds A's lease lapsed and takes the rows
                b_ran.append(await b.run_round())
            return await connect(slot)

        a._connection = connection
        try:
            sent = (await a.run_round()).sent
            if not b_ran:
                b_ran.append(await b.run_round())
            return sent + b_ran[0].sent
        finally:
            await a.aclose()
            await b.aclose()

    assert asyncio.run(run()) == written
    _assert_each_row_delivered_once(engine, sink)
