"""The editor's table is a faithful view of the format: every shipped calendar read as a table and
written back is the same calendar for the validator; a key with no column is refused, not lost."""
from __future__ import annotations

import dataclasses

import pytest

from cdsflow.calendars.catalog import calendar_name, shipped_calendars
from cdsflow.calendars.draft_check import check_draft
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.table import COLUMNS, Draft, TableError, draft_from_yaml


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
    with pytest.raises(TableError, match="dòng 6: khóa 'deu' của mốc thứ 1 chưa có cột trong bảng soạn lịch"):
        draft_from_yaml('issuer: "X"\nschool_year: 2024-2025\nmilestones:\n  - key: a\n    title: "A"\n    deu: 2025-03-31\n')


def test_no_cell_holds_yaml_labels_and_codes_both_accepted_bad_cells_named_by_row_and_column():
    assert {c.path[0] for c in COLUMNS} >= {"after", "marker", "window", "submission", "reminders"}
    officer = Draft({"issuer": "Phòng GDĐT thử", "school_year": "2025-2026", "references": "QĐ 4725\nQĐ 3276",
                     "parent_issuer": "Sở GDĐT Hà Nội", "rem_before": "3, 1", "rem_overdue": "hằng ngày",
                     "rem_digest": "hằng tuần"},
                    [{"key": "to-trinh", "title": "Gửi tờ trình", "actor": "Trường", "stage": "Đã gửi tờ trình",
                      "due": "2026-01-30", "channel": "Biểu mẫu trực tuyến", "sub_closes": "2026-01-30 17:00",
                      "sub_max": "1", "sub_counts": "đầu tiên", "ret_n": "5"},
                     {"key": "nop-lai", "title": "Gửi lại", "actor": "school", "stage": "proposal",
                      "after_event": "trả hồ sơ bổ sung", "after_n": "5", "after_unit": "ngày làm việc",
                      "after_cap": "2026-06-30", "rem_before": "không nhắc"}])
    check = check_draft(officer)
    assert check.ok, [p.text for p in check.errors]
    sent, again = check.calendar.milestones
    assert (sent.actor.value, sent.stage.value, sent.channel) == ("school", "proposal", "online_form")
    assert again.relative.event == "returned" and again.relative.count == 5 and again.relative.working
    assert check.calendar.references[-2:] == ("QĐ 4725", "QĐ 3276")
    assert draft_from_yaml(check.yaml).rows[1]["actor"] == "Trường"  # codes come back as labels

    officer.rows[0]["actor"] = "Hiệu trưởng"
    officer.rows[1]["after_unit"] = "tuần"
    texts = [p.text for p in check_draft(officer).errors]
    assert texts == ["Dòng 1, cột «Đối tượng»: «Hiệu trưởng» không có trong danh sách (Trường, Phòng, Sở)",
                     "Dòng 2, cột «Hạn tương đối: loại ngày»: «tuần» không có trong danh sách (ngày làm việc, ngày)"]
