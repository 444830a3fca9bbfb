"""Vietnamese writing rules of official documents (format sheet §6, §7, §12)."""
import unicodedata
from datetime import date

import pytest

from cdsflow.documents import vietnamese as vn
from cdsflow.documents.checks import DATE_RE, NUMBER_RE
from cdsflow.kernel.errors import InvalidInput


@pytest.mark.parametrize("day,expected", [
    (date(2025, 2, 5), "ngày 05 tháng 02 năm 2025"),
    (date(2025, 3, 15), "ngày 15 tháng 3 năm 2025"),
    (date(2023, 11, 9), "ngày 09 tháng 11 năm 2023"),
    (date(2024, 1, 31), "ngày 31 tháng 01 năm 2024"),
])
def test_date_words_follow_the_decree(day, expected):
    assert vn.date_words(day) == expected


def test_date_line_and_drafts_match_the_check_pattern():
    assert vn.date_line("Ba Đình", date(2025, 2, 5)) == "Ba Đình, ngày 05 tháng 02 năm 2025"
    draft = vn.date_line("Hùng Thắng", None, planned=date(2026, 3, 1))
    assert draft == "Hùng Thắng, ngày      tháng 3 năm 2026"
    for line in (draft, vn.date_line("Hà Nội", None), vn.date_line("Phường 1", date(2025, 12, 1))):
        assert DATE_RE.match(line), line


def test_date_line_needs_a_place():
    with pytest.raises(InvalidInput):
        vn.date_line("  ", date(2025, 1, 1))


def test_numbers_use_vietnamese_separators():
    assert vn.decimal(75.5) == "75,5"
    assert vn.decimal(80.0) == "80"
    assert vn.decimal(1234.25) == "1.234,25"
    assert vn.decimal(None) == ""
    assert vn.thousands(1250000) == "1.250.000"
    assert vn.short_date(date(2022, 12, 30)) == "30/12/2022"


def test_money_in_words_has_the_linh_forms():
    assert vn.money_in_words(1_250_000) == "Một triệu hai trăm năm mươi nghìn đồng"
    assert "không trăm linh năm" in vn.money_in_words(1_000_005)


def test_number_line_strips_spaces_and_leaves_drafts_blank():
    assert vn.number_line(7, "QĐ", "THHT") == "Số: 07/QĐ-THHT"
    assert vn.number_line(125, "SGDĐT", "VP") == "Số: 125/SGDĐT-VP"
    assert vn.number_line(61, " KH", "GDTX HP") == "Số: 61/KH-GDTXHP"
    assert vn.number_line(None, "QĐ", "THHT") == "Số:       /QĐ-THHT"
    assert vn.number_line(3, "TTr", "THHT") == "Số: 03/TTr-THHT"  # case of TTr kept
    for line in ("Số: 07/QĐ-THHT", vn.number_line(None, "QĐ", "THHT"), vn.number_line(12, "BB", "HĐTĐG")):
        assert NUMBER_RE.match(line)
    with pytest.raises(InvalidInput):
        vn.number_line(1, "QĐ", "TH/HT")
    with pytest.raises(InvalidInput):
        vn.number_line(0, "QĐ", "THHT")


def test_text_is_nfc_and_uppercased_from_nfc():
    nfd = unicodedata.normalize("NFD", "Trường Tiểu học Ðông Hải")
    assert vn.nfc(nfd) == "Trường Tiểu học Đông Hải"
    assert vn.upper(nfd) == "TRƯỜNG TIỂU HỌC ĐÔNG HẢI"


def test_names_sort_the_vietnamese_way():
    names = ["Nguyễn Văn Đức", "Trần Thị Dung", "Lê Văn An", "Phạm Thị Ánh", "Ngô Thị Ă", "Vũ Văn Âu",
             "Lê Văn Hả", "Lê Văn Hạ", "Lê Văn Há", "Lê Văn Hã", "Lê Văn Hà", "Lê Văn Ha"]
    ordered = sorted(names, key=vn.name_sort_key)
    given = [n.split()[-1] for n in ordered]
    # letters first (a < ă < â, d < đ), then tones: không, huyền, hỏi, ngã, sắc, nặng
    assert given == ["An", "Ánh", "Ă", "Âu", "Dung", "Đức", "Ha", "Hà", "Hả", "Hã", "Há", "Hạ"]
    # like ICU: a tone decides only when all the letters of the name are equal
    assert sorted(["Lê Văn Hà", "Lê Minh Ha"], key=vn.name_sort_key)[0] == "Lê Minh Ha"
    # same given name: the middle name decides, then the family name
    assert sorted(["Trần Văn Hà", "Đỗ Minh Hà"], key=vn.name_sort_key)[0] == "Đỗ Minh Hà"
    assert sorted(["Vũ Văn An", "Lê Văn An"], key=vn.name_sort_key)[0] == "Lê Văn An"


def test_name_sort_is_independent_of_normal_form():
    assert vn.name_sort_key(unicodedata.normalize("NFD", "Nguyễn Thị Ánh")) == vn.name_sort_key("Nguyễn Thị Ánh")


def test_school_names_sort_numbers_by_value():
    names = ["Trường Mầm non số 25", "Trường Mầm non số 5", "Trường Mầm non Đông Hải", "Trường Mầm non Dương Kinh"]
    assert sorted(names, key=vn.text_sort_key) == [
        "Trường Mầm non Dương Kinh", "Trường Mầm non Đông Hải", "Trường Mầm non số 5", "Trường Mầm non số 25"]
