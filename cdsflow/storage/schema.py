"""One place that imports every table module, so metadata (and Alembic) see the whole schema."""
from __future__ import annotations

from sqlmodel import SQLModel

from cdsflow.storage import (
    assessment_tables,  # noqa: F401
    bulk_tables,  # noqa: F401
    calendar_tables,  # noqa: F401
    collation,
    documents_tables,  # noqa: F401
    listing_tables,  # noqa: F401
    notifications_tables,  # noqa: F401
    review_tables,  # noqa: F401
    sends_tables,  # noqa: F401
    signing_tables,  # noqa: F401
    steering_tables,  # noqa: F401
    tables,  # noqa: F401
    web_tables,  # noqa: F401
)

metadata = SQLModel.metadata
collation.attach(metadata)
