"""Transient database errors are waited out, never fatal to the worker.

SQLite answers "database is locked" when another process holds the write lock past
busy_timeout; PostgreSQL loses connections (restart, failover) and aborts transactions with
serialization failures or deadlocks. All of these succeed when tried again a little later, so
the worker retries them with a capped exponential backoff and logs each wait.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc

from cdsflow.kernel.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATE classes that mean "try again": serialization failure, deadlock, connection
# exceptions (08…), the server shutting down (57P…), too many connections (53300).
_RETRY_SQLSTATES = ("40001", "40P01", "08", "57P", "53300")
_RETRY_TEXT = ("database is locked", "database table is locked", "server closed the connection",
               "connection", "terminating connection", "could not serialize")


def is_transient(err: BaseException) -> bool:
    """True for database errors that a later attempt may not meet (locks, lost connections)."""
    err = _driver_error(err)
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, exc.TimeoutError):  # the connection pool was exhausted for a while
        return True
    if isinstance(err, (exc.OperationalError, exc.InterfaceError)):
        state = getattr(err.orig, "sqlstate", None) or ""
        if state and state.startswith(_RETRY_SQLSTATES):
            return True
        text = str(err.orig).lower()
        return any(t in text for t in _RETRY_TEXT)
    return False


def _driver_error(err: BaseException) -> BaseException:
    """The driver's error behind the kernel's StorageError (a unit of work translates what leaves it)."""
    if isinstance(err, StorageError) and err.__cause__ is not None:
        return err.__cause__
    return err


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    return min(cap, base * (2 ** attempt))


def describe(err: BaseException) -> str:
    err = _driver_error(err)
    orig = getattr(err, "orig", None)
    return f"{type(orig or err).__name__}: {str(orig or err).strip().splitlines()[0] if str(orig or err).strip() else ''}"


def run_sync(fn: Callable[[], T], *, what: str, cap: float = 30.0, give_up_after: float | None = None) -> T:
    """Call `fn` (one whole transaction) until it does not fail transiently."""
    attempt, started = 0, time.monotonic()
    while True:
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - classified just below
            if not is_transient(err) or (give_up_after is not None and time.monotonic() - started > give_up_after):
                raise
            delay = backoff(attempt, cap=cap)
            log.warning("lỗi cơ sở dữ liệu tạm thời khi %s (%s); thử lại sau %.1f s", what, describe(err), delay)
            attempt += 1
            time.sleep(delay)


async def run_async(fn: Callable[[], T], *, what: str, cap: float = 30.0,
                    on_error: Callable[[str], None] | None = None) -> T:
    """Like `run_sync`, with `fn` in a thread so that the event loop (other SMTP connections,
    lease renewal) keeps running while the database is busy."""
    attempt = 0
    while True:
        try:
            return await asyncio.to_thread(fn)
        except Exception as err:  # noqa: BLE001
            if not is_transient(err):
                raise
            delay = backoff(attempt, cap=cap)
            message = f"lỗi cơ sở dữ liệu tạm thời khi {what} ({describe(err)}); thử lại sau {delay:.1f} s"
            log.warning(message)
            if on_error is not None:
                on_error(message)
            attempt += 1
            await asyncio.sleep(delay)
