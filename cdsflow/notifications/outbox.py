"""Outbox persistence: idempotent bulk insert, claiming, recording delivery outcomes.

Everything here is one SQL statement per batch, never one commit per row (performance notes).
The same code runs on SQLite (one sender) and PostgreSQL (several senders, SKIP LOCKED).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from cdsflow.notifications.message import OutgoingMail
from cdsflow.storage.notifications_tables import OutboxMessage

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

_T = OutboxMessage.__table__


def insert_ignoring_duplicates(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT (dedup_key) DO NOTHING for many rows; returns how many were new.

    Runs in the caller's transaction: nothing is committed here.
    """
    return len(insert_new(session, rows, ("id",)))


def insert_new(session: Session, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[Any]:
    """INSERT … ON CONFLICT (dedup_key) DO NOTHING for many rows; `columns` of the new ones.

    Runs in the caller's transaction: nothing is committed here.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(_T)
    elif dialect == "sqlite":
        stmt = sqlite.insert(_T)
    else:  # pragma: no cover - the project supports these two
        raise RuntimeError(f"unsupported database: {dialect}")
    stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(*(_T.c[c] for c in columns))
    # executemany + RETURNING: SQLAlchemy batches it ("insertmanyvalues"); only new rows return.
    return list(session.execute(stmt, list(rows)).all())


def insert_counting(session: Session, rows: Sequence[dict[str, Any]], by: Sequence[str]) -> Counter[tuple]:
    """`insert_new` counting the new rows per value of the `by` columns (rows come grouped by them).

    Both databases get the driver's own executemany, without SQLAlchemy building each row's
    parameters (half the fan-out's time at 54,000 rows on SQLite): on SQLite one per group, its row
    count saying how many were new; on PostgreSQL one for all, psycopg pipelining the rows and
    returning the new ones' `by` columns (SQLAlchemy's batched multi-VALUES with RETURNING took
    3.4 s for 8,229 reminders where this takes 0.4 s)."""
    counts: Counter[tuple] = Counter()
    if not rows:
        return counts
    conn = session.connection()
    dialect = conn.dialect.name
    columns = [c for c in _T.columns if c.name != "id"]
    if dialect == "postgresql":
        from psycopg.types.json import Json  # the PostgreSQL driver: an optional dependency

        params = _driver_params(conn, columns, rows, json=Json)
        sql = (f"INSERT INTO {_T.name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
               f"ON CONFLICT (dedup_key) DO NOTHING RETURNING {', '.join(by)}")
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, params, returning=True)
            while True:
                counts.update(tuple(r) for r in cursor.fetchall())
                if not cursor.nextset():
                    break
        finally:
            cursor.close()
        return counts
    if dialect != "sqlite":  # pragma: no cover - the project supports these two
        counts.update(tuple(r) for r in insert_new(session, rows, by))
        return counts
    sql = (f"INSERT INTO {_T.name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join('?' * len(columns))}) "
           "ON CONFLICT (dedup_key) DO NOTHING")
    params = _driver_params(conn, columns, rows)
    point_of = itemgetter(*by)
    group: list[tuple] = []
    point: Any = None
    for row, values in zip(rows, params, strict=True):
        here = point_of(row)
        if group and here != point:
            counts[_as_tuple(point, by)] += conn.exec_driver_sql(sql, group).rowcount  # type: ignore[arg-type]
            group = []
        point = here
        group.append(values)
    if group:
        counts[_as_tuple(point, by)] += conn.exec_driver_sql(sql, group).rowcount  # type: ignore[arg-type]
    return counts


def _driver_params(conn: Connection, columns: list[Any], rows: Sequence[dict[str, Any]],
                   json: Any = None) -> list[tuple]:
    """Each row's values in column order in one C call; the few columns the driver cannot take as
    they are (instants, JSON) converted after, once per object: a plan's rows share their
    instants, headers and attachments (the rows keep them alive, so an id is not reused meanwhile)."""
    values = itemgetter(*(c.name for c in columns))
    # `json`: the driver's wrapper for a JSON value (psycopg's Json), where the driver needs one.
    converted = [(i, convert, {}) for i, c in enumerate(columns)
                 if (convert := (json if json is not None and isinstance(c.type, JSON)
                                 else c.type.bind_processor(conn.dialect))) is not None]
    out: list[tuple] = []
    for row in rows:
        vals = list(values(row))
        for i, convert, seen in converted:
            v = vals[i]
            if v is not None:
                done = seen.get(id(v))
                if done is None:
                    done = seen[id(v)] = convert(v)
                vals[i] = done
        out.append(tuple(vals))
    return out


def _as_tuple(point: Any, by: Sequence[str]) -> tuple:
    return point if len(by) > 1 else (point,)


def outbox_row(
    *,
    dedup_key: str,
    kind: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str,
    now: datetime,
    not_before: datetime | None = None,
    useful_until: datetime | None = None,
    campaign_id: int | None = None,
    unit_id: int | None = None,
    assessment_id: int | None = None,
    milestone_key: str | None = None,
    offset_key: str | None = None,
    headers: dict | None = None,
    attachments: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "dedup_key": dedup_key,
        "kind": kind,
        "campaign_id": campaign_id,
        "unit_id": unit_id,
        "assessment_id": assessment_id,
        "milestone_key": milestone_key,
        "offset_key": offset_key,
        "recipient": recipient,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "claimed_at": None,
        "lease_owner": None,
        "lease_until": None,
        "useful_until": useful_until,
        "sent_at": None,
        "created_at": now,
        "last_error": "",
        "subject": subject,
        "body_text": body_text,
        "body_html": body_html,
        "headers": headers or {},
        "attachments": attachments or [],
    }


def requeue_expired(session: Session, now: datetime) -> int:
    """Rows whose owner let its lease lapse (crashed, or cut off from the database) go back to
    pending. A live owner renews its lease while it sends, so its rows are never taken."""
    result = session.execute(
        update(_T)
        .where(_T.c.status == SENDING, or_(_T.c.lease_until.is_(None), _T.c.lease_until < now))
        .values(status=PENDING, claimed_at=None, lease_owner=None, lease_until=None, next_attempt_at=now)
    )
    return result.rowcount or 0


def expire_useless(session: Session, now: datetime) -> int:
    """Pending mail past its useful life is failed with the reason instead of being sent late."""
    result = session.execute(
        update(_T)
        .where(_T.c.status == PENDING, _T.c.useful_until.is_not(None), _T.c.useful_until < now)
        .values(status=FAILED, claimed_at=None,
                last_error=func.substr(
                    literal("Hết thời hạn gửi: thư không còn hữu ích. ") + func.coalesce(_T.c.last_error, ""), 1, 2000))
    )
    return result.rowcount or 0


def claim_batch(session: Session, now: datetime, limit: int, owner: str = "", lease: float = 120.0) -> list[OutgoingMail]:
    """Lease up to `limit` due pending rows to `owner` until now + `lease` and return them
    (caller commits).

    On PostgreSQL the inner SELECT takes row locks with SKIP LOCKED, so concurrent senders
    claim disjoint batches; SQLite ignores FOR UPDATE and serialises writers anyway.
    """
    due = (
        select(_T.c.id)
        .where(_T.c.status == PENDING, _T.c.next_attempt_at <= now)
        .order_by(_T.c.next_attempt_at, _T.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(_T)
        .where(_T.c.id.in_(due.scalar_subquery()))
        .values(status=SENDING, claimed_at=now, lease_owner=owner or None,
                lease_until=now + timedelta(seconds=lease))
        .returning(
            _T.c.id, _T.c.recipient, _T.c.subject, _T.c.body_text, _T.c.body_html,
            _T.c.headers, _T.c.attachments, _T.c.dedup_key, _T.c.attempts, _T.c.useful_until,
        )
    )
    rows = session.execute(stmt).all()
    mails = [
        OutgoingMail(
            id=r.id, recipient=r.recipient, subject=r.subject, body_text=r.body_text,
            body_html=r.body_html, headers=r.headers or {}, attachments=tuple(r.attachments or ()),
            dedup_key=r.dedup_key, attempts=r.attempts, useful_until=r.useful_until,
        )
        for r in rows
    ]
    mails.sort(key=lambda m: m.id)
    return mails


def renew_leases(session: Session, owner: str, now: datetime, lease: float) -> int:
    """The owner's heartbeat: push its rows' lease forward while it is still sending them."""
    result = session.execute(
        update(_T)
        .where(_T.c.status == SENDING, _T.c.lease_owner == owner)
        .values(lease_until=now + timedelta(seconds=lease))
    )
    return result.rowcount or 0


def release(session: Session, ids: Sequence[int], owner: str) -> None:
    """Claimed rows the owner did not get to (its round's time was up) go back unchanged."""
    if not ids:
        return
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("_id"), _T.c.status == SENDING, _T.c.lease_owner == owner)
        .values(status=PENDING, claimed_at=None, lease_owner=None, lease_until=None),
        [{"_id": i} for i in ids],
    )


