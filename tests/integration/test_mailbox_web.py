"""The administrator's mailbox page: worker alive or not, relay failing, failed mail sent again."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cdsflow.notifications.outbox import insert_ignoring_duplicates, outbox_row
from cdsflow.services.mail import record_worker_beat as write_beat
from cdsflow.storage.notifications_tables import OutboxMessage
from tests.web_support import build_world


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def _failed_mail(engine, n: int) -> list[int]:
    now = datetime.now(UTC)
    with Session(engine) as s:
        insert_ignoring_duplicates(s, [
            outbox_row(dedup_key=f"t:test:{i}", kind="returned", recipient=f"truong{i}@example.edu.vn",
                       subject=f"Yêu cầu bổ sung hồ sơ {i}", body_text="…", body_html="", now=now,
                       useful_until=now - timedelta(days=1))
            for i in range(n)
        ])
        s.execute(update(OutboxMessage).values(status="failed", attempts=9,
                                               last_error="Hết thời hạn gửi sau 9 lần thử; lỗi cuối: 421"))
        s.commit()
        return list(s.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def _beat(engine, *, ago: timedelta, failing_for: timedelta | None = None) -> None:
    now = datetime.now(UTC)
    write_beat(engine, "may-chu:123:abcd", {
        "hostname": "may-chu", "pid": 123, "started_at": now - timedelta(hours=3), "last_beat_at": now - ago,
        "beat_seconds": 10.0,
        "last_send_at": None, "last_error": "lỗi kết nối máy chủ thư: Connection refused",
        "last_error_at": now - ago, "relay_failing_since": (now - failing_for) if failing_for else None,
        "stopped_at": None,
    })


def test_the_page_says_when_no_worker_ever_ran_then_when_it_runs_and_the_relay_fails(world):
    admin = world.client("admin")
    page = admin.get("/mailbox").text
    assert "Tiến trình nền chưa chạy lần nào" in page and "Không có thư gửi thất bại" in page
    _beat(world.engine, ago=timedelta(seconds=2), failing_for=timedelta(hours=2))
    page = admin.get("/mailbox").text
    assert "Tiến trình nền đang chạy" in page
    assert 'id="relay-alert"' in page and "Máy chủ thư không nhận thư từ" in page and "Connection refused" in page
    _beat(world.engine, ago=timedelta(minutes=5))  # no beat for five minutes: it is gone
    page = admin.get("/mailbox").text
    assert "Tiến trình nền không chạy" in page and 'id="relay-alert"' not in page


def test_a_short_relay_failure_raises_no_banner(world):
    _beat(world.engine, ago=timedelta(seconds=1), failing_for=timedelta(minutes=5))
    assert 'id="relay-alert"' not in world.client("admin").get("/mailbox").text


def test_send_again_one_then_all_failed_mail(world):
    ids = _failed_mail(world.engine, 3)
    admin = world.client("admin")
    page = admin.get("/mailbox").text
    assert "Yêu cầu bổ sung hồ sơ 1" in page and page.count(">Gửi lại</button>") == 3
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post("/mailbox/retry", data={"csrf_token": token, "message_id": str(ids[0])})
    assert r.status_code == 303 and r.headers["location"] == "/mailbox?retried=1"
    assert "Đã đưa 1 thư trở lại hàng đợi" in admin.get(r.headers["location"]).text
    with Session(world.engine) as s:
        rows = {m.id: m for m in s.scalars(select(OutboxMessage))}
    assert rows[ids[0]].status == "pending" and rows[ids[0]].useful_until > datetime.now(UTC)
    assert rows[ids[1]].status == "failed"
    # An id that is not failed mail: refused in Vietnamese, nothing changes.
    r = admin.post("/mailbox/retry", data={"csrf_token": token, "message_id": str(ids[0])})
    assert r.status_code == 404 and "Không có thư thất bại số" in r.text
    r = admin.post("/mailbox/retry", data={"csrf_token": token, "message_id": "all"})
    assert r.headers["location"] == "/mailbox?retried=2"
    with Session(world.engine) as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"pending"}


def test_send_again_needs_the_csrf_token_and_the_admin(world):
    ids = _failed_mail(world.engine, 1)
    assert world.client("admin").post("/mailbox/retry", data={"csrf_token": "sai", "message_id": str(ids[0])},
                                      headers={"X-CSRF-Token": ""}).status_code == 403
    assert world.client("officer").post("/mailbox/retry", data={"message_id": str(ids[0])}).status_code == 403
    with Session(world.engine) as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"failed"}
