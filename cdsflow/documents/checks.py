"""The checks of §14 of the format sheet, run on a generated .docx (read back with python-docx).

Used by the tests on every template and by `cdsflow docs check FILE.docx` for a clerk who edited
a file by hand. Returns the problems found, in Vietnamese; an empty list means the file passes.
"""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import date

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.scoring import level_for
from cdsflow.documents.build_templates import FONT, MOTTO, NATIONAL_TITLE
from cdsflow.documents.grounds import DISTRICT, NO_DISTRICTS_FROM, names_a_district, stale_reason

NUMBER_RE = re.compile(r"^Số: (\d{2,}|\s+)/[A-Za-zĐđ][A-Za-zĐđ0-9.&]*(-[A-Za-zĐđ][A-Za-zĐđ0-9.&]*)+$")
DATE_RE = re.compile(r"^.+, ngày (0[1-9]|[12]\d|3[01]|\s+) tháng (0[12]|[3-9]|1[0-2]|\s+) năm (\d{4}|\s+)$")
SIGNATURE_RE = re.compile(r"^((TM|KT|Q|TL|TUQ)\. \S.*|[^.]+)$")
NO_NUMBER = {"bia_ho_so", "giay_chung_nhan"}  # no "Số:" in the header (§13.9, §13.10)
NO_PAGES = {"bia_ho_so", "giay_chung_nhan"}  # one-page papers
NO_FOOT = {"bia_ho_so"}


def _mm(length) -> float:
    return round(length / Mm(1), 1) if length is not None else -1


def _all_paragraphs(doc):
    """Every `w:p` of the body (tables included, at any depth) and of the headers, as raw XML:
    python-docx's per-run xpath and row.cells are far too slow on a 3,000-row annex."""
    roots = [doc.element.body]
    for s in doc.sections:
        for hdr in (s.header, s.first_page_header):
            if not hdr.is_linked_to_previous:
                roots.append(hdr._element)
    for root in roots:
        yield from root.iter(qn("w:p"))


_T, _R, _RPR, _FONTS = qn("w:t"), qn("w:r"), qn("w:rPr"), qn("w:rFonts")
_SLOTS = [qn(f"w:{k}") for k in ("ascii", "hAnsi", "eastAsia", "cs")]


def _ptext(p) -> str:
    return "".join(t.text or "" for t in p.iter(_T))


def _pt(run) -> float:
    return run.font.size.pt if run.font.size is not None else 14.0  # docDefaults: 14 pt


def _texts(cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text.strip()]


def check_docx(data: bytes, code: str, *, index_set: str = "4725") -> list[str]:
    """Layout checks of §14, then content checks: a results table has rows, points and level
    side by side agree with the index set's bands, no district names after 1/7/2025."""
    doc = Document(io.BytesIO(data))
    problems = content_problems(doc, code, index_set)
    problems += _layout_problems(doc, code)
    return problems


def _layout_problems(doc, code: str) -> list[str]:
    """§14 in the order a văn thư reads a paper: page, fonts, text, header, foot."""
    problems = [*_page_problems(doc, code), *_font_problems(doc), *_hygiene_problems(doc), *_adjacent_tables(doc)]
    if code == "bia_ho_so":
        return problems
    if not doc.tables:  # a paper typed over by hand: a finding, not a traceback
        return [*problems, "thiếu bảng tiêu đề (tên cơ quan, quốc hiệu, số, ngày)"]
    header = doc.tables[0]
    if len(header.rows) != 2 or len(header.columns) != 2:
        return [*problems, "bảng tiêu đề không phải 2 cột × 2 hàng"]
    problems += _title_problems(header) + _issuer_problems(header) + _number_date_problems(header, code)
    problems += _type_name_problems(doc, code)
    if code == "giay_chung_nhan":  # no Nơi nhận: "Số vào sổ" on the left of the signature
        foot = doc.tables[-1]
        if not any(p.text.startswith("Số vào sổ:") for p in foot.cell(0, 0).paragraphs):
            problems.append("giấy chứng nhận thiếu «Số vào sổ»")
        return problems + _signature_problems(foot)
    return problems + _foot_problems(doc, code)


