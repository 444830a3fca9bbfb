"""Rules of the bodies a unit forms (the review team, the steering group): pure, so the use-case
that stores a list and the decision that prints it ask the same function."""
from __future__ import annotations


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
