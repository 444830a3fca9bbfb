"""The editor's table is a faithful view of the format: every shipped calendar read as a table and
written back is the same calendar for the validator; a key with no column is refused, not lost."""
from __future__ import annotations

import dataclasses

import pytest

from cdsflow.calendars.catalog import calendar_name, shipped_calendars
from cdsflow.calendars.draft_check import check_draft
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.table import COLUMNS, TableError, draft_from_yaml


def _same(cal):
    return [dataclasses.replace(m, line=None) for m in cal.milestones], cal.school_year, cal.issuer, cal.dossier


@pytest.mark.parametrize("path", shipped_calendars(), ids=calendar_name)
def test_every_shipped_calendar_survives_the_table(path):
    draft = draft_from_yaml(path.read_text(encoding="utf-8"))
    check = check_draft(draft)
    assert check.ok, [p.text for p in check.errors]
    assert _same(check.calendar) == _same(load_calendar(path))
    assert draft_from_yaml(check.yaml).to_json() == draft.to_json()


def test_a_key_without_a_column_is_refused_by_line():
    with pytest.raises(TableError, match="dòng 6: khóa 'deu' của mốc thứ 1 chưa có cột"):
        draft_from_yaml('issuer: "X"\nschool_year: 2024-2025\nmilestones:\n  - key: a\n    title: "A"\n    deu: 2025-03-31\n')


def test_the_relative_rule_and_start_marker_of_the_format_have_columns():
    assert {"after", "marker", "window", "submission", "reminders"} <= {c.key for c in COLUMNS}
