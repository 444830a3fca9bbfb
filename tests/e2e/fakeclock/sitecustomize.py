"""Test-only: shifts the clock of every cdsflow process a test starts by the same offset, ticking.

Put this folder on PYTHONPATH with CDSFLOW_TEST_CLOCK_OFFSET=<seconds>: the processes (web
workers, mail workers) agree on one fake "now" that moves at real speed, so a reminder
scheduled at 07:00 on a working day of the calendar fires a minute after the test starts.
"""
import os
from datetime import UTC

_offset = os.environ.get("CDSFLOW_TEST_CLOCK_OFFSET")
if _offset:
    from datetime import datetime, timedelta

    import freezegun

    # Modules that subclass date/datetime with a metaclass of their own, or C extensions that
    # check the datetime types' size when loaded, must see the real classes first
    # (pydantic.v1.types, which FastAPI imports lazily; psycopg's compiled adapters).
    import psycopg  # noqa: F401
    import pydantic.v1.types  # noqa: F401

    freezegun.freeze_time(datetime.now(UTC) + timedelta(seconds=float(_offset)), tick=True).start()
