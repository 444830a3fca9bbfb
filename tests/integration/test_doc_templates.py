"""Every template rendered with normal, draft and hostile data, read back with python-docx and
held to the checks of §14 of the format sheet; the fast path against plain docxtpl."""
import io
import unicodedata
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn

from cdsflow.documents import build_templates
from cdsflow.documents.checks import _all_paragraphs, _ptext, check_docx
from cdsflow.documents.contexts import BUILDERS
from cdsflow.documents.render import TEMPLATES_DIR, render, render_reference, template_path
from cdsflow.documents.samples import sample_context

CODES = sorted(BUILDERS)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _text(data: bytes) -> list[str]:
    """Every paragraph's text in document order (tables included), read from the XML directly."""
    doc = Document(io.BytesIO(data))
    return [_ptext(p) for p in _all_paragraphs(doc)]


def test_document_types_all_have_a_template():
    assert set(build_templates.BUILDERS) == set(BUILDERS)
    assert all((TEMPLATES_DIR / f"{c}.docx").exists() for c in CODES)


@pytest.mark.parametrize("code", CODES)
def test_checked_in_template_is_what_the_script_builds(code):
    # Compare the parts, not the zip bytes: another zlib may compress the same XML differently.
    built = _members(build_templates.BUILDERS[code]())
    assert built == _members(template_path(code).read_bytes()), \
        "mẫu .docx lệch với mã dựng: chạy python -m cdsflow.documents.build_templates rồi commit"


@pytest.mark.parametrize("code", CODES)
def test_templates_are_small(code):
    assert template_path(code).stat().st_size < 12_000


@pytest.mark.parametrize("variant", ["normal", "draft", "hostile"])
@pytest.mark.parametrize("code", CODES)
def test_rendered_document_passes_the_format_checks(code, variant):
    ctx = sample_context(code, hostile=variant == "hostile", draft=variant == "draft")
    data = render(code, ctx)
    assert check_docx(data, code) == []
    text = "\n".join(_text(data))
    assert "{{" not in text and "{%" not in text
    assert unicodedata.normalize("NFC", text) == text and "\u00d0" not in text
    if variant == "hostile" and code not in {"bia_ho_so"}:
        assert "&" in text and "<" in text  # escaped in the XML, intact for the reader


def test_hostile_school_name_of_200_characters_survives():
    data = render("giay_chung_nhan", sample_context("giay_chung_nhan", hostile=True))
    name = [t for t in _text(data) if t.startswith("TRƯỜNG TIỂU HỌC HÙNG THẮNG & <LIÊN CẤP>")]
    assert name and len(name[0]) == 200 and "ĐX" in name[0]


def test_draft_prints_blank_number_and_day():
    data = render("qd_hoi_dong", sample_context("qd_hoi_dong", draft=True))
    header = Document(io.BytesIO(data)).tables[0]
    assert header.cell(1, 0).paragraphs[0].text == "Số:       /QĐ-THHT"
    assert header.cell(1, 1).paragraphs[0].text == "Hùng Thắng, ngày      tháng 3 năm 2026"


def test_recognition_annex_renders_3000_rows_grouped_and_sorted():
    ctx = sample_context("qd_cong_nhan", hostile=True)
    data = render("qd_cong_nhan", ctx)
    doc = Document(io.BytesIO(data))
    annex = doc.tables[-1]._tbl
    rows = [["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.iter(qn("w:tc"))]
            for tr in annex.iter(qn("w:tr"))]
    data_rows = [r for r in rows[1:] if r[0].isdigit()]
    assert len(data_rows) == 3000
    assert [int(r[0]) for r in data_rows] == list(range(1, 3001))
    labels = [r[0] for r in rows[1:] if not r[0].isdigit()]
    assert labels == ["Mầm non", "Tiểu học", "Trung học cơ sở", "Trung học phổ thông"]
    assert doc.sections[-1].page_width > doc.sections[-1].page_height  # landscape annex


def test_committee_annex_lists_roles_in_order_and_names_by_vietnamese_collation():
    ctx = sample_context("qd_hoi_dong")
    roles = [m["role"] for m in ctx["members"]]
    assert roles[:3] == ["Chủ tịch", "Phó Chủ tịch", "Thư ký"] and set(roles[3:]) == {"Ủy viên"}
    from cdsflow.documents.vietnamese import name_sort_key

    names = [m["full_name"] for m in ctx["members"][3:]]
    assert names == sorted(names, key=name_sort_key)


@pytest.mark.parametrize("code", CODES)
def test_fast_path_gives_the_same_document_text_as_plain_docxtpl(code):
    ctx = sample_context(code, hostile=True, rows=60)
    assert _text(render(code, ctx)) == _text(render_reference(template_path(code), ctx))


def test_rendering_is_deterministic_to_the_byte():
    ctx = sample_context("qd_phe_duyet")
    assert render("qd_phe_duyet", ctx) == render("qd_phe_duyet", dict(ctx))


def test_checks_catch_a_document_that_breaks_the_rules():
    bad = Document()  # python-docx default: US Letter, Calibri, no header table
    bad.add_table(rows=2, cols=2)
    bad.add_table(rows=1, cols=2)  # right after: would merge into the first one
    bad.add_paragraph("còn sót {{ school_name }}")
    buf = io.BytesIO()
    bad.save(buf)
    problems = check_docx(buf.getvalue(), "qd_hoi_dong")
    assert any("A4" in p for p in problems)
    assert any("thẻ mẫu" in p for p in problems)
    assert any("quốc hiệu" in p for p in problems)
    assert any("hai bảng liền nhau" in p for p in problems)


def test_checks_catch_a_wrong_number_line():
    ctx = sample_context("to_trinh")
    ctx["header"]["number_line"] = "Số: 7 /TTr-THHT"
    assert any("số, ký hiệu" in p for p in check_docx(render("to_trinh", ctx), "to_trinh"))


def test_xml_in_a_value_is_printed_not_interpreted():
    ctx = sample_context("to_trinh")
    ctx["subject"] = 'Về việc </w:t></w:r><w:r><w:t>"GD&ĐT" <b>'
    data = render("to_trinh", ctx)
    assert 'Về việc </w:t></w:r><w:r><w:t>"GD&ĐT" <b>' in _text(data)
    assert check_docx(data, "to_trinh") == []
