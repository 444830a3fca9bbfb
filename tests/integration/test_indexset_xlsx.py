"""The Excel template on real files: round trip to the same hash, layout errors named by row."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from cdsflow.assessment.files import load_index_set_file, shipped_index_sets
from cdsflow.assessment.loader import IndexSetError
from cdsflow.assessment.xlsx import read_answer_workbook, write_answer_workbook, write_index_set_workbook


@pytest.mark.parametrize("code", ["4725", "3276", "3806"])
def test_workbook_round_trip_keeps_the_content_hash(tmp_path, code):
    s = shipped_index_sets()[code]
    path = write_index_set_workbook(tmp_path / f"{code}.xlsx", s)
    back = load_index_set_file(path)
    assert back.content_hash == s.content_hash
    assert back.items.get("1.4") is None or back.items["1.4"].tiers[3].uncertain


def _criteria_rows(path):
    wb = load_workbook(path)
    return wb, wb["Tiêu chí"]


def test_sub_item_before_its_criterion_is_named_by_row(tmp_path):
    path = write_index_set_workbook(tmp_path / "a.xlsx", shipped_index_sets()["4725"])
    wb, ws = _criteria_rows(path)
    ws.insert_rows(2)
    for col, value in enumerate(["1", "0.1", "mục", "Mục lạc chỗ", 1, "points"], 1):
        ws.cell(row=2, column=col, value=value)
    ws.cell(row=3, column=3, value="nhom ?")
    wb.save(path)
    with pytest.raises(IndexSetError) as err:
        load_index_set_file(path)
    assert "a.xlsx" in err.value.message
    assert any("dòng 2" in d and "đứng trước mọi dòng nhóm" in d for d in err.value.details)
    assert any("dòng 3" in d and "cột 'Cấp'" in d for d in err.value.details)


def test_bad_tier_line_and_sum_errors_are_reported(tmp_path):
    path = write_index_set_workbook(tmp_path / "b.xlsx", shipped_index_sets()["4725"])
    wb, ws = _criteria_rows(path)
    for row in ws.iter_rows(min_row=2):
        if row[1].value == "1.4":
            row[7].value = "[0, 20) ba điểm\n[20, ) = 10"
        if row[1].value == "2.3.1":
            row[4].value = 9
    wb.save(path)
    with pytest.raises(IndexSetError) as err:
        load_index_set_file(path)
    assert any("mã 1.4" in d and "[0, 20) ba điểm" in d for d in err.value.details)
    wb, ws = _criteria_rows(path)
    for row in ws.iter_rows(min_row=2):
        if row[1].value == "1.4":
            row[7].value = "[0, 20) = 3\n[20, ) = 10"
    wb.save(path)
    with pytest.raises(IndexSetError) as err:
        load_index_set_file(path)
    assert any("tiêu chí 2.3" in d and "(63)" in d for d in err.value.details)


def test_missing_sheet_and_not_a_workbook(tmp_path):
    path = write_index_set_workbook(tmp_path / "c.xlsx")
    wb = load_workbook(path)
    del wb["Mức độ"]
    wb.save(path)
    with pytest.raises(IndexSetError, match="không đúng mẫu"):
        load_index_set_file(path)
    fake = tmp_path / "d.xlsx"
    fake.write_text("không phải excel", encoding="utf-8")
    with pytest.raises(IndexSetError, match="Không đọc được tệp Excel d.xlsx"):
        load_index_set_file(fake)


def test_answer_workbook_reads_numbers_typed_as_codes(tmp_path):
    s = shipped_index_sets()["4725"]
    path = write_answer_workbook(tmp_path / "p.xlsx", s, {"1.4": 12, "2.5": {"value": "ky_so", "points": 8}})
    wb = load_workbook(path)
    ws = wb["Trả lời"]
    for row in ws.iter_rows(min_row=3):
        if row[0].value == "1.4":
            row[0].value = 1.4  # what Excel makes of a code typed by hand
    wb.save(path)
    code, answers = read_answer_workbook(path)
    assert code == "4725" and answers == {"1.4": 12, "2.5": {"value": "ky_so", "points": 8}}
