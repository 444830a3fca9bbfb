"""Default texts of the authority's papers are data, checked when loaded; an officer's text replaces
them section by section and is refused (with the reason) when it cannot be printed."""
import pytest

from cdsflow.documents import sections as sx
from cdsflow.workflow.errors import InvalidInput


@pytest.mark.parametrize("name", sorted(p.stem for p in sx.TEXTS_DIR.glob("*.yaml")))
def test_shipped_texts_load(name):
    subject, sections = sx.read_texts(sx.TEXTS_DIR / f"{name}.yaml")
    assert subject and sections and all(s.text for s in sections)


def test_a_texts_file_with_an_unknown_placeholder_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text('subject: "a"\nsections:\n  - {key: a, label: "A", text: "Xin chào {ten_truong}"}\n',
                    encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        sx.read_texts(path)
    assert "ten_truong" in str(err.value)


def test_defaults_leave_out_a_line_whose_value_is_missing_and_add_the_calendar_lines():
    got = sx.default_texts("ke_hoach_authority", {"issuer": "Phòng GDĐT", "area": "trên địa bàn X", "school_year": "2024-2025"},
                           {"school": ["- Tự đánh giá: trước 31/3/2025."]})
    assert "{link}" not in got["school_duties"] and "đường link" not in got["school_duties"]
    assert got["school_duties"].endswith("- Tự đánh giá: trước 31/3/2025.")


def test_the_officers_text_replaces_sections_and_bad_text_is_refused():
    defaults = {k: "Mặc định" for k, _ in sx.labels("cong_van_trien_khai")} | {"closing": "Kết"}
    out = sx.final_sections("cong_van_trien_khai", defaults, {"intro": "  Dòng 1 \r\n\r\n Dòng   2  "})
    assert out["intro"] == ["Dòng 1", "Dòng 2"] and out["closing"] == ["Kết"]
    for edited, reason in (({"khac": "x"}, "không có trong văn bản này"), ({"intro": "\x07"}, "không hợp lệ"),
                           ({"intro": "   "}, "không được để trống"), ("x", "phải là một bảng")):
        with pytest.raises(InvalidInput) as err:
            sx.final_sections("cong_van_trien_khai", defaults, edited)
        assert reason in str(err.value)
