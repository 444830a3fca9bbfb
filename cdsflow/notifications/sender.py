"""The sender: drains the outbox over a small pool of reused SMTP connections.

One round = fail mail past its useful life, re-queue rows whose owner's lease lapsed, lease a
batch sized to last about `batch_seconds` at the measured rate (SKIP LOCKED on PostgreSQL),
send it with bounded concurrency (one task per pooled connection) under an optional rate
limit while a heartbeat renews the lease, and give back what the time did not allow.

Cannot double-send without a crash: a row is sent only under a lease its sender knows to be
valid for longer than one SMTP exchange, and it is recorded `sent` as soon as the server
accepted it (marks of all connections are group-committed, and a connection waits for its
mark before its next message). So a crash can leave at most one accepted-but-unrecorded
message per connection, which is sent again with the same Message-ID once the lease lapses.

Temporary failures (4xx, connection trouble) go back to pending with capped exponential
backoff for as long as the mail is useful; permanent ones (5xx, useful life over) become
`failed` with the reason.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

import aiosmtplib
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.notifications import dbretry, outbox
from cdsflow.notifications.message import OutgoingMail, build_message
from cdsflow.notifications.settings import MailSettings, load_settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DrainStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    requeued_stale: int = 0
    expired: int = 0
    released: int = 0
    rounds: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DrainStats) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.requeued_stale += other.requeued_stale
        self.expired += other.expired
        self.released += other.released
        self.rounds += other.rounds
        self.errors.extend(other.errors[: max(0, 20 - len(self.errors))])


class RateLimiter:
    """Spaces sends evenly so that all connections together stay under `rate` messages/s."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class _Temporary(Exception):
    pass


class _Permanent(Exception):
    pass


def _classify(err: BaseException) -> tuple[type[Exception], str, bool]:
    """(outcome, message, drop connection?) for an exception raised while sending one mail."""
    if isinstance(err, aiosmtplib.SMTPRecipientsRefused):
        first = err.recipients[0] if err.recipients else None
        code = first.code if first else 550
        text = f"{code} {first.message}" if first else str(err)
        return (_Permanent if code >= 500 else _Temporary), f"người nhận bị từ chối: {text}", False
    if isinstance(err, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                        aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectTimeoutError)):
        return _Temporary, f"lỗi kết nối máy chủ thư: {err}", True
    if isinstance(err, aiosmtplib.SMTPResponseException):
        # 421 means the server is closing the connection: reconnect before the next mail.
        drop = err.code == 421
        if err.code >= 500:
            return _Permanent, f"máy chủ thư từ chối: {err.code} {err.message}", drop
        return _Temporary, f"máy chủ thư tạm từ chối: {err.code} {err.message}", drop
    if isinstance(err, (OSError, asyncio.TimeoutError, aiosmtplib.SMTPException)):
        return _Temporary, f"lỗi kết nối máy chủ thư: {err!r}", True
    return _Temporary, f"lỗi không xác định khi gửi: {err!r}", True


