import unicodedata

from cdsflow.workflow.units import EducationLevel, UnitKind, parse_kind, parse_level, validate_unit_row


def row(**kw):
    base = {"code": "TH01", "name": "Trường Tiểu học Kim Đồng", "kind": "Trường", "education_level": "Tiểu học",
            "supervisor_code": "PGD", "emails": "c1kimdong@badinh.edu.vn"}
    return base | kw


def test_a_good_row_is_normalised_to_nfc():
    nfd = unicodedata.normalize("NFD", "Trường Tiểu học Kim Đồng")
    spec, problems = validate_unit_row(row(name=f"  {nfd}  ", short_code="TH KĐ"))
    assert problems == []
    assert spec.name == "Trường Tiểu học Kim Đồng" and unicodedata.is_normalized("NFC", spec.name)
    assert spec.short_code == "THKĐ" and spec.kind is UnitKind.SCHOOL and spec.education_level is EducationLevel.PRIMARY


def test_every_problem_of_a_row_is_reported_in_vietnamese():
    _, problems = validate_unit_row(row(code="", name="", kind="Trường", education_level="Đại học",
                                        emails="a@b.vn, not-an-email", supervisor_code=""))
    text = "\n".join(problems)
    for expected in ("thiếu mã đơn vị", "thiếu tên đơn vị", "cấp học không rõ", "email không hợp lệ: «not-an-email»",
                     "thiếu đơn vị quản lý"):
        assert expected in text


def test_labels_are_matched_the_way_people_type_them():
    assert parse_kind("Phòng GDĐT") is UnitKind.BUREAU
    assert parse_kind("phong van hoa - xa hoi") is UnitKind.BUREAU
    assert parse_kind("Sở Giáo dục và Đào tạo") is UnitKind.DEPARTMENT
    assert parse_level("mầm non") is EducationLevel.PRESCHOOL
    assert parse_level("Trung học cơ sở") is EducationLevel.LOWER_SECONDARY
    assert parse_level("Đại học") is None


def test_control_characters_and_icelandic_eth_are_handled():
    spec, _ = validate_unit_row(row(name="Trường Tiểu học \u00d0ông Thái"))
    assert spec.name == "Trường Tiểu học Đông Thái"
    _, problems = validate_unit_row(row(name="Trường\x07 Tiểu học"))
    assert any("ký tự điều khiển" in p for p in problems)
