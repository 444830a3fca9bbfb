"""Time semantics: deadlines at the edges of a day, windows, working days, quiet hours."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import SubmissionPolicy
from cdsflow.calendars.submission import submission_refusal
from cdsflow.calendars.timeutil import TZ

DUE = timeutil.parse_deadline("2024-06-03")  # Bắc Giang: "trước ngày 03/6/2024"
FORM = SubmissionPolicy(opens_at=timeutil.parse_start("2024-05-15"),
                        closes_at=timeutil.parse_deadline("2024-06-03 24:00"), max_submissions=3)


@pytest.mark.parametrize(("frozen", "past"), [
    ("2024-06-03 23:59:59+07:00", False),   # last second of the due day, Vietnam time
    ("2024-06-04 00:00:00+07:00", True),    # first second of the next day
    ("2024-06-03 16:59:59+00:00", False),   # the same two instants written in UTC
    ("2024-06-03 17:00:00+00:00", True),
    ("2024-06-03 00:00:00+00:00", False),   # 00:00 UTC on the due day is 07:00 in Vietnam
    ("2024-06-03 23:59:59+00:00", True),    # 23:59:59 UTC is already 06:59:59 on 04/6 in Vietnam
    ("2024-06-03 00:00:00+07:00", False),   # midnight opening the due day
])
def test_due_day_edges_in_utc_and_vietnam(frozen, past):
    with freeze_time(frozen):
        assert timeutil.is_past(DUE) is past
        refusal = submission_refusal(FORM, timeutil.now(), 0)
        assert (refusal is not None) is past
        if past:
            assert "24h00 ngày 03/06/2024" in refusal


def test_due_is_end_of_day_and_24h00_is_the_same_instant():
    assert DUE == datetime(2024, 6, 3, 23, 59, 59, 999999, TZ)
    assert timeutil.parse_deadline("2024-06-03 24:00") == DUE
    assert timeutil.parse_deadline("2024-06-03 24h00") == DUE
    assert timeutil.parse_deadline("2024-06-03 17:30") == datetime(2024, 6, 3, 17, 30, tzinfo=TZ)


def test_month_window_is_the_whole_month():
    start, end = timeutil.month_bounds(2025, 5)
    assert start == datetime(2025, 5, 1, tzinfo=TZ)
    assert end == datetime(2025, 5, 31, 23, 59, 59, 999999, TZ)
    assert timeutil.month_bounds(2024, 2)[1].day == 29  # leap year
    assert timeutil.format_span_vi(start, end) == "Tháng 05/2025"
    assert timeutil.format_span_vi(None, DUE) == "Trước 24h00 ngày 03/06/2024"


@pytest.mark.parametrize("text", ["2025-02-29", "2025-02-31", "2024-13-01", "2025-04-31", "2024-06-03 25:00"])
def test_impossible_dates_are_refused_in_vietnamese(text):
    with pytest.raises(timeutil.TimeFormatError, match="không tồn tại"):
        timeutil.parse_deadline(text)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        timeutil.local(datetime(2024, 6, 3, 12))


def test_working_days_skip_weekends_and_holidays_tet_included():
    assert timeutil.is_working_day(date(2025, 4, 29))
    assert not timeutil.is_working_day(date(2025, 4, 30))   # Ngày Chiến thắng
    assert not timeutil.is_working_day(date(2025, 1, 30))   # Tết 2025
    assert not timeutil.is_working_day(date(2025, 5, 31))   # Saturday
    assert "Tết" in timeutil.day_off_reason(date(2025, 1, 30))
    assert timeutil.day_off_reason(date(2025, 5, 31)) == "thứ Bảy"
    # 29/4/2025 + 1 working day: 30/4, 1/5, 2/5 are holidays, 3-4/5 a weekend -> Monday 5/5.
    assert timeutil.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    # From Monday 3/2/2025 back one working day: 27/1-1/2 is Tết, 25-26/1 a weekend -> Friday 24/1.
    assert timeutil.add_working_days(date(2025, 2, 3), -1) == date(2025, 1, 24)


@pytest.mark.parametrize(("at", "expected"), [
    ("2025-04-29 10:00", "2025-04-29 10:00"),   # working hours: unchanged
    ("2025-04-29 06:59", "2025-04-29 07:00"),   # early morning -> 07:00 the same day
    ("2025-04-29 20:00", "2025-05-05 07:00"),   # 20:00 is quiet; next day 30/4 is a holiday, so is 1-2/5
    ("2025-04-30 09:00", "2025-05-05 07:00"),   # a reminder falling on 30/4 moves to the next working day
    ("2025-01-28 09:00", "2025-02-03 07:00"),   # in Tết 2025 -> Monday 3/2
    ("2025-05-31 09:00", "2025-06-02 07:00"),   # Saturday -> Monday
    ("2025-06-02 23:30", "2025-06-03 07:00"),   # night -> next morning
])
def test_next_sending_instant_respects_quiet_hours(at, expected):
    got = timeutil.next_sending_instant(datetime.fromisoformat(at).replace(tzinfo=TZ))
    assert got == datetime.fromisoformat(expected).replace(tzinfo=TZ)
    assert timeutil.is_sending_allowed(got)


@pytest.mark.parametrize(("at", "allowed"), [
    ("2025-06-03 06:59:59", False), ("2025-06-03 07:00:00", True),
    ("2025-06-03 19:59:59", True), ("2025-06-03 20:00:00", False),  # the quiet hours start at 20:00 sharp
])
def test_the_sending_hours_edges(at, allowed):
    instant = datetime.fromisoformat(at).replace(tzinfo=TZ)
    assert timeutil.is_sending_allowed(instant) is allowed
    assert (timeutil.next_sending_instant(instant) == instant) is allowed


def test_next_sending_instant_reads_utc_input_in_vietnam_time():
    # 14:00 UTC = 21:00 in Vietnam: quiet, so the next morning.
    at = datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
    assert timeutil.next_sending_instant(at) == datetime(2025, 6, 3, 7, 0, tzinfo=TZ)