def mark_sent(session: Session | Connection, ids: Sequence[int], now: datetime) -> None:
    """Recorded as soon as the server accepted the message, whoever holds the lease now: the
    mail has left, and nobody should send it again. One statement for the whole group."""
    if not ids:
        return
    session.execute(
        update(_T)
        .where(_T.c.id.in_(list(ids)), _T.c.status != SENT)
        .values(status=SENT, sent_at=now, last_error="", attempts=_T.c.attempts + 1,
                lease_owner=None, lease_until=None)
    )


def _owned(owner: str | None):
    return _T.c.lease_owner == owner if owner else _T.c.status == SENDING


def mark_failed(session: Session, failures: Sequence[tuple[int, str]], now: datetime, owner: str | None = None) -> None:
    """Permanent failures (5xx, useful life over): visible in `cdsflow mail list --failed`."""
    if not failures:
        return
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("_id"), _owned(owner))
        .values(status=FAILED, last_error=bindparam("_err"), attempts=_T.c.attempts + 1, claimed_at=None,
                lease_owner=None, lease_until=None),
        [{"_id": i, "_err": err[:2000]} for i, err in failures],
    )


def mark_retry(session: Session, retries: Sequence[tuple[int, str, datetime]], owner: str | None = None) -> None:
    """Temporary failures (4xx, connection trouble): back to pending at the backoff instant."""
    if not retries:
        return
    session.execute(
        update(_T)
        .where(_T.c.id == bindparam("_id"), _owned(owner))
        .values(
            status=PENDING, last_error=bindparam("_err"), next_attempt_at=bindparam("_next"),
            attempts=_T.c.attempts + 1, claimed_at=None, lease_owner=None, lease_until=None,
        ),
        [{"_id": i, "_err": err[:2000], "_next": nxt} for i, err, nxt in retries],
    )


