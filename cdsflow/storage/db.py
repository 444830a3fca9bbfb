"""Engine and unit of work: the SQLite file in the data home by default, PostgreSQL when DATABASE_URL says so."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from cdsflow.kernel import home
from cdsflow.storage import collation, dberrors


def database_url(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    url = os.environ.get("DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    # Absolute: every process, wherever it is started, opens the same file.
    return f"sqlite:///{home.database_file()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
    cur = dbapi_conn.cursor()
    # WAL + NORMAL: 0.2 ms commits for interactive writes (performance notes).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        collation.listen(engine)  # Vietnamese order and search: same SQL on both databases
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


class UnitOfWork:
    """One business transaction: everything inside commits together or not at all."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session; only inside `with` (typed non-optional so every caller need not check)."""
        assert self._session is not None, "unit of work used outside its `with` block"
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = Session(self.engine, expire_on_commit=False)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        session, self._session = self.session, None
        try:
            if exc_type is not None:
                session.rollback()
            session.close()
        except DBAPIError as failed:  # the connection went away: still said in words, the first error first
            first = exc if isinstance(exc, DBAPIError) else failed
            raise dberrors.translate(first) from first
        if isinstance(exc, DBAPIError):
            # Said in Vietnamese as a kernel error: no door has to know the database library.
            raise dberrors.translate(exc) from exc

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[UnitOfWork]:
    with UnitOfWork(engine) as uow:
        yield uow
