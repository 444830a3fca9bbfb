"""Pure rules of the review team: how duties and half-days typed by officers are read."""
import pytest

from cdsflow.kernel.stages import Stage
from cdsflow.services.review_teams import VISITABLE, parse_session, parse_team_role


@pytest.mark.parametrize("typed, role", [
    ("Trưởng đoàn", "head"), ("TRƯỞNG ĐOÀN", "head"), ("head", "head"), ("Phó Trưởng đoàn", "deputy"),
    ("phó đoàn", "deputy"), ("Thư ký", "secretary"), ("thu ky", "secretary"), ("Thành viên", "member"),
    ("Ủy viên", "member"), ("Khách mời", None), ("", None),
])
def test_duties_in_the_words_officers_use(typed, role):
    assert parse_team_role(typed) == role


@pytest.mark.parametrize("typed, session", [
    ("sáng", "sáng"), ("Sáng", "sáng"), ("sang", "sáng"), ("chiều", "chiều"), ("CHIỀU", "chiều"),
    ("chieu", "chiều"), ("tối", None), ("", None),
])
def test_half_days(typed, session):
    assert parse_session(typed) == session


def test_only_schools_that_proposed_are_visited():
    assert Stage.PROPOSAL in VISITABLE and Stage.PUBLISHED in VISITABLE
    assert Stage.SELF_ASSESSMENT not in VISITABLE and Stage.COMMITTEE_FORMED not in VISITABLE