def new_owner_id() -> str:
    """Unique per sender instance: host, process and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Marks:
    """Group commit of "sent" marks: every accepted message is recorded before its connection
    sends the next one, with one UPDATE for all the marks that arrived meanwhile."""

    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.items: list[tuple[int, asyncio.Future]] = []
        self.wake = asyncio.Event()

    async def mark(self, mail_id: int) -> None:
        fut = asyncio.get_running_loop().create_future()
        self.items.append((mail_id, fut))
        self.wake.set()
        await fut

    def _write(self, ids: list[int]) -> None:
        # A bare connection: no ORM session for a single UPDATE on the hot path.
        with self.sender.engine.begin() as conn:
            outbox.mark_sent(conn, ids, self.sender.clock())

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.items = self.items, []
            if not batch:
                continue
            try:
                # partial, not a lambda: the retried call keeps this batch's ids.
                await dbretry.run_async(partial(self._write, [i for i, _ in batch]), what="ghi nhận thư đã gửi",
                                        on_error=self.sender._note_error)
            except BaseException as err:
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err if isinstance(err, Exception) else RuntimeError(str(err)))
                raise
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)


class Sender:
    """Holds the connection pool between rounds; one instance per sender process."""

    def __init__(self, engine: Engine, settings: MailSettings | None = None, *, clock: Clock = utcnow,
                 owner: str | None = None) -> None:
        self.engine = engine
        self.settings = settings or load_settings()
        self.clock = clock
        self.owner = owner or new_owner_id()
        self.limiter = RateLimiter(self.settings.rate)
        self._pool: list[aiosmtplib.SMTP | None] = [None] * self.settings.connections
        # Messages per second over the last rounds; starts at one per connection and second.
        self.measured_rate = float(self.settings.connections)
        self.stopping = False  # set by the worker on shutdown: no new message is started
        # What the worker's heartbeat row reports to the administrator.
        self.last_send_at: datetime | None = None
        self.last_error = ""
        self.last_error_at: datetime | None = None
        self.relay_failing_since: datetime | None = None

    def _note_error(self, message: str) -> None:
        self.last_error, self.last_error_at = message[:2000], self.clock()

    # -- connections -------------------------------------------------------------------------
    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        tls_context = ssl.create_default_context() if s.tls != "none" else None
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, username=s.username, password=s.password,
            timeout=s.timeout, use_tls=s.tls == "tls", start_tls=(s.tls == "starttls"),
            tls_context=tls_context, local_hostname=s.local_hostname,
        )

    async def _connection(self, slot: int) -> aiosmtplib.SMTP:
        client = self._pool[slot]
        if client is not None and client.is_connected:
            return client
        client = self._new_client()
        await client.connect()
        self._pool[slot] = client
        return client

    async def _drop(self, slot: int) -> None:
        client, self._pool[slot] = self._pool[slot], None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail; it is gone anyway
                pass

    async def aclose(self) -> None:
        for slot, client in enumerate(self._pool):
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except Exception:  # noqa: BLE001
                    client.close()
            self._pool[slot] = None

    # -- one round ---------------------------------------------------------------------------
    def claim_size(self) -> int:
        """Rows for one round of about `batch_seconds`, from the measured (or limited) rate."""
        s = self.settings
        rate = min(self.measured_rate, s.rate) if s.rate > 0 else self.measured_rate
        return int(max(1, min(s.batch, max(s.connections, rate * s.batch_seconds))))

    def _claim(self, now: datetime, size: int) -> tuple[int, int, list[OutgoingMail]]:
        with Session(self.engine) as session:
            expired = outbox.expire_useless(session, now)
            requeued = outbox.requeue_expired(session, now)
            mails = outbox.claim_batch(session, now, size, self.owner, self.settings.lease)
            session.commit()
        return expired, requeued, mails

    def _renew(self) -> int:
        with Session(self.engine) as session:
            n = outbox.renew_leases(session, self.owner, self.clock(), self.settings.lease)
            session.commit()
        return n

    def _record(self, retries, permanent, untouched: list[int]) -> None:
        now = self.clock()
        with Session(self.engine) as session:
            outbox.mark_retry(session, retries, self.owner)
            outbox.mark_failed(session, permanent, now, self.owner)
            outbox.release(session, untouched, self.owner)
            session.commit()

    def _backoff(self, attempts_before: int, now: datetime) -> datetime:
        delay = min(self.settings.backoff_base * (2 ** attempts_before), self.settings.backoff_max)
        return now + timedelta(seconds=delay)

    async def run_round(self) -> DrainStats:
        stats = DrainStats()
        loop = asyncio.get_running_loop()
        size = self.claim_size()
        started, claimed_at = loop.time(), self.clock()
        expired, requeued, mails = await dbretry.run_async(
            lambda: self._claim(claimed_at, size), what="nhận thư từ hàng đợi", on_error=self._note_error)
        stats.expired, stats.requeued_stale = expired, requeued
        if not mails:
            return stats
        stats.rounds = 1
        rnd = _Round(self, mails, started, claimed_at)
        await rnd.send_all()
        elapsed = max(loop.time() - started, 1e-3)
        if rnd.sent:
            self.measured_rate = max(1.0, 0.5 * self.measured_rate + 0.5 * len(rnd.sent) / elapsed)
        await self._finish(rnd, stats)
        return stats

    async def _finish(self, rnd: _Round, stats: DrainStats) -> None:
        """Record the round: retries with backoff (or failed once useless), failures, rows given back."""
        done = self.clock()
        retries: list[tuple[int, str, datetime]] = []
        permanent, temporary = rnd.permanent, rnd.temporary
        for mail, message in temporary:
            nxt = self._backoff(mail.attempts, done)
            if mail.useful_until is not None and nxt > mail.useful_until:
                permanent.append((mail.id, f"Hết thời hạn gửi sau {mail.attempts + 1} lần thử; lỗi cuối: {message}"))
            else:
                retries.append((mail.id, message, nxt))
        await dbretry.run_async(partial(self._record, retries, permanent, rnd.untouched),
                                what="ghi kết quả gửi thư", on_error=self._note_error)
        stats.sent, stats.retried, stats.failed = len(rnd.sent), len(retries), len(permanent)
        stats.released = len(rnd.untouched)
        stats.errors = [m for _, m in permanent[:10]] + [m for _, m, _ in retries[:10]]
        if rnd.sent:
            self.relay_failing_since = None
        elif temporary:
            self.relay_failing_since = self.relay_failing_since or done
        if temporary:
            self._note_error(temporary[0][1])
            log.warning("gửi thư thất bại tạm thời (%d thư), sẽ thử lại: %s", len(temporary), temporary[0][1])

    async def drain(self, max_rounds: int | None = None) -> DrainStats:
        """Send everything that is due now; stops when a round claims nothing."""
        total = DrainStats()
        while (max_rounds is None or total.rounds < max_rounds) and not self.stopping:
            stats = await self.run_round()
            total.add(stats)
            if stats.rounds == 0 or not (stats.sent or stats.released or stats.failed):
                break
        return total


_STOP, _NEXT = "stop", "next"


class _Round:
    """One round's sending: a task per pooled connection takes mail from the queue while the
    round's time and the lease allow, and sorts each into sent / temporary / permanent / untouched."""

    def __init__(self, sender: Sender, mails: list[OutgoingMail], started: float, claimed_at: datetime) -> None:
        self.sender, self.s = sender, sender.settings
        self.loop = asyncio.get_running_loop()
        # The lease is trusted locally only while one more SMTP exchange fits in it, by both
        # clocks: the process's monotonic one, and the application clock the database lease is
        # written in (they differ when the clock jumps, or runs fast under a test harness).
        self.margin = min(self.s.timeout, self.s.lease / 2)
        self.lease_valid = started + self.s.lease
        self.lease_until = claimed_at + timedelta(seconds=self.s.lease)
        self.deadline = started + self.s.batch_seconds
        self.queue: asyncio.Queue[OutgoingMail] = asyncio.Queue()
        for m in mails:
            self.queue.put_nowait(m)
        self.sent: list[int] = []
        self.temporary: list[tuple[OutgoingMail, str]] = []
        self.permanent: list[tuple[int, str]] = []
        self.untouched: list[int] = []
        # Once a connection cannot be opened, the rest of the round waits for the next one
        # rather than trying (and perhaps timing out) once per message.
        self.unreachable: list[str] = []
        self.marks = _Marks(sender)
        self.workers = min(len(sender._pool), max(1, len(mails)))

    def lease_ok(self) -> bool:
        return (self.loop.time() + self.margin < self.lease_valid
                and self.sender.clock() + timedelta(seconds=self.margin) < self.lease_until)

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.s.lease / 3)
            t, at = self.loop.time(), self.sender.clock()
            await dbretry.run_async(self.sender._renew, what="gia hạn quyền gửi", on_error=self.sender._note_error)
            self.lease_valid, self.lease_until = t + self.s.lease, at + timedelta(seconds=self.s.lease)

    async def send_all(self) -> None:
        helpers = [asyncio.create_task(self.heartbeat()), asyncio.create_task(self.marks.run())]
        try:
            results = await asyncio.gather(*(self.worker(i) for i in range(self.workers)), return_exceptions=True)
        finally:
            for h in helpers:
                h.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        while not self.queue.empty():
            self.untouched.append(self.queue.get_nowait().id)

    async def worker(self, slot: int) -> None:
        while not self.sender.stopping and self.loop.time() < self.deadline and self.lease_ok():
            try:
                mail = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            raw = self._prepare(mail)
            if raw is not None and await self._send(slot, mail, raw) == _STOP:
                return

    def _prepare(self, mail: OutgoingMail) -> bytes | None:
        """The message to send, or None when the mail was sorted without sending."""
        now = self.sender.clock()
        if mail.useful_until is not None and now > mail.useful_until:
            self.permanent.append((mail.id, "Hết thời hạn gửi: thư không còn hữu ích"))
            return None
        try:
            raw = build_message(mail, self.s, now)
        except OSError as err:  # an attachment vanished: retrying will not bring it back
            self.permanent.append((mail.id, f"không đọc được tệp đính kèm: {err}"))
            return None
        if self.unreachable:
            self.temporary.append((mail, self.unreachable[0]))
            return None
        return raw

    async def _send(self, slot: int, mail: OutgoingMail, raw: bytes) -> str:
        sender = self.sender
        await sender.limiter.wait()
        try:
            client = await sender._connection(slot)
        except Exception as err:  # noqa: BLE001
            _, message, _ = _classify(err)
            await sender._drop(slot)
            if any(c is not None and c.is_connected for c in sender._pool):
                # The server takes fewer connections than the pool: carry on with those.
                self.queue.put_nowait(mail)
                return _STOP
            self.unreachable.append(message)
            self.temporary.append((mail, message))
            return _NEXT
        if not self.lease_ok():  # connecting took long: the lease may not cover the send
            self.untouched.append(mail.id)
            return _STOP
        try:
            await client.sendmail(self.s.from_addr, [mail.recipient], raw)
        except Exception as err:  # noqa: BLE001 - every failure is classified and recorded
            outcome, message, drop = _classify(err)
            if drop:
                await sender._drop(slot)
            if outcome is _Permanent:
                self.permanent.append((mail.id, message))
            else:
                self.temporary.append((mail, message))
            return _NEXT
        await self.marks.mark(mail.id)
        self.sent.append(mail.id)
        sender.last_send_at = sender.clock()
        return _NEXT


async def drain_outbox(
    engine: Engine, settings: MailSettings | None = None, *, clock: Clock = utcnow
) -> DrainStats:
    """One full drain with a fresh pool, closed afterwards (CLI, tests)."""
    sender = Sender(engine, settings, clock=clock)
    try:
        return await sender.drain()
    finally:
        await sender.aclose()


def drain_outbox_sync(engine: Engine, settings: MailSettings | None = None, *, clock: Clock = utcnow) -> DrainStats:
    return asyncio.run(drain_outbox(engine, settings, clock=clock))
