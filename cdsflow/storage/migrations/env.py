"""Alembic environment: the schema is cdsflow's metadata; the URL comes from the caller."""
from __future__ import annotations

from alembic import context

from cdsflow.storage import collation
from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
        with engine.begin() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    # Older installs may still have APScheduler's job table (the scheduler is now reminder_run); leave it be.
    if type_ == "index" and name in collation.INDEX_NAMES:  # the Vietnamese-order indexes (storage/collation.py)
        return False
    return not (type_ == "table" and reflected and compare_to is None and name.startswith("apscheduler"))


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        include_object=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
