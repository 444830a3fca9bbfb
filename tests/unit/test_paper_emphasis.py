"""Issue 22, small ones: on every paper type, «Điều N.» of a decision is bold (Điều 2 and Điều 3 too,
wherever they are printed) and each căn cứ / «Xét đề nghị» line is italic (NĐ 30, Phụ lục I). Each
type is rendered from its sample context through the real template and read back with python-docx.

The Công văn triển khai is the one exception: a công văn has no căn cứ section; its opening
paragraph reads «Căn cứ …» upright (the Bắc Giang model the template follows)."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document

from cdsflow.documents.render import render
from cdsflow.documents.samples import sample_context
from cdsflow.workflow.document_types import document_types

TYPES = [*document_types(), "ke_hoach_authority"]
UPRIGHT_OPENING = {"cong_van_trien_khai"}
ARTICLE = re.compile(r"^(Điều \d+\.)")


def paragraphs(code: str) -> list:
    doc = Document(io.BytesIO(render(code, sample_context(code))))
    return list(doc.paragraphs) + [p for t in doc.tables for r in t.rows for c in r.cells for p in c.paragraphs]


def bold_prefix(p) -> str:
    """The leading text of the paragraph set in bold runs (bold set on the run or its style)."""
    out = ""
    for r in p.runs:
        if not (r.bold or (r.style is not None and r.style.font.bold)):
            break
        out += r.text
    return out


@pytest.mark.parametrize("code", TYPES)
def test_article_labels_are_bold_and_grounds_italic(code):
    paras = paragraphs(code)
    articles = [p for p in paras if ARTICLE.match(p.text)]
    for p in articles:
        label = ARTICLE.match(p.text).group(1)
        assert bold_prefix(p).startswith(label), f"{code}: «{label}» không in đậm"
    grounds = [p for p in paras if p.text.startswith(("Căn cứ ", "Xét đề nghị"))]
    if code in UPRIGHT_OPENING:
        return
    for p in grounds:
        assert all(r.italic for r in p.runs if r.text.strip()), f"{code}: «{p.text[:40]}…» không in nghiêng"


def test_the_decisions_print_their_articles_and_grounds():
    """The check above is not vacuous: each decision prints Điều 1–3 and at least one căn cứ."""
    for code in ("qd_hoi_dong", "qd_phe_duyet", "qd_doan_danh_gia", "qd_cong_nhan", "qd_ban_chi_dao"):
        paras = paragraphs(code)
        labels = [ARTICLE.match(p.text).group(1) for p in paras if ARTICLE.match(p.text)]
        assert {"Điều 1.", "Điều 2.", "Điều 3."} <= set(labels), (code, labels)
        assert any(p.text.startswith("Căn cứ ") for p in paras), code