def _page_problems(doc, code: str) -> list[str]:
    """A4, margins inside the ranges, different first page, PAGE field in the header."""
    problems: list[str] = []
    for i, s in enumerate(doc.sections, 1):
        size = sorted((_mm(s.page_width), _mm(s.page_height)))
        if size != [210.0, 297.0]:
            problems.append(f"mục {i}: khổ giấy {size} không phải A4")
        if not (20 <= _mm(s.top_margin) <= 25 and 20 <= _mm(s.bottom_margin) <= 25
                and 30 <= _mm(s.left_margin) <= 35 and 15 <= _mm(s.right_margin) <= 20):
            problems.append(f"mục {i}: lề ngoài khoảng cho phép")
        if not s.different_first_page_header_footer:
            problems.append(f"mục {i}: chưa đặt trang đầu khác (không đánh số trang 1)")
    if code in NO_PAGES:
        return problems
    if "PAGE" not in doc.sections[0].header._element.xml:
        problems.append("đầu trang không có trường số trang (PAGE)")
    for s in doc.sections[1:]:
        pg = s._sectPr.find(qn("w:pgNumType"))
        if pg is None or pg.get(qn("w:start")) != "1":
            problems.append("phụ lục không đánh lại số trang từ 1")
    return problems


def _font_problems(doc) -> list[str]:
    """Times New Roman on every run, in the Latin and the east-Asian/complex slots."""
    problems: list[str] = []
    for p in _all_paragraphs(doc):
        for r in p.iter(_R):
            rpr = r.find(_RPR)
            fonts = rpr.find(_FONTS) if rpr is not None else None
            slots = {fonts.get(k) for k in _SLOTS} if fonts is not None else set()
            if r.find(_T) is not None and slots != {FONT}:
                problems.append(f"đoạn «{_ptext(p)[:30]}»: phông chữ không phải {FONT}")
                break
    return problems


def _hygiene_problems(doc) -> list[str]:
    """NFC, no Ð, no leftover template tags, no bidirectional control characters."""
    problems: list[str] = []
    for p in _all_paragraphs(doc):
        text = _ptext(p)
        if unicodedata.normalize("NFC", text) != text:
            problems.append(f"đoạn «{text[:30]}» chưa chuẩn hóa NFC")
        if "\u00d0" in text:
            problems.append(f"đoạn «{text[:30]}» có chữ Ð (U+00D0) thay cho Đ")
        if "{{" in text or "{%" in text or "{#" in text:
            problems.append(f"còn sót thẻ mẫu trong «{text[:40]}»")
        if bidi := [c for c in text if unicodedata.category(c) == "Cf" and c not in "\u00ad\u200b"]:
            problems.append(f"đoạn «{text[:30]}» có ký tự điều khiển ẩn U+{ord(bidi[0]):04X}")
    return problems


def _adjacent_tables(doc) -> list[str]:
    """Two tables with nothing between them merge into one when the file is opened."""
    body = list(doc.element.body)
    if any(a.tag == b.tag == qn("w:tbl") for a, b in zip(body, body[1:], strict=False)):
        return ["hai bảng liền nhau không có đoạn văn xen giữa (sẽ bị gộp làm một)"]
    return []


def _title_problems(header) -> list[str]:
    right = _texts(header.cell(0, 1))
    if right != [NATIONAL_TITLE, MOTTO]:
        return [f"quốc hiệu, tiêu ngữ sai: {right}"]
    title_run, motto_run = (next(p for p in header.cell(0, 1).paragraphs if p.text == t).runs[0]
                            for t in (NATIONAL_TITLE, MOTTO))
    problems = []
    if not (title_run.bold and _pt(title_run) in (12, 13)):
        problems.append("quốc hiệu phải in hoa, đậm, cỡ 12-13")
    if not (motto_run.bold and _pt(motto_run) in (13, 14) and _pt(motto_run) > _pt(title_run) - 0.1):
        problems.append("tiêu ngữ phải đậm, cỡ 13-14, lớn hơn quốc hiệu một cỡ")
    return problems


def _issuer_problems(header) -> list[str]:
    issuer = [p for p in header.cell(0, 0).paragraphs if p.text.strip()]
    if not issuer or not all(r.bold for r in issuer[-1].runs) or issuer[-1].text != issuer[-1].text.upper():
        return ["tên cơ quan ban hành phải in hoa, đậm"]
    return []


