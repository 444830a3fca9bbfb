"""One scheduler per deployment: a PostgreSQL advisory lock (a file lock next to a SQLite file)."""
from __future__ import annotations

import fcntl
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# Any constant shared by every cdsflow process; "cdsf" in ASCII.
LOCK_KEY = 0x63647366


class LeaderLock:
    """Held for the life of the worker; released when the connection (or file) closes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._file = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True
        handle = open(Path(database).with_suffix(".scheduler.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None
