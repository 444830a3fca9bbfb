"""Pure pieces of the web app: permission table, reason parsing, deadlines, redirects, number format."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cdsflow.app.web import actions
from cdsflow.app.web.access import allowed
from cdsflow.app.web.app import _num
from cdsflow.app.web.pages import _safe_next
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services.accounts import Role
from cdsflow.workflow.machine import STEPS


def test_menus_read_the_rulebook_and_school_staff_never_review():
    from cdsflow.workflow.rulebook import RULES

    for step in STEPS:
        assert RULES[step.trigger].who, step.trigger
    for trigger in ("start_review", "return_for_supplement", "recognise", "publish"):
        assert not any(rulebook_role in {Role.SCHOOL_HEAD, Role.COMMITTEE} for rulebook_role, _ in RULES[trigger].who)
    assert {role for role in Role if RULES["manage_accounts"].who[0][0] == role} == {Role.ADMIN}
    assert allowed.__module__ == "cdsflow.app.web.access"


def test_criteria_notes_parse_per_line_and_refuse_lines_without_a_code():
    assert actions.parse_criteria_notes("1.2: thiếu ảnh\n\n2.1 : chưa có quyết định") == {
        "1.2": "thiếu ảnh", "2.1": "chưa có quyết định"}
    with pytest.raises(InvalidInput) as err:
        actions.parse_criteria_notes("1.2 thiếu dấu hai chấm")
    assert "dòng 1" in err.value.details[0]


def test_days_left_counts_vietnamese_calendar_days():
    due = datetime(2025, 3, 31, 16, 59, tzinfo=UTC)  # 23:59 on 31/3 in Hà Nội
    assert actions.days_left(due, datetime(2025, 3, 30, 17, 30, tzinfo=UTC)) == 0  # 00:30 on 31/3
    assert actions.days_left(due, datetime(2025, 3, 29, 12, tzinfo=UTC)) == 2
    assert actions.days_left(due, datetime(2025, 4, 2, 1, tzinfo=UTC)) == -2


@pytest.mark.parametrize("target,expected", [
    ("/campaigns/3", "/campaigns/3"), ("//evil.example", "/"), ("https://evil.example", "/"),
    ("/\\evil.example", "/"), (None, "/"), ("", "/"),
])
def test_login_redirect_stays_local(target, expected):
    assert _safe_next(target) == expected


def test_points_are_written_the_vietnamese_way():
    assert _num(Decimal("7.50")) == "7,5" and _num(Decimal("10")) == "10" and _num(2.25) == "2,25" and _num(None) == ""