def _number_date_problems(header, code: str) -> list[str]:
    problems = []
    if code not in NO_NUMBER:
        number = _texts(header.cell(1, 0))
        if not number or not NUMBER_RE.match(unicodedata.normalize("NFC", number[0])):
            problems.append(f"dòng số, ký hiệu sai mẫu: {number[:1]}")
    dates = _texts(header.cell(1, 1))
    if code in MINUTES:
        return problems + (["biên bản không ghi ngày tháng ở phần tiêu đề"] if dates else [])
    if not dates or not DATE_RE.match(dates[0]):
        return [*problems, f"dòng địa danh, ngày tháng sai mẫu: {dates[:1]}"]
    run = next(p for p in header.cell(1, 1).paragraphs if p.text.strip()).runs[0]
    if not (run.italic and _pt(run) in (13, 14)):
        problems.append("dòng địa danh, ngày tháng phải in nghiêng, cỡ 13-14")
    return problems


def _type_name_problems(doc, code: str) -> list[str]:
    """§4: type name UPPER bold 13-14 right under the header (a công văn has no type name)."""
    if code in NO_NUMBER or code in {"cong_van_nhac", "cong_van_trien_khai"}:
        return []
    body = [p for p in doc.paragraphs if p.text.strip()]
    if body and not (body[0].text == body[0].text.upper() and all(r.bold for r in body[0].runs)
                     and all(_pt(r) in (13, 14) for r in body[0].runs)):
        return [f"tên loại văn bản phải in hoa, đậm, cỡ 13-14: «{body[0].text[:30]}»"]
    return []


def _foot_problems(doc, code: str) -> list[str]:
    """Nơi nhận and signature."""
    small = [t for t in doc.tables if len(t._tbl.tr_lst) <= 2]  # skip the big annex tables (slow cell grid)
    foot, cell = next(((t, c) for t in small for c in (t.cell(0, 0), t.cell(len(t.rows) - 1, 0))
                       if any(p.text == "Nơi nhận:" for p in c.paragraphs)), (None, None))
    if foot is None:
        return ["thiếu khối Nơi nhận"]
    problems = _recipient_problems(cell)
    if code not in MINUTES:
        problems.extend(_signature_problems(foot))
    return problems


def _recipient_problems(cell) -> list[str]:
    paras = [p for p in cell.paragraphs if p.text.strip()]
    label, items = paras[0], paras[1:]
    problems = []
    r = label.runs[0] if label.runs else None
    if r is None or not (r.bold and r.italic and r.font.size and r.font.size.pt == 12):
        problems.append("nhãn «Nơi nhận:» phải in đậm nghiêng cỡ 12")
    if not items or any(not it.runs or it.runs[0].font.size is None or it.runs[0].font.size.pt != 11 for it in items):
        problems.append("các dòng nơi nhận phải cỡ 11")
    lu = [it.text for it in items if it.text.startswith("- Lưu:")]
    if not lu or not lu[-1].endswith("."):
        problems.append("dòng cuối nơi nhận phải là «- Lưu: …» kết thúc bằng dấu chấm")
    for it in items:
        if it.text.startswith("- ") and not it.text.startswith("- Lưu:") and not it.text.endswith(";"):
            problems.append(f"dòng nơi nhận phải kết thúc bằng «;»: {it.text}")
    return problems


def _signature_problems(foot) -> list[str]:
    lines = []
    for p in foot.cell(0, 1).paragraphs:  # authority lines, then the empty signing space, then the name
        if not p.text.strip():
            if lines:
                break
            continue
        lines.append(p.text)
    if not lines:
        return ["thiếu dòng thẩm quyền ký"]
    return [f"dòng thẩm quyền ký sai mẫu: «{line}»" for line in lines
            if line != line.upper() or not SIGNATURE_RE.match(line)]


def _strings(value) -> Iterator[str]:
    """Every text of a paper's context, at any depth (body, tables, annexes, Nơi nhận)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def district_names(context: dict, day: date | None) -> list[str]:
    """Errors for quận/huyện names anywhere in a paper dated from 1/7/2025, when Vietnam has no
    district level any more (Nghị quyết 202/2025/QH15); a draft with no date is held to today's rule."""
    if day is not None and day < NO_DISTRICTS_FROM:
        return []
    found = sorted({_around(t) for t in _strings(context) if names_a_district(t)})
    return [f"Văn bản ngày từ 01/7/2025 (không còn cấp huyện) còn ghi tên quận/huyện: «{t}»" for t in found]


