"""`load_calendar(path)`: a valid Calendar, or InvalidInput naming the file and the line."""
from __future__ import annotations

from pathlib import Path

from cdsflow.calendars.catalog import find_calendar
from cdsflow.calendars.model import Calendar
from cdsflow.calendars.validator import check_calendar
from cdsflow.kernel.errors import InvalidInput


def load_calendar(path: str | Path) -> Calendar:
    """Load and validate; warnings are allowed (see check_calendar), errors are refused.

    `path` may also be a shipped name such as "hanoi/ba-dinh-2024-2025" (NotFound otherwise).
    """
    result = check_calendar(find_calendar(path))
    if result.errors:
        first, *rest = result.errors
        raise InvalidInput(f"Tệp lịch không hợp lệ: {first}", details=[str(p) for p in rest])
    assert result.calendar is not None
    return result.calendar
