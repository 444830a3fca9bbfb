"""Every time rule of cdsflow lives here: the zone, what a deadline means, days off, quiet hours.

- Times are Asia/Ho_Chi_Minh. A naive datetime is never accepted from outside this module.
- "due D" (trước ngày D) is met by anything done before the end of day D: 23:59:59.999999 local.
  "24h00 ngày D" is the same instant.
- `window: 2025-05` is the whole month: from 01/5 00:00 to the end of 31/5.
- Working days are Monday to Friday minus Vietnamese public holidays (the `holidays` package,
  Tết included).
- Reminders go out only inside the sending hours (07:00 to 20:00 local) of a working day.
"""
from __future__ import annotations

import calendar as _stdcal
import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
END_OF_DAY = time(23, 59, 59, 999999)
SENDING_START = time(7, 0)
SENDING_END = time(20, 0)  # exclusive: 20:00 itself is already quiet

_WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


class TimeFormatError(ValueError):
    """A date/time text that cannot be read; the message is Vietnamese."""


# ---------------------------------------------------------------- instants


def local(dt: datetime) -> datetime:
    """The same instant seen in Vietnam. Refuses naive datetimes (they hide bugs)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: cdsflow only handles timezone-aware instants")
    return dt.astimezone(TZ)


def start_of_day(d: date) -> datetime:
    return datetime.combine(d, time(0), TZ)


def end_of_day(d: date) -> datetime:
    return datetime.combine(d, END_OF_DAY, TZ)


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """First instant and last instant (end of the last day) of a month."""
    last = _stdcal.monthrange(year, month)[1]
    return start_of_day(date(year, month, 1)), end_of_day(date(year, month, last))


def is_end_of_day(dt: datetime) -> bool:
    return local(dt).timetz().replace(tzinfo=None) == END_OF_DAY


# How people write dates in Vietnam: 31/05/2026, 1/6/2026, 31/5/2026 17:00; a month as 5/2026.
_VN_DAY = re.compile(r"(?<![\d/-])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\d/])")
_VN_MONTH = re.compile(r"(?<![\d/-])(\d{1,2})/(\d{4})(?![\d/])")


def iso_dates(text: str) -> str:
    """Every date written the Vietnamese way (dd/mm/yyyy, d/m/yyyy, mm/yyyy) in `text` rewritten as the
    calendar format's own (yyyy-mm-dd, yyyy-mm); the rest of the text is left as it is."""
    text = _VN_DAY.sub(lambda m: f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}", text)
    return _VN_MONTH.sub(lambda m: f"{m.group(2)}-{int(m.group(1)):02d}", text)


_ISO_DAY_IN = re.compile(r"(?<![\d/-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_ISO_MONTH_IN = re.compile(r"(?<![\d/-])(\d{4})-(\d{1,2})(?![\d-])")


def vn_dates(text: str) -> str:
    """The reverse of `iso_dates`: 2026-05-31 → 31/05/2026, 2026-05 → 05/2026, as an officer writes them
    (a school year "2025-2026" is not a month: both parts have four digits)."""
    text = _ISO_DAY_IN.sub(lambda m: f"{int(m.group(3)):02d}/{int(m.group(2)):02d}/{m.group(1)}", text)
    return _ISO_MONTH_IN.sub(lambda m: f"{int(m.group(2)):02d}/{m.group(1)}", text)


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_INSTANT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:h](\d{2})$")


def parse_date(text: str) -> date:
    """'2025-03-31' -> date; an impossible day such as 2025-02-31 is refused."""
    m = _DATE.match(iso_dates(text.strip()))
    if not m:
        raise TimeFormatError(f"«{text}» không phải một ngày (viết ngày/tháng/năm, ví dụ 31/05/2026)")
    y, mo, d = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        raise TimeFormatError(f"ngày không tồn tại: {d:02d}/{mo:02d}/{y}") from None


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.match(iso_dates(text.strip()))
    if not m:
        raise TimeFormatError(f"«{text}» không phải một tháng (viết tháng/năm, ví dụ 05/2026)")
    y, mo = int(m.group(1)), int(m.group(2))
    if not 1 <= mo <= 12:
        raise TimeFormatError(f"tháng không tồn tại: {mo:02d}/{y}")
    return y, mo


def is_month(text: str) -> bool:
    return bool(_MONTH.match(iso_dates(text.strip())))


def parse_deadline(text: str) -> datetime:
    """A deadline instant: 'YYYY-MM-DD' is the end of that day; 'YYYY-MM-DD HH:MM' is that
    minute, local time; '24:00' (24h00) is the end of the day. dd/mm/yyyy is read too."""
    text = iso_dates(text.strip())
    m = _INSTANT.match(text)
    if not m:
        return end_of_day(parse_date(text))
    y, mo, d, hh, mm = (int(g) for g in m.groups())
    day = parse_date(f"{y}-{mo}-{d}")
    if (hh, mm) == (24, 0):
        return end_of_day(day)
    if hh > 23 or mm > 59:
        raise TimeFormatError(f"giờ không tồn tại: {hh:02d}:{mm:02d}")
    return datetime.combine(day, time(hh, mm), TZ)


def parse_start(text: str) -> datetime:
    """An opening instant: 'YYYY-MM-DD' is the start of that day; 'YYYY-MM' the start of the month."""
    text = iso_dates(text.strip())
    if is_month(text):
        return month_bounds(*parse_month(text))[0]
    m = _INSTANT.match(text)
    if not m:
        return start_of_day(parse_date(text))
    return parse_deadline(text)


def parse_end(text: str) -> datetime:
    """A closing instant: a date is its end of day, a month its last day's end."""
    text = iso_dates(text.strip())
    if is_month(text):
        return month_bounds(*parse_month(text))[1]
    return parse_deadline(text)


