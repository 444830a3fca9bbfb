"""How a rate in an Excel answer cell is read: as the person meant it, whatever Excel stored."""
from __future__ import annotations

import pytest

from cdsflow.assessment.xlsx import percent_value


@pytest.mark.parametrize(("stored", "fmt", "meant"), [
    (70, "General", 70),  # typed 70 in a plain cell
    (0.7, "0%", 70),  # typed "70%" (Excel stores 0.7 and formats the cell)
    (0.7, "0.##%", 70),  # typed 70 in our %-formatted answer cell
    (0.855, "0.0%", 85.5),
    (1, "0%", 100),
    (0, "0%", 0),
    ("70%", "General", 70),  # text, e.g. from LibreOffice with a text cell
    (" 70 % ", "@", 70),
    ("85,5%", "General", 85.5),
    (45.5, "General", 45.5),
])
def test_percent_read_as_meant(stored, fmt, meant):
    assert percent_value(stored, fmt) == meant


@pytest.mark.parametrize("stored", ["nhiều", "%", "abc%", None, True, "70"])
def test_what_is_not_a_percentage_is_left_for_the_scoring_rules(stored):
    # returned unchanged: the scoring rules refuse it with the cell's address (or read "70" as 70)
    assert percent_value(stored, "0%") == stored
