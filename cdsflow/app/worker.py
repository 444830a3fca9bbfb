"""The worker process: scheduler tick, mail sender and heartbeat, each a supervised loop.

A loop that raises is logged, recorded in the heartbeat row and restarted after a capped
backoff; transient database errors are retried inside the loops (`dbretry`), so neither a
SQLite lock held past busy_timeout nor a lost PostgreSQL connection ends the process. Only one
worker at a time runs the scheduler (leader lock); every worker sends.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cdsflow.notifications import dbretry
from cdsflow.notifications.sender import DrainStats, Sender
from cdsflow.notifications.settings import MailSettings
from cdsflow.scheduler.leader import LeaderLock
from cdsflow.scheduler.ticker import run_due_reminders
from cdsflow.services.mail import record_worker_beat
from cdsflow.storage.db import Engine

log = logging.getLogger(__name__)

BEAT_SECONDS = 10.0  # heartbeat period; the mailbox page calls a worker alive within 3 beats
TICK_SECONDS = 30.0  # how often due reminder points are looked for
RESTART_CAP = 60.0  # longest wait before a crashed loop is restarted


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerOptions:
    poll: float = 2.0  # seconds between two looks at the outbox when it is empty
    tick: float = TICK_SECONDS
    beat: float = BEAT_SECONDS
    once: bool = False
    report: Callable[[str], None] = print


@dataclass
class _State:
    started_at: datetime = field(default_factory=utcnow)
    last_error: str = ""
    last_error_at: datetime | None = None
    leader: bool = False
    told_follower: bool = False


class Worker:
    def __init__(self, engine: Engine, settings: MailSettings, options: WorkerOptions | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.options = options or WorkerOptions()
        self.sender = Sender(engine, settings)
        self.worker_id = self.sender.owner
        self.lock = LeaderLock(engine)
        self.state = _State()
        self.stop = asyncio.Event()

    # -- what the heartbeat says ---------------------------------------------------------------
    def _error(self, message: str) -> None:
        self.state.last_error, self.state.last_error_at = message[:2000], utcnow()

    def _beat_values(self, *, stopped: bool = False) -> dict:
        s, st = self.sender, self.state
        errors = [(st.last_error_at, st.last_error), (s.last_error_at, s.last_error)]
        at, error = max(((a, e) for a, e in errors if a is not None), default=(None, ""), key=lambda x: x[0])
        return {
            "hostname": socket.gethostname()[:255], "pid": os.getpid(), "started_at": st.started_at,
            "last_beat_at": utcnow(), "beat_seconds": self.options.beat, "last_send_at": s.last_send_at,
            "last_error": error or "", "last_error_at": at, "relay_failing_since": s.relay_failing_since,
            "stopped_at": utcnow() if stopped else None,
        }

    async def _beat_once(self, *, stopped: bool = False) -> None:
        values = self._beat_values(stopped=stopped)
        await dbretry.run_async(lambda: record_worker_beat(self.engine, self.worker_id, values),
                                what="ghi nhịp tim tiến trình nền", on_error=self._error)

    # -- the loops -----------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def _tick(self) -> None:
        if not self.state.leader:
            # Several workers may run (senders scale out); one of them holds the scheduler. A
            # follower keeps trying, so it takes over when the leader stops.
            self.state.leader = dbretry.run_sync(self.lock.acquire, what="giành quyền lập lịch")
            if self.state.leader:
                self.options.report("Tiến trình này giữ bộ lập lịch nhắc hạn.")
            elif not self.state.told_follower:
                self.state.told_follower = True
                self.options.report("Một tiến trình khác đang giữ bộ lập lịch; tiến trình này gửi thư và sẽ "
                                    "nhận bộ lập lịch khi tiến trình kia dừng.")
        if self.state.leader:
            result = run_due_reminders(self.engine, utcnow(), settings=self.settings)
            for point, written in result.ran:
                self.options.report(f"Nhắc hạn {point.milestone_key} ({point.offset_key}), kế hoạch "
                                    f"{point.campaign_id}: {written} thư vào hàng đợi.")

    async def scheduler_loop(self) -> None:
        while not self.stop.is_set():
            await asyncio.to_thread(self._tick)
            if self.options.once:
                return
            await self._sleep(self.options.tick)

    async def sender_loop(self) -> None:
        while not self.stop.is_set():
            stats: DrainStats = await self.sender.drain()
            if stats.sent or stats.failed or stats.retried:
                self.options.report(f"Đã gửi {stats.sent}, thử lại {stats.retried}, thất bại {stats.failed}.")
            if self.options.once:
                return
            await self._sleep(self.options.poll)

    async def beat_loop(self) -> None:
        while not self.stop.is_set():
            await self._beat_once()
            await self._sleep(self.options.beat)

    async def supervise(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run `loop` until stop; restart it with capped backoff whenever it raises."""
        failures = 0
        while not self.stop.is_set():
            started = asyncio.get_running_loop().time()
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a loop must never take the process down
                if asyncio.get_running_loop().time() - started > RESTART_CAP:
                    failures = 0  # it ran well for a while: start the backoff again
                delay = dbretry.backoff(failures, base=1.0, cap=RESTART_CAP)
                failures += 1
                message = f"vòng {name} lỗi ({dbretry.describe(err)}); chạy lại sau {delay:.0f} s"
                log.exception(message)
                self._error(message)
                self.options.report(message)
                if self.options.once:
                    return
                await self._sleep(delay)

    async def run(self) -> None:
        try:
            if self.options.once:
                await self.supervise("lập lịch", self.scheduler_loop)
                await self.supervise("gửi thư", self.sender_loop)
                await self._beat_once()
                return
            await asyncio.gather(
                self.supervise("nhịp tim", self.beat_loop),
                self.supervise("lập lịch", self.scheduler_loop),
                self.supervise("gửi thư", self.sender_loop),
            )
        finally:
            await self.sender.aclose()
            try:
                await asyncio.wait_for(self._beat_once(stopped=True), timeout=5)
            except Exception:  # noqa: BLE001 - the database may be the reason we stop
                pass
            if self.state.leader:
                await asyncio.to_thread(self.lock.release)

    def request_stop(self) -> None:
        self.stop.set()
        self.sender.stopping = True
