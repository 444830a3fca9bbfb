"""The sender: drains the outbox over a small pool of reused SMTP connections.

One round = requeue rows abandoned by a crashed sender, claim a batch (SKIP LOCKED on
PostgreSQL), send it with bounded concurrency (one task per pooled connection) under an
optional rate limit, then record every outcome with one UPDATE per outcome kind.
Temporary failures (4xx, connection trouble) go back to pending with exponential backoff;
permanent ones (5xx, attempts exhausted) become `failed` with the server's answer.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import aiosmtplib
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from cdsflow.notifications import outbox
from cdsflow.notifications.message import OutgoingMail, build_message
from cdsflow.notifications.settings import MailSettings, load_settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class DrainStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    requeued_stale: int = 0
    rounds: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: "DrainStats") -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.requeued_stale += other.requeued_stale
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


class Sender:
    """Holds the connection pool between rounds; one instance per sender process."""

    def __init__(self, engine: Engine, settings: MailSettings | None = None, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings or load_settings()
        self.clock = clock
        self.limiter = RateLimiter(self.settings.rate)
        self._pool: list[aiosmtplib.SMTP | None] = [None] * self.settings.connections

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
    async def _send_all(self, mails: list[OutgoingMail], now: datetime):
        queue: asyncio.Queue[OutgoingMail] = asyncio.Queue()
        for m in mails:
            queue.put_nowait(m)
        sent: list[int] = []
        temporary: list[tuple[OutgoingMail, str]] = []
        permanent: list[tuple[int, str]] = []
        # Once a connection cannot be opened, the rest of the round waits for the next one
        # rather than trying (and perhaps timing out) once per message.
        unreachable: list[str] = []

        async def worker(slot: int) -> None:
            while True:
                try:
                    mail = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    raw = build_message(mail, self.settings, now)
                except OSError as err:  # an attachment vanished: retrying will not bring it back
                    permanent.append((mail.id, f"không đọc được tệp đính kèm: {err}"))
                    continue
                if unreachable:
                    temporary.append((mail, unreachable[0]))
                    continue
                await self.limiter.wait()
                try:
                    client = await self._connection(slot)
                except Exception as err:  # noqa: BLE001
                    _, message, _ = _classify(err)
                    await self._drop(slot)
                    if any(c is not None and c.is_connected for c in self._pool):
                        # The server takes fewer connections than the pool: carry on with those.
                        queue.put_nowait(mail)
                        return
                    unreachable.append(message)
                    temporary.append((mail, message))
                    continue
                try:
                    await client.sendmail(self.settings.from_addr, [mail.recipient], raw)
                except Exception as err:  # noqa: BLE001 - every failure is classified and recorded
                    outcome, message, drop = _classify(err)
                    if drop:
                        await self._drop(slot)
                    if outcome is _Permanent:
                        permanent.append((mail.id, message))
                    else:
                        temporary.append((mail, message))
                    continue
                sent.append(mail.id)

        workers = min(len(self._pool), max(1, len(mails)))
        await asyncio.gather(*(worker(i) for i in range(workers)))
        return sent, temporary, permanent

    def _batch_size(self) -> int:
        # Under a slow rate limit a big batch would outlive `stale_after` and be re-claimed.
        if self.settings.rate > 0:
            return max(1, min(self.settings.batch, int(self.settings.rate * self.settings.stale_after / 2)))
        return self.settings.batch

    def _backoff(self, attempts_before: int, now: datetime) -> datetime:
        delay = min(self.settings.backoff_base * (2 ** attempts_before), self.settings.backoff_max)
        return now + timedelta(seconds=delay)

    async def run_round(self) -> DrainStats:
        stats = DrainStats()
        now = self.clock()
        with Session(self.engine) as session:
            stats.requeued_stale = outbox.requeue_stale(session, now, self.settings.stale_after)
            mails = outbox.claim_batch(session, now, self._batch_size())
            session.commit()
        if not mails:
            return stats
        stats.rounds = 1
        sent, temporary, permanent = await self._send_all(mails, now)
        done = self.clock()
        retries: list[tuple[int, str, datetime]] = []
        for mail, message in temporary:
            if mail.attempts + 1 >= self.settings.max_attempts:
                permanent.append((mail.id, f"đã thử {mail.attempts + 1} lần, lỗi cuối: {message}"))
            else:
                retries.append((mail.id, message, self._backoff(mail.attempts, done)))
        with Session(self.engine) as session:
            outbox.mark_sent(session, sent, done)
            outbox.mark_retry(session, retries)
            outbox.mark_failed(session, permanent, done)
            session.commit()
        stats.sent, stats.retried, stats.failed = len(sent), len(retries), len(permanent)
        stats.errors = [m for _, m in permanent[:10]] + [m for _, m, _ in retries[:10]]
        for _, message, _ in retries[:1]:
            log.warning("gửi thư thất bại tạm thời (%d thư), sẽ thử lại: %s", len(retries), message)
        return stats

    async def drain(self, max_rounds: int | None = None) -> DrainStats:
        """Send everything that is due now; stops when a round claims nothing."""
        total = DrainStats()
        while max_rounds is None or total.rounds < max_rounds:
            stats = await self.run_round()
            total.add(stats)
            if stats.rounds == 0:
                break
        return total


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
