"""How a deadline is written to a Vietnamese reader: `23:59 ngày 31 tháng 3 năm 2025`, `còn 3 ngày`."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def vn_datetime(at: datetime) -> str:
    """`23:59 ngày 31 tháng 3 năm 2025`, in Vietnam's time, whatever zone `at` carries."""
    local = at.astimezone(VN_TZ)
    return f"{local:%H:%M} ngày {local.day} tháng {local.month} năm {local.year}"


def vn_date(at: datetime) -> str:
    local = at.astimezone(VN_TZ)
    return f"ngày {local.day} tháng {local.month} năm {local.year}"


def days_left(due_at: datetime, now: datetime) -> int:
    """Calendar days from today to the deadline's day, both in Vietnam (negative: days overdue)."""
    return (due_at.astimezone(VN_TZ).date() - now.astimezone(VN_TZ).date()).days


def days_left_text(due_at: datetime, now: datetime) -> str:
    if now > due_at:
        late = max(1, -days_left(due_at, now))
        return f"đã quá hạn {late} ngày"
    n = days_left(due_at, now)
    if n == 0:
        return "hạn cuối là hôm nay"
    if n == 1:
        return "chỉ còn 1 ngày (hạn cuối là ngày mai)"
    return f"còn {n} ngày"
