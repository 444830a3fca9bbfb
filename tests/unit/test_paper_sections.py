"""Default texts of the authority's papers are data, checked when loaded; an officer's text replaces
them section by section and is refused (with the reason) when it cannot be printed."""
import pytest

from cdsflow.documents import paper_sections as ps
from cdsflow.documents import sections as sx
from cdsflow.documents.samples import sample_context
from cdsflow.kernel.errors import InvalidInput


@pytest.mark.parametrize("name", sorted(p.stem for p in sx.TEXTS_DIR.glob("*.yaml") if p.stem not in ps.PAPERS))
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


@pytest.mark.parametrize("code", sorted(ps.PAPERS))
def test_each_edited_papers_texts_load_with_exactly_its_sections(code):
    texts = ps.read(code)
    assert list(texts.labels) == list(ps.PAPERS[code].fields) and texts.subject
    assert sorted(p.stem for p in ps.TEXTS_DIR.glob("*.yaml") if p.stem in ps.PAPERS) == sorted(ps.PAPERS)


@pytest.mark.parametrize("body, reason", [
    ("  - {key: article1, label: A, text: \"Có {ten_truong}\"}", "ten_truong"),
    ("  - {key: article1, label: A, text: \"Một\\nHai\"}", "một đoạn văn"),
    ("  - {key: dieu9, label: A, text: \"x\"}", "không phải mục"),
    ("  - {key: can_cu, label: A, text: \"x\"}", "căn cứ lấy từ dữ liệu"),
    ("  - {key: article3, label: A, text: \"x\"}", "trùng mục"),
])
def test_a_bad_papers_texts_file_is_refused(tmp_path, body, reason):
    good = (ps.TEXTS_DIR / "qd_cong_nhan.yaml").read_text(encoding="utf-8")
    path = tmp_path / "qd_cong_nhan.yaml"
    path.write_text(good.replace("sections:\n", "sections:\n" + body + "\n", 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        ps.read("qd_cong_nhan", path)
    assert reason in str(err.value.details) + err.value.message


def test_defaults_are_the_built_paper_and_edits_replace_only_the_prose():
    ctx = sample_context("qd_cong_nhan")
    defaults = ps.defaults("qd_cong_nhan", ctx)
    assert defaults["article2"] == ctx["articles"][1]["text"] and defaults["can_cu"] == "\n".join(ctx["legal_bases"])
    out = ps.apply("qd_cong_nhan", ctx, {"article2": "Đoạn một.\nĐoạn hai."})
    assert out["articles"][1] == {**ctx["articles"][1], "text": "Đoạn một.", "more": ["Đoạn hai."]}
    assert out["recognition_groups"] == ctx["recognition_groups"] and out["sections"]["article3"] == [ctx["articles"][2]["text"]]
    for edited, reason in (({"annex_title": "x"}, "không có trong văn bản này"), ({"article1": " \n "}, "không được để trống"),
                           ({"article1": "a\x0bb"}, "không hợp lệ")):
        with pytest.raises(InvalidInput) as err:
            ps.apply("qd_cong_nhan", ctx, edited)
        assert reason in str(err.value) + str(err.value.details)
