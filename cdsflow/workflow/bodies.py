"""Rules of the bodies a unit forms (the review team, the steering group): pure, so the use-case
that stores a list and the decision that prints it ask the same function."""
from __future__ import annotations

from datetime import date


def team_role_problems(roles: list[str]) -> list[str]:
    """The review team's rule, written once (the team decision asks it too): one Trưởng đoàn, a Thư ký."""
    if not roles:
        return ["Đoàn chưa có thành viên nào"]
    problems = []
    if roles.count("head") != 1:
        problems.append(f"Đoàn cần đúng một Trưởng đoàn (đang có {roles.count('head')})")
    if "secretary" not in roles:
        problems.append("Đoàn cần ít nhất một Thư ký")
    return problems


def steering_role_problems(roles: list[str]) -> list[str]:
    """The group's rule, written once (its decision asks it too): exactly one head."""
    if not roles:
        return ["Bộ phận chỉ đạo chưa có thành viên nào"]
    return [] if roles.count("head") == 1 else [f"Bộ phận chỉ đạo cần đúng một Trưởng ban (đang có {roles.count('head')})"]


def team_period_problems(start: date, end: date, today: date) -> list[str]:
    """A review team is formed for work still ahead: a period that ended before today is refused,
    naming its last day (the decision forming it would be dated after the work it orders)."""
    if end < today:
        return [f"Thời gian làm việc của đoàn ({start:%d/%m/%Y} – {end:%d/%m/%Y}) đã kết thúc ngày {end:%d/%m/%Y}, "
                f"trước hôm nay ({today:%d/%m/%Y}): không thành lập đoàn cho thời gian đã qua; chọn ngày kết thúc "
                "từ hôm nay trở đi"]
    return []
