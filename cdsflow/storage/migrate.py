"""Create or migrate the database schema."""
from __future__ import annotations

from sqlalchemy.engine import Engine

from cdsflow.storage.schema import metadata


def init_db(engine: Engine) -> None:
    metadata.create_all(engine)