def retry_failed(session: Session, now: datetime, *, ids: Sequence[int] | None, useful_for: timedelta) -> int:
    """An administrator's "send again": failed rows back to pending now, with `useful_for`
    more useful life (the person asking has judged it still worth sending)."""
    stmt = update(_T).where(_T.c.status == FAILED)
    if ids is not None:
        stmt = stmt.where(_T.c.id.in_(list(ids)))
    result = session.execute(stmt.values(
        status=PENDING, next_attempt_at=now, claimed_at=None, lease_owner=None, lease_until=None,
        useful_until=now + useful_for,
    ))
    return result.rowcount or 0


def attempts_of(session: Session, ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(select(_T.c.id, _T.c.attempts).where(_T.c.id.in_(list(ids)))).all()
    return {r.id: r.attempts for r in rows}


def status_counts(session: Session, campaign_id: int | None = None) -> dict[str, int]:
    stmt = select(_T.c.status, func.count()).group_by(_T.c.status)
    if campaign_id is not None:
        stmt = stmt.where(_T.c.campaign_id == campaign_id)
    return {status: n for status, n in session.execute(stmt).all()}


def failed_messages(session: Session, limit: int = 50) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.status == FAILED).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def failed_ids(session: Session, ids: Sequence[int]) -> set[int]:
    return set(session.scalars(select(_T.c.id).where(_T.c.id.in_(list(ids)), _T.c.status == FAILED)))


