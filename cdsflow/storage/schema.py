"""One place that imports every table module, so metadata (and Alembic) see the whole schema."""
from __future__ import annotations

from sqlmodel import SQLModel

from cdsflow.storage import tables  # noqa: F401
from cdsflow.storage import assessment_tables  # noqa: F401
from cdsflow.storage import documents_tables  # noqa: F401
from cdsflow.storage import notifications_tables  # noqa: F401
from cdsflow.storage import web_tables  # noqa: F401
from cdsflow.storage import review_tables  # noqa: F401
from cdsflow.storage import calendar_tables  # noqa: F401
from cdsflow.storage import sends_tables  # noqa: F401
from cdsflow.storage import listing_tables  # noqa: F401
from cdsflow.storage import steering_tables  # noqa: F401

metadata = SQLModel.metadata
