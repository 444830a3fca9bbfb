"""Vietnamese order and search inside the database, so lists are sorted and searched where they are
paged (nothing is loaded into Python to be sorted).

- `vi_order(column)`: the column under the collation named `vi`. On PostgreSQL that is ICU's `vi`
  (CREATE COLLATION … provider icu); on SQLite it is `kernel.text.sort_key`, registered on every
  connection.
- `vi_fold(column)`: the column folded as `kernel.text.search_fold` folds what the user types
  ("Đông Hải" → "dong hai"): on PostgreSQL an IMMUTABLE SQL function (lower(translate(…))) that an
  expression index may use, on SQLite a deterministic Python function.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import DDL, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from cdsflow.kernel.text import FOLD_FROM, FOLD_TO, search_fold, sort_key

COLLATION = "vi"

# Idempotent: run by metadata.create_all and again after every Alembic upgrade (storage/migrate.py),
# so a database made either way has them. The collation is made in the schema the tables live in.
POSTGRES_DDL = (
    f"CREATE COLLATION IF NOT EXISTS {COLLATION} (provider = icu, locale = 'vi')",
    # COST and SET keep it a real call the planner prices: inlined, its translate() over a long map
    # (~90 µs a name) looked free, and PostgreSQL folded all 57,000 names of the country before
    # narrowing to one Sở's schools (a search took 5-9 s); priced, the family is found first.
    "CREATE OR REPLACE FUNCTION vi_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    "RETURNS NULL ON NULL INPUT COST 10000 SET search_path = pg_catalog "
    f"AS $$ SELECT lower(translate(value, '{FOLD_FROM}', '{FOLD_TO}')) $$",
)

# Made after the tables: a province's schools list sorted by name walks this index and stops after the
# page (SQLite has no such index: its collation is Python's, and a file must open without it).
INDEX_NAMES = frozenset({"ix_unit_name_vi"})  # made here, not by the models: Alembic leaves them alone
POSTGRES_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS ix_unit_name_vi ON unit (name COLLATE {COLLATION}, id)",
)


def vi_order(column: Any) -> ColumnElement[str]:  # Any: a model attribute types as its value
    """`column` sorted in Vietnamese order (ORDER BY … COLLATE vi)."""
    return column.collate(COLLATION)


def vi_fold(column: Any) -> ColumnElement[str]:
    """`column` folded for a search without marks or case; compare with `search_fold(typed)`."""
    return func.vi_fold(column)


@lru_cache(maxsize=65536)
def _key(text: str) -> tuple:
    return sort_key(text)


def vi_key(text: str) -> tuple:
    """`kernel.text.sort_key`, remembered: a province's 3,321 ward names are keyed once per process,
    not on every page that sorts them."""
    return _key(text)


def sorts_natively(session: Any) -> bool:
    """Whether ORDER BY … COLLATE vi runs in the database's own code (PostgreSQL's ICU). On SQLite
    it calls `_compare` per comparison (18,000 Python calls for 3,321 ward names): there a list of
    that size is sorted faster in Python by `vi_sorting_key`, in exactly the same order."""
    return session.get_bind().dialect.name != "sqlite"


def vi_sorting_key(text: str) -> tuple:
    """The order of `_compare` (the SQLite collation) as a Python sort key: letters and tones first,
    then the characters themselves."""
    return (_key(text), text)


def _compare(a: str, b: str) -> int:
    ka, kb = _key(a), _key(b)
    if ka == kb:  # letters and tones tie ("Đông" ~ "đông"): the bytes decide, so the order is total
        return (a > b) - (a < b)
    return (ka > kb) - (ka < kb)


def _fold(value: str | None) -> str | None:
    return None if value is None else search_fold(value)


def register_sqlite(dbapi_conn, _record=None) -> None:
    """The `vi` collation and the `vi_fold` function on one SQLite connection."""
    dbapi_conn.create_collation(COLLATION, _compare)
    dbapi_conn.create_function("vi_fold", 1, _fold, deterministic=True)


def create_postgres(connection) -> None:
    """Make the collation, the fold function and the index sorted by it on a PostgreSQL connection
    (safe to repeat)."""
    for statement in (*POSTGRES_DDL, *POSTGRES_INDEXES):
        connection.exec_driver_sql(statement)


def listen(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", register_sqlite)


def attach(metadata) -> None:
    """metadata.create_all makes them first on PostgreSQL (the tests' and `create_all` databases)."""
    for statement in POSTGRES_DDL:
        event.listen(metadata, "before_create", DDL(statement.replace("%", "%%")).execute_if(dialect="postgresql"))
    for statement in POSTGRES_INDEXES:
        event.listen(metadata, "after_create", DDL(statement).execute_if(dialect="postgresql"))