# ---------------------------------------------------------------- days off


@lru_cache(maxsize=64)
def _vn_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year, language="vi")


def holiday_name(d: date) -> str | None:
    return _vn_holidays(d.year).get(d)


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and holiday_name(d) is None


def day_off_reason(d: date) -> str | None:
    """Why `d` is not a working day, in Vietnamese (None on a working day)."""
    name = holiday_name(d)
    if name:
        return f"ngày nghỉ lễ ({name})"
    if d.weekday() >= 5:
        return _WEEKDAYS_VI[d.weekday()]
    return None


def add_working_days(d: date, n: int) -> date:
    """The n-th working day after `d` (n > 0) or before it (n < 0); `d` itself is not counted."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    cur = d
    while remaining:
        cur += timedelta(days=step)
        if is_working_day(cur):
            remaining -= 1
    return cur


def next_working_day(d: date) -> date:
    """`d` if it is a working day, else the first working day after it."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def previous_working_day(d: date) -> date:
    """`d` if it is a working day, else the last working day before it."""
    while not is_working_day(d):
        d -= timedelta(days=1)
    return d


# ---------------------------------------------------------------- quiet hours


def is_sending_allowed(at: datetime, *, start: time = SENDING_START, end: time = SENDING_END) -> bool:
    t = local(at)
    return is_working_day(t.date()) and start <= t.time() < end


def next_sending_instant(at: datetime, *, start: time = SENDING_START, end: time = SENDING_END) -> datetime:
    """`at` when a reminder may go out then; otherwise the next opening of the sending hours
    (a night moves to the next morning, a weekend or holiday to the next working day)."""
    t = local(at)
    if is_working_day(t.date()):
        if t.time() < start:
            return datetime.combine(t.date(), start, TZ)
        if t.time() < end:
            return t
    return datetime.combine(next_working_day(t.date() + timedelta(days=1)), start, TZ)


def sending_morning(d: date, *, start: time = SENDING_START) -> datetime:
    """The first sending instant of day `d` (which the caller has made a working day)."""
    return datetime.combine(d, start, TZ)


# ---------------------------------------------------------------- Vietnamese display


def format_date_vi(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def short_instant(at: datetime) -> str:
    """'14:05 31/03/2025': an instant in a table or a history line."""
    return local(at).strftime("%H:%M %d/%m/%Y")


def vn_datetime(at: datetime) -> str:
    """`23:59 ngày 31 tháng 3 năm 2025`, in Vietnam's time, whatever zone `at` carries."""
    t = local(at)
    return f"{t:%H:%M} ngày {t.day} tháng {t.month} năm {t.year}"


def vn_date(at: datetime) -> str:
    t = local(at)
    return f"ngày {t.day} tháng {t.month} năm {t.year}"


def days_left(due_at: datetime, now: datetime) -> int:
    """Calendar days from today to the deadline's day, both in Vietnam (negative: days overdue)."""
    return (local(due_at).date() - local(now).date()).days


def days_left_text(due_at: datetime, now: datetime) -> str:
    if now > due_at:
        return f"đã quá hạn {max(1, -days_left(due_at, now))} ngày"
    n = days_left(due_at, now)
    if n == 0:
        return "hạn cuối là hôm nay"
    if n == 1:
        return "chỉ còn 1 ngày (hạn cuối là ngày mai)"
    return f"còn {n} ngày"


def format_instant_vi(dt: datetime) -> str:
    """'24h00 ngày 03/06/2024' for an end of day, '17h30 ngày 03/06/2024' otherwise."""
    t = local(dt)
    if is_end_of_day(t):
        return f"24h00 ngày {format_date_vi(t.date())}"
    return f"{t.hour:02d}h{t.minute:02d} ngày {format_date_vi(t.date())}"


def format_span_vi(opens_at: datetime | None, due_at: datetime) -> str:
    """How a milestone's time reads in a timetable: 'Tháng 05/2025', 'Trước 31/03/2025' …"""
    due = local(due_at)
    if opens_at is not None:
        start = local(opens_at)
        first, last = month_bounds(start.year, start.month)
        if start == first and due == last:
            return f"Tháng {start.month:02d}/{start.year}"
        if start.time() == time(0) and is_end_of_day(due):
            if start.day == 1 and due == month_bounds(due.year, due.month)[1]:
                return f"Tháng {start.month:02d}/{start.year} – {due.month:02d}/{due.year}"
            return f"Từ {format_date_vi(start.date())} đến {format_date_vi(due.date())}"
        return f"Từ {format_instant_vi(start)} đến {format_instant_vi(due)}"
    if is_end_of_day(due):
        return f"Trước 24h00 ngày {format_date_vi(due.date())}"
    return f"Trước {format_instant_vi(due)}"


# ---------------------------------------------------------------- now


def now() -> datetime:
    """The current instant in Vietnam (freezegun-friendly: reads datetime.now at call time)."""
    return datetime.now(TZ)


def is_past(deadline: datetime, at: datetime | None = None) -> bool:
    """True once `deadline` has passed: 23:59:59.999999 on the due day is still in time."""
    return local(at or now()) > deadline


def due_after(event_at: datetime, count: int, *, working: bool = True, cap: datetime | None = None) -> datetime:
    """A relative deadline: the end of the `count`-th working (or calendar) day after the event's
    day, Vietnam time; never later than `cap` when one is given (FORMAT.md "Relative deadlines")."""
    day = local(event_at).date()
    end = end_of_day(add_working_days(day, count) if working else day + timedelta(days=count))
    return min(end, cap) if cap is not None else end
