"""A sender's lease on the rows it claimed is its own: another sender can neither renew it (keeping a
crashed sender's rows from going back to the queue) nor release it (putting rows back that are being
sent, so they would be sent twice)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cdsflow.notifications.outbox import (
    claim_batch,
    insert_ignoring_duplicates,
    outbox_row,
    release,
    renew_leases,
    requeue_expired,
)
from cdsflow.storage.notifications_tables import OutboxMessage

NOW = datetime(2025, 3, 28, 2, 0, tzinfo=UTC)


def _queue(engine, n: int) -> None:
    with Session(engine) as s:
        insert_ignoring_duplicates(s, [outbox_row(dedup_key=f"lease-{i}", kind="reminder",
                                                  recipient=f"truong{i}@example.edu.vn", subject="Nhắc hạn",
                                                  body_text="Nhắc hạn gửi tờ trình", body_html="<p>Nhắc hạn</p>", now=NOW)
                                       for i in range(n)])
        s.commit()


def _rows(engine) -> dict[int, OutboxMessage]:
    with Session(engine) as s:
        return {r.id: r for r in s.scalars(select(OutboxMessage))}


def _claim(engine, owner: str, n: int) -> list[int]:
    with Session(engine) as s:
        ids = [m.id for m in claim_batch(s, NOW, n, owner=owner, lease=60)]
        s.commit()
    return ids


def test_a_sender_renews_only_its_own_lease(sqlite_engine):
    _queue(sqlite_engine, 4)
    mine, theirs = _claim(sqlite_engine, "sender-a", 2), _claim(sqlite_engine, "sender-b", 2)
    before = _rows(sqlite_engine)
    with Session(sqlite_engine) as s:
        assert renew_leases(s, "sender-b", NOW + timedelta(seconds=50), lease=60) == 2
        s.commit()
    after = _rows(sqlite_engine)
    assert all(after[i].lease_until == before[i].lease_until for i in mine)  # a's lease untouched
    assert all(after[i].lease_until > before[i].lease_until for i in theirs)
    # So a's lease lapses (a crashed) and its rows go back to the queue, while b keeps sending.
    with Session(sqlite_engine) as s:
        assert requeue_expired(s, NOW + timedelta(seconds=70)) == 2
        s.commit()
    rows = _rows(sqlite_engine)
    assert {i for i, r in rows.items() if r.status == "pending"} == set(mine)
    assert all(rows[i].status == "sending" and rows[i].lease_owner == "sender-b" for i in theirs)


def test_a_sender_cannot_release_another_senders_rows(sqlite_engine):
    _queue(sqlite_engine, 4)
    mine, theirs = _claim(sqlite_engine, "sender-a", 2), _claim(sqlite_engine, "sender-b", 2)
    with Session(sqlite_engine) as s:
        release(s, mine + theirs, "sender-b")  # b's round is over: it gives back what it claimed
        s.commit()
    rows = _rows(sqlite_engine)
    assert all(rows[i].status == "sending" and rows[i].lease_owner == "sender-a" for i in mine)
    assert all(rows[i].status == "pending" and rows[i].lease_owner is None for i in theirs)
    # Released rows are claimed again; a's rows are not (a is still sending them).
    assert set(_claim(sqlite_engine, "sender-c", 4)) == set(theirs)
