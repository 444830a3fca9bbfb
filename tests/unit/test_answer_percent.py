"""How a rate in an Excel answer cell is read: as the person meant it, whatever Excel stored."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cdsflow.assessment.rates import RateError, parse_rate, stored_rate
from cdsflow.assessment.xlsx import percent_value


@pytest.mark.parametrize(("stored", "fmt", "meant"), [
    (70, "General", 70),  # typed 70 in a plain cell
    (0.7, "0%", "70%"),  # typed "70%" (Excel stores 0.7 and formats the cell)
    (0.7, "0.##%", "70%"),  # typed 70 in our %-formatted answer cell
    (0.855, "0.0%", "85.5%"),
    (0.007, "0.0%", "0.7%"),  # typed "0,7%"
    (1, "0%", "100%"),
    (0, "0%", "0%"),
    ("70%", "General", "70%"),  # text is left to the one rate reader
    (45.5, "General", 45.5),
    (0.7, "General", 0.7),  # refused by the rate reader, with the cell's address
])
def test_a_percent_format_is_made_explicit(stored, fmt, meant):
    assert percent_value(stored, fmt) == meant


@pytest.mark.parametrize(("raw", "percent_cell", "meant"), [
    (70, False, "70"), ("70", False, "70"), ("70%", False, "70"), ("70 %", False, "70"), (" 70 % ", False, "70"),
    (0.7, True, "70"), ("0,7%", False, "0.7"), ("0.7 %", False, "0.7"), ("85,5", False, "85.5"), (0, False, "0"),
    (1, False, "1"), (100, False, "100"), (Decimal("45.5"), False, "45.5"),
])
def test_one_rate_reader(raw, percent_cell, meant):
    assert parse_rate(raw, percent_cell=percent_cell) == Decimal(meant)


@pytest.mark.parametrize("raw", [0.7, "0,7", "0.7", " 0,5 ", Decimal("0.25")])
def test_a_bare_number_under_one_is_refused_with_what_to_write(raw):
    with pytest.raises(RateError, match="ghi 70 hoặc 70%"):
        parse_rate(raw)


@pytest.mark.parametrize("raw", ["nhiều", "%", "abc%", None, True, "7%0%"])
def test_what_is_not_a_rate_is_refused(raw):
    with pytest.raises(RateError):
        parse_rate(raw)


def test_a_rate_under_one_percent_is_stored_so_it_reads_back_the_same():
    assert stored_rate(Decimal("0.7")) == "0.7%" and parse_rate("0.7%") == Decimal("0.7")
    assert stored_rate(Decimal("70")) == 70 and stored_rate(Decimal("85.5")) == 85.5
