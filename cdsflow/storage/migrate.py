"""Create or migrate the database schema with Alembic (the migrations ship inside the package).

PostgreSQL runs the whole upgrade in one transaction (its DDL is transactional). SQLite's is
not, as Python's driver runs it: a `cdsflow init` killed half-way used to leave tables with an
empty `alembic_version`, and every later init failed on "table already exists". So on a SQLite
file the schema is built (or upgraded) in a copy beside the database and moved into place with
one atomic rename: a kill at any instant leaves either the old file or the finished one.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage import collation
from cdsflow.storage.db import make_engine

MIGRATIONS = Path(__file__).with_name("migrations")
BUILDING = ".dang-khoi-tao"  # suffix of the copy being built; left over only by a killed init


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema; safe to run again, and safe to kill."""
    path = sqlite_file(engine)
    if path is None:
        _upgrade(engine)
        return
    _init_sqlite_file(engine, path)


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if engine.dialect.name == "postgresql":
                collation.create_postgres(conn)
    except CommandError as err:
        raise InvalidInput(f"Không nâng cấp được cơ sở dữ liệu: {err}") from None


def inspect_sqlite(path: Path) -> tuple[str | None, list[str], int]:
    """(revision, tables other than alembic_version, rows in them) of a SQLite file, read-only."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            rows = sum(conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables)
    finally:
        engine.dispose()
    return revision, tables, rows


def _init_sqlite_file(engine: Engine, path: Path) -> None:
    for leftover in path.parent.glob(path.name + BUILDING + "*"):
        leftover.unlink(missing_ok=True)  # a copy a killed init was building: never in use
    head = head_revision()
    if path.exists() and path.stat().st_size > 0:
        revision, tables, rows = inspect_sqlite(path)
        if revision == head:
            return
        if revision is None and tables and rows:
            raise InvalidInput(
                f"Cơ sở dữ liệu {path} có dữ liệu nhưng không rõ phiên bản lược đồ (alembic_version trống): "
                "không tự sửa để khỏi mất dữ liệu. Hãy khôi phục từ bản sao lưu."
            )
        # revision None and no rows: a half-made database from a killed init; built again below.
        start_from = path if revision is not None else None
    else:
        start_from = None
    building = path.with_name(path.name + BUILDING)
    if start_from is not None:  # an older schema with data: upgrade a copy, never the file itself
        _copy_sqlite(start_from, building)

    beside = make_engine(f"sqlite:///{building}")
    try:
        _upgrade(beside)
        with beside.connect() as conn:
            # One self-contained file: no -wal beside it to lose in the rename.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    finally:
        beside.dispose()
    _fsync(building)
    engine.dispose()  # no pooled connection may keep the old file open across the rename
    for side in ("-wal", "-shm", "-journal"):
        Path(str(path) + side).unlink(missing_ok=True)  # they belong to the file being replaced
    os.replace(building, path)
    _fsync(path.parent)


def _copy_sqlite(source: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)  # SQLite's online backup: a consistent copy even with a -wal file beside
    finally:
        src.close()
        dst.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_revision(message: str, engine: Engine) -> None:
    """For developers: autogenerate a migration from the difference between models and `engine`."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


def schema_revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """(revisions the database is at, head revisions shipped with this package); raises if unreachable."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, heads