def stale_grounds(context: dict, day: date, *, school_year: str, index_sets: list[str],
                  known_sets: list[str]) -> list[str]:
    """Errors for căn cứ a paper dated `day` may not cite (documents/grounds.py), whatever typed them:
    the data file, an edited section, or the defaults; one line per ground with its reason."""
    out = []
    for line in context.get("legal_bases") or []:
        ground = unicodedata.normalize("NFC", str(line)).removeprefix("Căn cứ ").rstrip(";.")
        why = stale_reason(ground, day=day, school_year=school_year, index_sets=index_sets, known_sets=known_sets)
        if why and not why.startswith("văn bản của cấp quận"):  # a quận/huyện: district_names says it
            out.append(f"Căn cứ không còn dùng được vào ngày {day:%d/%m/%Y}: «{ground[:90]}» ({why})")
    return out


def _around(text: str, width: int = 50) -> str:
    """The words around the first quận/huyện of `text`, so the message points at it."""
    text = unicodedata.normalize("NFC", text).strip()
    m = DISTRICT.search(text)
    start, end = max(0, m.start() - width), min(len(text), m.end() + width)
    return ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")


# --- content checks -------------------------------------------------------------------------------

MINUTES = {"bien_ban", "bien_ban_danh_gia_ngoai"}  # no date in the header; signed by the meeting, not an authority
RESULT_TABLES = {"bien_ban", "qd_phe_duyet", "to_trinh", "bao_cao", "qd_cong_nhan"}
_LEVEL = re.compile(r"^Mức (\d+)$")
_TR, _TC = qn("w:tr"), qn("w:tc")


def _rows(tbl) -> list[list[str]]:
    """Cell texts per row from the raw XML (fast on a 3,000-row annex)."""
    return [["".join(t.text or "" for t in tc.iter(_T)).strip() for tc in tr.iter(_TC)] for tr in tbl.iter(_TR)]


def _number(text: str):
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.replace(".", "").replace(",", "."))
    except InvalidOperation:
        return None


def content_problems(doc, code: str, index_set: str = "4725") -> list[str]:
    problems: list[str] = []
    if code in RESULT_TABLES:
        tables = [_rows(t) for t in doc.element.body.iter(qn("w:tbl"))]
        results = [rows for rows in tables if rows and any(h.startswith("Điểm") for h in rows[0])]
        if not results:
            problems.append("không có bảng kết quả (điểm, mức)")
        for rows in results:
            width = len(rows[0])
            data = [r for r in rows[1:] if len(r) == width and any(r)]
            if not data:
                problems.append(f"bảng kết quả «{' | '.join(rows[0][:3])}…» không có dòng nào")
                continue
            problems += _band_problems(rows[0], data, index_set)
    problems += district_names(_header_context(doc), _paper_date(doc))
    return problems


def _band_problems(header: list[str], data: list[list[str]], index_set: str) -> list[str]:
    pairs = [(i, header.index(h.replace("Điểm", "Mức", 1))) for i, h in enumerate(header)
             if h.startswith("Điểm") and h.replace("Điểm", "Mức", 1) in header]
    if not pairs and "Điểm đạt" in header and "Mức" in header:
        pairs = [(header.index("Điểm đạt"), header.index("Mức"))]
    if not pairs:
        return []
    s = shipped_index_sets().get(index_set)
    if s is None or not s.scorable:
        return []
    out = []
    for row in data:
        for pi, li in pairs:
            m, pts = _LEVEL.match(row[li]), _number(row[pi])
            if m is None or pts is None:
                continue
            want = level_for(s, pts)
            if want is not None and want != int(m.group(1)):
                out.append(f"dòng «{' | '.join(x for x in row[:2] if x)}»: {row[pi]} điểm nhưng ghi {row[li]} "
                           f"(theo bộ chỉ số {index_set}: Mức {want})")
                if len(out) >= 10:
                    return out
    return out


def _header_context(doc) -> dict:
    """Every line of the paper (header, body, tables, annexes, headers of pages), as district_names reads them."""
    return {"lines": [_ptext(p) for p in _all_paragraphs(doc)]}


_DATE_WORDS = re.compile(r"ngày (\d{1,2}) tháng (\d{1,2}) năm (\d{4})")


def _paper_date(doc) -> date | None:
    for p in _all_paragraphs(doc):
        m = _DATE_WORDS.search(_ptext(p))
        if m:
            try:
                return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                return None
    return None
