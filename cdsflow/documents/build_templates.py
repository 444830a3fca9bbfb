"""Builds the .docx templates in documents/templates/ from code, so that they stay reviewable.

Run `python -m cdsflow.documents.build_templates` after editing this file and commit the output;
a test checks that the committed templates equal what this script builds.

The templates start from a minimal package written here (a few KiB), not from python-docx's
default template whose 790 KiB of styles every save would re-compress. Layout follows
shared/docs/document-format.md (NĐ 30/2020): A4, margins 20/20/30/15 mm, Times New Roman in all
four font slots, a borderless 2×2 header table, rules drawn as paragraph bottom borders, page
numbers centred in the header from page 2 on, every annex a new section restarting at 1.
"""
from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

TEMPLATES_DIR = Path(__file__).with_name("templates")
FONT = "Times New Roman"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# Page (§1): A4 portrait, margins top/bottom 20, left 30, right 15 mm; header distance 10 mm.
PAGE_W, PAGE_H = 210, 297
MARGIN_T, MARGIN_B, MARGIN_L, MARGIN_R, HEADER_DIST = 20, 20, 30, 15, 10
TEXT_W = PAGE_W - MARGIN_L - MARGIN_R  # 165 mm
TEXT_W_LANDSCAPE = PAGE_H - MARGIN_L - MARGIN_R  # 252 mm
HEADER_LEFT, HEADER_RIGHT = 62, 103  # §3: ≈38 % / 62 % of 165 mm
# Width of "Độc lập - Tự do - Hạnh phúc" in Times New Roman Bold 14 pt, measured once from the
# font's advance widths (12.2 em × 14 pt ≈ 60 mm); the rule under it has exactly this length.
MOTTO_WIDTH = 60
ISSUER_RULE = 30  # §3: 1/3–1/2 of the issuer line, clamped to 25–45 mm
SUBJECT_RULE = 40  # §4: clamp 30–50 mm
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'  # noqa: E501 - one XML element per line
    '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'  # noqa: E501 - one XML element per line
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'  # noqa: E501 - one XML element per line
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'  # noqa: E501 - one XML element per line
    "</Relationships>"
)
_DOC_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'  # noqa: E501 - one XML element per line
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>'  # noqa: E501 - one XML element per line
    "</Relationships>"
)
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:document {_W} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<w:body><w:sectPr/></w:body></w:document>"
)
_FONTS = f'<w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>'
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f"<w:styles {_W}>"
    f'<w:docDefaults><w:rPrDefault><w:rPr>{_FONTS}<w:color w:val="000000"/><w:sz w:val="28"/><w:szCs w:val="28"/>'
    '<w:lang w:val="vi-VN" w:eastAsia="vi-VN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
    '<w:pPrDefault><w:pPr><w:spacing w:before="120" w:after="0" w:line="276" w:lineRule="auto"/></w:pPr></w:pPrDefault>'
    "</w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>'
    '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/></w:style>'  # noqa: E501 - one XML element per line
    '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
    '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
    '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
    "</w:styles>"
)
_SETTINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<w:settings {_W}><w:defaultTabStop w:val="720"/><w:characterSpacingControl w:val="doNotCompress"/>'
    '<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'  # noqa: E501 - one XML element per line
    "</w:settings>"
)


def minimal_base() -> bytes:
    """A valid, nearly empty .docx: one default font, one paragraph style, no theme, no bloat."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("word/document.xml", _DOCUMENT),
            ("word/_rels/document.xml.rels", _DOC_RELS),
            ("word/styles.xml", _STYLES),
            ("word/settings.xml", _SETTINGS),
        ):
            zf.writestr(zipfile.ZipInfo(name, FIXED_ZIP_TIME), text)
    return buf.getvalue()


def repack(data: bytes) -> bytes:
    """Rewrite a .docx zip with fixed timestamps so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


# --- low-level helpers ---------------------------------------------------------------------------


def _twips(mm: float) -> int:
    return int(round(mm * 1440 / 25.4))


def _fonts(run) -> None:
    rpr = run._r.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)


def _bottom_rule(paragraph, indent_mm: float) -> None:
    """A solid rule drawn as the paragraph's bottom border; the indents leave the wanted length."""
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    bdr.append(bottom)
    # pBdr must come before spacing/ind/jc in CT_PPr's sequence
    anchor = None
    for tag in ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc"):
        anchor = ppr.find(qn(tag))
        if anchor is not None:
            break
    if anchor is not None:
        anchor.addprevious(bdr)
    else:
        ppr.append(bdr)
    fmt = paragraph.paragraph_format
    fmt.left_indent = Mm(indent_mm)
    fmt.right_indent = Mm(indent_mm)


_TBLPR_ORDER = ["tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
                "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook"]


def _tblpr_put(table, el) -> None:
    """Insert a tblPr child where the schema's sequence wants it (Word rejects misordered XML)."""
    tblpr = table._tbl.tblPr
    name = el.tag.split("}")[1]
    old = tblpr.find(qn(f"w:{name}"))
    if old is not None:
        tblpr.remove(old)
    rank = _TBLPR_ORDER.index(name)
    for child in tblpr:
        cname = child.tag.split("}")[1]
        if cname in _TBLPR_ORDER and _TBLPR_ORDER.index(cname) > rank:
            child.addprevious(el)
            return
    tblpr.append(el)


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    _tblpr_put(table, borders)


def _grid_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
            el.set(qn(k), v)
        borders.append(el)
    _tblpr_put(table, borders)


def _zero_cell_margins(table) -> None:
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), "0")
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    _tblpr_put(table, mar)


def _fixed_widths(table, widths_mm: list[float]) -> None:
    table.autofit = False
    tblw = table._tbl.tblPr.find(qn("w:tblW"))
    if tblw is not None:
        tblw.set(qn("w:type"), "dxa")
        tblw.set(qn("w:w"), str(sum(_twips(w) for w in widths_mm)))
    for col, w in zip(table.columns, widths_mm, strict=False):
        col.width = Mm(w)
        for cell in col.cells:
            cell.width = Mm(w)


def _row_props(row, *, header: bool = False) -> None:
    trpr = row._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")  # §11: do not split a row across pages
    trpr.append(cant)
    if header:
        trpr.append(OxmlElement("w:tblHeader"))  # repeat the header row on every page


class Builder:
    """Writes one template; methods append blocks in reading order."""

    def __init__(self, *, landscape: bool = False) -> None:
        self.doc = Document(io.BytesIO(minimal_base()))
        self.landscape = landscape
        self._setup_section(self.doc.sections[0], landscape=landscape, restart=False)

    # ----- page ---------------------------------------------------------------------------------
    @property
    def width(self) -> float:
        return TEXT_W_LANDSCAPE if self.landscape else TEXT_W

    def _setup_section(self, section, *, landscape: bool, restart: bool) -> None:
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Mm(PAGE_H), Mm(PAGE_W)
        else:
            section.orientation = WD_ORIENT.PORTRAIT
            section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
        section.top_margin, section.bottom_margin = Mm(MARGIN_T), Mm(MARGIN_B)
        section.left_margin, section.right_margin = Mm(MARGIN_L), Mm(MARGIN_R)
        section.header_distance = section.footer_distance = Mm(HEADER_DIST)
        section.gutter = Mm(0)
        section.different_first_page_header_footer = True  # page 1 shows no number
        if restart:
            sectpr = section._sectPr
            pg = OxmlElement("w:pgNumType")
            pg.set(qn("w:start"), "1")
            cols = sectpr.find(qn("w:cols"))
            title_pg = sectpr.find(qn("w:titlePg"))
            anchor = cols if cols is not None else title_pg
            if anchor is not None:
                anchor.addprevious(pg)
            else:
                sectpr.append(pg)

    def page_numbers(self) -> None:
        """PAGE field centred in the header of pages 2…; the first page header stays empty."""
        section = self.doc.sections[0]
        p = section.header.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(0)
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), " PAGE ")
        run = p.add_run("1")
        run.font.size = Pt(14)
        _fonts(run)
        p._p.remove(run._r)
        fld.append(run._r)
        p._p.append(fld)
        first = section.first_page_header
        first.is_linked_to_previous = False
        first.paragraphs[0].paragraph_format.space_before = Pt(0)

    # ----- text ---------------------------------------------------------------------------------
    def para(self, *runs: str | tuple, container=None, size: float = 14, bold: bool = False,
             italic: bool = False, align: str = "justify", indent: bool = True, before: float = 6,
             after: float = 0, single: bool = False, keep_next: bool = False):
        """A paragraph; each run is text or (text, {"bold":…, "italic":…, "size":…})."""
        target = container if container is not None else self.doc
        p = target.add_paragraph()
        fmt = p.paragraph_format
        p.alignment = {
            "justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
            "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
        }[align]
        fmt.first_line_indent = Mm(12.7) if indent else None
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        fmt.line_spacing = 1.0 if single else 1.15
        if keep_next:
            fmt.keep_with_next = True
        for item in runs:
            text, opts = (item, {}) if isinstance(item, str) else item
            run = p.add_run(text)
            run.bold = opts.get("bold", bold) or None
            run.italic = opts.get("italic", italic) or None
            run.font.size = Pt(opts.get("size", size))
            _fonts(run)
        return p

    def tag(self, jinja: str, container=None) -> None:
        """A `{%p …%}` paragraph: docxtpl removes the paragraph, keeps the control flow."""
        self.para(jinja, container=container, indent=False, before=0)

    def centre(self, text: str, *, size: float = 14, bold: bool = False, italic: bool = False,
               before: float = 0, container=None):
        return self.para(text, container=container, size=size, bold=bold, italic=italic,
                         align="center", indent=False, before=before)

    def rule(self, length_mm: float, *, within: float | None = None, container=None, after: float = 0) -> None:
        p = self.para("", container=container, align="center", indent=False, before=0, size=6, single=True,
                      after=after)
        p.paragraph_format.line_spacing = 1.0
        _bottom_rule(p, ((within or self.width) - length_mm) / 2)

    def heading(self, text: str) -> None:
        """`I. MỤC ĐÍCH, YÊU CẦU`: Roman numeral, UPPER, bold, with first-line indent (§5)."""
        self.para(text, bold=True, align="left", keep_next=True)

    def subheading(self, text: str) -> None:
        self.para(text, bold=True, align="left", keep_next=True)

    def body(self, *runs: str | tuple, **kw) -> None:
        self.para(*runs, **kw)

    def loop(self, items: str, line: str, *, var: str = "x", **kw) -> None:
        """One paragraph per item of a list in the context."""
        self.tag(f"{{%p for {var} in {items} %}}", container=kw.get("container"))
        self.para(line, **kw)
        self.tag("{%p endfor %}", container=kw.get("container"))

    # ----- blocks -------------------------------------------------------------------------------
    def header(self, *, date: bool = True, vv: bool = False) -> None:
        """§3: borderless 2×2 table; row 1 issuer | national title, row 2 number | date line."""
        t = self.doc.add_table(rows=2, cols=2)
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        _no_borders(t)
        _zero_cell_margins(t)
        # landscape pages (certificate) keep the 38 % / 62 % split of the wider text area
        left_w, right_w = (HEADER_LEFT, HEADER_RIGHT) if not self.landscape else (
            round(self.width * 0.38), self.width - round(self.width * 0.38))
        _fixed_widths(t, [left_w, right_w])
        left, right = t.cell(0, 0), t.cell(0, 1)
        left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
        right.paragraphs[0]._p.getparent().remove(right.paragraphs[0]._p)
        self.tag("{%p if header.parent_org %}", container=left)
        self.centre("{{ header.parent_org }}", size=13, container=left)
        self.tag("{%p endif %}", container=left)
        self.centre("{{ header.issuer }}", size=13, bold=True, container=left)
        self.rule(ISSUER_RULE, within=left_w, container=left)
        self.centre(NATIONAL_TITLE, size=13, bold=True, container=right)
        self.centre(MOTTO, size=14, bold=True, container=right)
        self.rule(MOTTO_WIDTH, within=right_w, container=right)
        num, day = t.cell(1, 0), t.cell(1, 1)
        num.paragraphs[0]._p.getparent().remove(num.paragraphs[0]._p)
        day.paragraphs[0]._p.getparent().remove(day.paragraphs[0]._p)
        self.centre("{{ header.number_line }}", size=13, before=6, container=num)
        if vv:
            self.centre("{{ header.vv }}", size=13, before=6, container=num)
        if date:
            self.centre("{{ header.date_line }}", size=14, italic=True, before=6, container=day)
        else:
            self.centre("", size=14, before=6, container=day)  # biên bản: no date in the header

    def title(self, type_name: str) -> None:
        """§4: type name UPPER bold, subject bold, short rule."""
        self.centre(type_name, bold=True, before=18)
        self.centre("{{ subject }}", bold=True)
        self.rule(SUBJECT_RULE)

    def addressees(self) -> None:
        """§8: `Kính gửi:` with one or several addressees, the dashes under the colon."""
        self.tag("{%p if addressees|length == 1 %}")
        self.centre("Kính gửi: {{ addressees[0] }}", before=6)
        self.tag("{%p elif addressees %}")
        # a real paragraph between two tables: adjacent tables merge into one in Word/LibreOffice
        self.para("", indent=False, before=0, size=6, single=True)
        t = self.doc.add_table(rows=1, cols=2)
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        _no_borders(t)
        _fixed_widths(t, [35, 110])
        label, items = t.cell(0, 0), t.cell(0, 1)
        label.paragraphs[0]._p.getparent().remove(label.paragraphs[0]._p)
        items.paragraphs[0]._p.getparent().remove(items.paragraphs[0]._p)
        label_p = self.para("Kính gửi:", container=label, align="right", indent=False)
        label_p.paragraph_format.right_indent = Mm(1.5)
        self.loop("addressees_lines", "{{ x }}", container=items, align="left", indent=False)
        self.tag("{%p endif %}")

    def legal_bases(self) -> None:
        self.loop("legal_bases", "{{ x }}", italic=True)

    def decision_opening(self) -> None:
        """§5: authority line, căn cứ, `QUYẾT ĐỊNH:`."""
        self.centre("{{ authority_line }}", bold=True, before=12)
        self.legal_bases()
        self.centre("QUYẾT ĐỊNH:", bold=True, before=12)

    def articles(self) -> None:
        self.tag("{%p for a in articles %}")
        self.para(("{{ a.label }}", {"bold": True}), " {{ a.text }}")
        self.loop("a.more|default([])", "{{ m }}", var="m")  # an article the officer wrote in paragraphs
        self.tag("{%p endfor %}")

    def foot(self, *, left: str | None = None) -> None:
        """§9: Nơi nhận (left 45 %) and signature (right 55 %), kept with the last paragraph.
        `left` replaces Nơi nhận by one line (the certificate's "Số vào sổ"). A replacement
        first cites the paper it replaces."""
        self._keep_last_with_next()
        self.tag("{%p if replaces_line %}")
        self.body(("{{ replaces_line }}", {"italic": True}), keep_next=True)
        self.tag("{%p endif %}")
        t = self.doc.add_table(rows=1, cols=2)
        _no_borders(t)
        _fixed_widths(t, [self.width * 0.45, self.width * 0.55])
        _row_props(t.rows[0])
        left_cell, right = t.cell(0, 0), t.cell(0, 1)
        left_cell.paragraphs[0]._p.getparent().remove(left_cell.paragraphs[0]._p)
        right.paragraphs[0]._p.getparent().remove(right.paragraphs[0]._p)
        cell = left_cell
        if left is not None:
            self.para(left, container=cell, align="left", indent=False, before=12)
        else:
            self.para("Nơi nhận:", container=cell, size=12, bold=True, italic=True, align="left",
                      indent=False, before=12, single=True)
            self.loop("recipients", "{{ x }}", container=cell, size=11, align="left", indent=False,
                      before=0, single=True)
            self.para("{{ archive_line }}", container=cell, size=11, align="left", indent=False, before=0,
                      single=True)
            self.tag("{%p if drafter_mark %}", container=cell)
            self.para("{{ drafter_mark }}", container=cell, size=11, align="left", indent=False, before=0,
                      single=True)
            self.tag("{%p endif %}", container=cell)
        self.tag("{%p for x in signature.lines %}", container=right)
        self.centre("{{ x }}", bold=True, container=right, before=0)
        self.tag("{%p endfor %}", container=right)
        for _ in range(4):  # 25–30 mm for signature and seal
            self.centre("", container=right)
        self.centre("{{ signature.name }}", bold=True, container=right)

    def _keep_last_with_next(self) -> None:
        # The last printed paragraph (not a `{%p %}` tag, which docxtpl removes) keeps with the
        # foot so that a signature never starts a page alone.
        for p in reversed(self.doc.paragraphs):
            if not p.text.startswith("{%p"):
                p.paragraph_format.keep_with_next = True
                return

    def minutes_foot(self) -> None:
        """Biên bản (Mẫu 1.9): THƯ KÝ left, CHỦ TỌA right, Nơi nhận underneath on the left."""
        self._keep_last_with_next()
        t = self.doc.add_table(rows=2, cols=2)
        _no_borders(t)
        _fixed_widths(t, [self.width * 0.45, self.width * 0.55])
        _row_props(t.rows[0])
        for cell in (t.cell(0, 0), t.cell(0, 1), t.cell(1, 0), t.cell(1, 1)):
            cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
        sec, chair = t.cell(0, 0), t.cell(0, 1)
        self.centre("THƯ KÝ", bold=True, container=sec, before=12)
        for _ in range(4):
            self.centre("", container=sec)
        self.centre("{{ secretary_name }}", bold=True, container=sec)
        self.centre("CHỦ TỌA", bold=True, container=chair, before=12)
        self.tag("{%p if chair_post %}", container=chair)
        self.centre("{{ chair_post }}", bold=True, container=chair)
        self.tag("{%p endif %}", container=chair)
        for _ in range(4):
            self.centre("", container=chair)
        self.centre("{{ chair_name }}", bold=True, container=chair)
        left = t.cell(1, 0)
        self.para("Nơi nhận:", container=left, size=12, bold=True, italic=True, align="left",
                  indent=False, before=12, single=True)
        self.loop("recipients", "{{ x }}", container=left, size=11, align="left", indent=False,
                  before=0, single=True)
        self.para("{{ archive_line }}", container=left, size=11, align="left", indent=False, before=0, single=True)
        self.centre("", container=t.cell(1, 1))

    def annex(self, title: str, ref: str = "{{ annex_ref }}", *, landscape: bool = False,
              label: str = "Phụ lục") -> None:
        """§11: a new section (restart page numbers at 1) with the annex heading lines."""
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        self.landscape = landscape
        self._setup_section(section, landscape=landscape, restart=True)
        self.centre(label, bold=True)
        self.centre(title, bold=True)
        self.centre(ref, italic=True)
        self.rule(SUBJECT_RULE, after=12)

    def table(self, columns: list[tuple[str, float]], cells: list[str], *, loop: str,
              size: float = 12, group: str | None = None) -> None:
        """A bordered table: bold repeated header row, one `{%tr for %}` data row (thousands of
        rows render without per-row paragraphs). `group` adds a full-width row per group."""
        scale = self.width / sum(w for _, w in columns)
        widths = [w * scale for _, w in columns]
        n_rows = 4 + (3 if group else 0)
        t = self.doc.add_table(rows=n_rows, cols=len(columns))
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        _grid_borders(t)
        _fixed_widths(t, widths)
        for i, (name, _) in enumerate(columns):
            cell = t.cell(0, i)
            self._cell_text(cell, name, size=size, bold=True, align="center")
        _row_props(t.rows[0], header=True)
        r = 1
        if group:
            outer_var, iterable = (s.strip() for s in group.split(" in ", 1))
            self._tr(t, r, f"{{%tr for {outer_var} in {iterable} %}}", size)
            r += 1
            merged = t.cell(r, 0).merge(t.cell(r, len(columns) - 1))
            self._cell_text(merged, f"{{{{ {outer_var}.label }}}}", size=size, bold=True, align="left")
            _row_props(t.rows[r])
            r += 1
        self._tr(t, r, f"{{%tr for {loop} %}}", size)
        r += 1
        for i, text in enumerate(cells):
            align = "left" if i and not text.startswith("{{ r.num") else "center"
            self._cell_text(t.cell(r, i), text, size=size, align=align)
        _row_props(t.rows[r])
        r += 1
        self._tr(t, r, "{%tr endfor %}", size)
        r += 1
        if group:
            self._tr(t, r, "{%tr endfor %}", size)

    def _tr(self, table, row: int, text: str, size: float) -> None:
        self._cell_text(table.cell(row, 0), text, size=size, align="left")

    def _cell_text(self, cell, text: str, *, size: float, bold: bool = False, align: str = "left") -> None:
        p = cell.paragraphs[0]
        p.alignment = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER}[align]
        p.paragraph_format.space_before = Pt(2)
        p.paragraph_format.space_after = Pt(2)
        p.paragraph_format.line_spacing = 1.0
        run = p.add_run(text)
        run.bold = bold or None
        run.font.size = Pt(size)
        _fonts(run)

    def save(self) -> bytes:
        buf = io.BytesIO()
        self.doc.save(buf)
        return repack(buf.getvalue())


# --- the templates --------------------------------------------------------------------------------


def _decision(b: Builder) -> None:
    b.page_numbers()
    b.header()
    b.title("QUYẾT ĐỊNH")
    b.decision_opening()
    b.articles()


def build_ke_hoach() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("KẾ HOẠCH")
    b.legal_bases()
    b.body("{{ intro }}")
    b.heading("I. MỤC ĐÍCH, YÊU CẦU")
    b.subheading("1. Mục đích")
    b.loop("purposes", "- {{ x }}")
    b.subheading("2. Yêu cầu")
    b.loop("requirements", "- {{ x }}")
    b.heading("II. NỘI DUNG")
    b.tag("{%p if scope %}")
    b.body("{{ scope }}")
    b.tag("{%p endif %}")
    b.loop("index_sets", "- {{ x }}")
    b.tag("{%p for t in task_groups %}")
    b.subheading("{{ t.label }}")
    b.loop("t.lines", "- {{ y }}", var="y")
    b.tag("{%p endfor %}")
    b.heading("III. TỔ CHỨC THỰC HIỆN")
    b.tag("{%p for t in actor_groups %}")
    b.subheading("{{ t.label }}")
    b.loop("t.lines", "- {{ y }}", var="y")
    b.tag("{%p endfor %}")
    b.tag("{%p if dossier_items %}")
    b.body("Hồ sơ gồm (theo thứ tự):")
    b.loop("dossier_items", "{{ x }}")
    b.tag("{%p endif %}")
    b.tag("{%p if contact %}")
    b.body("{{ contact }}")
    b.tag("{%p endif %}")
    b.body("{{ closing }}")
    b.foot()
    b.annex("LỊCH TRÌNH THỰC HIỆN", landscape=False)
    b.table([("TT", 10), ("Nội dung", 70), ("Thời gian", 30), ("Sản phẩm", 45)],
            ["{{ r.num }}", "{{ r.content }}", "{{ r.when }}", "{{ r.output }}"],
            loop="r in g.rows", group="g in timeline_groups")
    return b.save()


def build_qd_hoi_dong() -> bytes:
    b = Builder()
    _decision(b)
    b.foot()
    b.annex("DANH SÁCH {{ committee_name_upper }}")
    b.table([("TT", 10), ("Họ và tên", 45), ("Chức vụ", 40), ("Nhiệm vụ trong Hội đồng", 45), ("Ghi chú", 25)],
            ["{{ r.num }}", "{{ r.full_name }}", "{{ r.position }}", "{{ r.role }}", "{{ r.note }}"],
            loop="r in members")
    return b.save()


def build_bien_ban() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header(date=False)
    b.title("BIÊN BẢN")
    b.body("{{ opening }}")
    b.body("Địa điểm: {{ venue }}.")
    b.body("Thành phần tham dự: {{ present_count }} thành viên Hội đồng có mặt.")
    b.loop("present_lines", "- {{ x }}")
    b.tag("{%p if absent_lines %}")
    b.body("Vắng mặt:")
    b.loop("absent_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.body("Chủ tọa: {{ chair_line }}; Thư ký: {{ secretary_line }}.")
    b.heading("NỘI DUNG")
    b.loop("agenda", "{{ x }}")
    b.subheading("Kết quả tự đánh giá theo từng nhóm tiêu chí")
    b.table([("Nhóm", 15), ("Tên nhóm tiêu chí", 80), ("Điểm tối đa", 22), ("Điểm đạt", 22), ("Mức", 18)],
            ["{{ r.group_code }}", "{{ r.group_name }}", "{{ r.max_points }}", "{{ r.points }}", "{{ r.level }}"],
            loop="r in group_results", size=12)
    b.tag("{%p if mandatory_lines %}")
    b.body("Tiêu chí bắt buộc:")
    b.loop("mandatory_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.tag("{%p if discussion %}")
    b.body("Ý kiến thảo luận:")
    b.loop("discussion", "- {{ x }}")
    b.tag("{%p endif %}")
    b.body(("Kết luận: ", {"bold": True}), "{{ conclusion }}")
    b.body("{{ vote_line }}")
    b.body("{{ closing_line }}")
    b.minutes_foot()
    return b.save()


def build_qd_phe_duyet() -> bytes:
    b = Builder()
    _decision(b)
    b.table([("Nhóm", 15), ("Tên nhóm tiêu chí", 80), ("Điểm tối đa", 22), ("Điểm đạt", 22), ("Mức", 18)],
            ["{{ r.group_code }}", "{{ r.group_name }}", "{{ r.max_points }}", "{{ r.points }}", "{{ r.level }}"],
            loop="r in group_results", size=12)
    b.tag("{%p for x in closing_articles %}")  # Điều 2, Điều 3 after the table: labels bold as Điều 1's
    b.para(("{{ x.label }}", {"bold": True}), " {{ x.text }}")
    b.tag("{%p endfor %}")
    b.foot()
    return b.save()


def build_to_trinh() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("TỜ TRÌNH")
    b.addressees()
    b.legal_bases()
    b.body("{{ summary }}")
    b.body("Kết quả tự đánh giá theo từng nhóm tiêu chí như sau:")
    b.table([("Nhóm", 15), ("Tên nhóm tiêu chí", 80), ("Điểm tối đa", 22), ("Điểm đạt", 22), ("Mức", 18)],
            ["{{ r.group_code }}", "{{ r.group_name }}", "{{ r.max_points }}", "{{ r.points }}", "{{ r.level }}"],
            loop="r in group_results", size=12)
    b.body("{{ request }}")
    b.tag("{%p if attachments %}")
    b.body("Hồ sơ kèm theo:")
    b.loop("attachments", "{{ x }}")
    b.tag("{%p endif %}")
    b.body("{{ closing }}")
    b.foot()
    return b.save()


def build_bao_cao() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("BÁO CÁO")
    b.addressees()
    b.heading("I. THÔNG TIN CHUNG")
    b.loop("profile_lines", "- {{ x }}")
    b.heading("II. TỔ CHỨC TỰ ĐÁNH GIÁ")
    b.loop("organisation", "{{ x }}")
    b.heading("III. KẾT QUẢ TỰ ĐÁNH GIÁ")
    b.table([("Mã", 14), ("Tiêu chí", 70), ("Điểm tối đa", 18), ("Điểm tự đánh giá", 20), ("Minh chứng", 40), ("Ghi chú", 20)],
            ["{{ r.code }}", "{{ r.name }}", "{{ r.max_points }}", "{{ r.points }}", "{{ r.evidence }}", "{{ r.note }}"],
            loop="r in g.rows", size=12, group="g in criteria_groups")
    b.loop("group_lines", "- {{ x }}")
    b.heading("IV. ĐÁNH GIÁ CHUNG")
    b.subheading("1. Điểm mạnh")
    b.loop("strengths", "- {{ x }}")
    b.subheading("2. Điểm yếu, nguyên nhân")
    b.loop("weaknesses", "- {{ x }}")
    b.heading("V. KẾ HOẠCH CẢI TIẾN")
    b.loop("improvements", "- {{ x }}")
    b.heading("VI. ĐỀ XUẤT, KIẾN NGHỊ")
    b.loop("proposals", "- {{ x }}")
    b.foot()
    return b.save()


def build_qd_doan_danh_gia() -> bytes:
    b = Builder()
    _decision(b)
    b.foot()
    b.annex("DANH SÁCH {{ team_name_upper }} VÀ LỊCH ĐÁNH GIÁ NGOÀI")
    b.subheading("1. Thành viên đoàn")
    b.table([("TT", 10), ("Họ và tên", 45), ("Chức vụ, đơn vị công tác", 65), ("Nhiệm vụ trong đoàn", 35)],
            ["{{ r.num }}", "{{ r.full_name }}", "{{ r.position }}", "{{ r.role }}"], loop="r in team_members")
    b.subheading("2. Lịch đánh giá ngoài")
    b.table([("TT", 10), ("Cơ sở giáo dục", 85), ("Ngày", 30), ("Buổi", 25)],
            ["{{ r.num }}", "{{ r.name }}", "{{ r.day }}", "{{ r.session }}"], loop="r in schools")
    return b.save()


def build_qd_cong_nhan() -> bytes:
    b = Builder()
    _decision(b)
    b.foot()
    b.annex("{{ annex_title }}", landscape=True)
    # «Mức độ» holds each group's level under 4725 («Nhóm 1: Mức 2; Nhóm 2: Mức 3»): wide enough for one per line
    b.table([("TT", 9), ("Tên cơ sở giáo dục", 50), ("Cấp học", 18), ("Xã/phường", 24), ("Điểm nhóm 1", 16),
             ("Mức nhóm 1", 14), ("Điểm nhóm 2", 16), ("Mức nhóm 2", 14), ("Mức độ", 28), ("Ghi chú", 20)],
            ["{{ r.num }}", "{{ r.school_name }}", "{{ r.education_level }}", "{{ r.commune }}", "{{ r.p1 }}",
             "{{ r.l1 }}", "{{ r.p2 }}", "{{ r.l2 }}", "{{ r.level }}", "{{ r.note }}"],
            loop="r in g.rows", size=12, group="g in recognition_groups")
    return b.save()


def build_giay_chung_nhan() -> bytes:
    """One landscape page, used whole: a long school name (`long_name`) is set smaller and the
    blocks closer, so that it never pushes the signature to a second page."""
    b = Builder(landscape=True)
    b.header()
    b.tag("{%p if long_name %}")
    b.centre("GIẤY CHỨNG NHẬN", size=28, bold=True, before=8)
    b.centre("{{ school_name }}", size=13, bold=True, before=6)
    b.tag("{%p else %}")
    b.centre("GIẤY CHỨNG NHẬN", size=32, bold=True, before=30)
    b.centre("{{ school_name }}", size=24, bold=True, before=18)
    b.tag("{%p endif %}")
    b.centre("{{ level_line }}", size=16, bold=True, before=12)
    b.tag("{%p for x in group_lines %}")
    b.centre("{{ x }}", size=14, bold=True, before=2)
    b.tag("{%p endfor %}")
    b.centre("{{ basis_line }}", italic=True, before=8)
    b.foot(left="{{ register_line }}")  # a certificate has no Nơi nhận
    return b.save()


def build_bia_ho_so() -> bytes:
    b = Builder()
    b.tag("{%p if parent_org %}")
    b.centre("{{ parent_org }}", size=14)
    b.tag("{%p endif %}")
    b.centre("{{ issuer }}", size=14, bold=True)
    b.rule(ISSUER_RULE)
    for _ in range(8):
        b.centre("")
    b.centre("{{ title }}", size=20, bold=True)  # two balanced lines: a lone «SỐ» never wraps alone
    b.centre("{{ title2 }}", size=20, bold=True)
    b.centre("{{ school_year_line }}", size=16, bold=True, before=12)
    b.tag("{%p if contents %}")
    b.centre("", before=24)
    b.loop("contents", "{{ x }}", align="left", indent=True)
    b.tag("{%p endif %}")
    for _ in range(8):
        b.centre("")
    b.centre("{{ month_year_line }}", bold=True)
    return b.save()


def build_cong_van_nhac() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header(vv=True)
    b.addressees()
    b.legal_bases()
    b.loop("paragraphs", "{{ x }}")
    b.tag("{%p if overdue %}")
    b.table([("TT", 10), ("Đơn vị", 95), ("Hạn", 30)], ["{{ r.num }}", "{{ r.name }}", "{{ r.due }}"],
            loop="r in overdue", size=12)
    b.tag("{%p endif %}")
    b.loop("sections.closing", "{{ x }}")
    b.foot()
    return b.save()


def build_ke_hoach_authority() -> bytes:
    """The authority's Kế hoạch (Ba Đình seed): every section is the officer's text, one paragraph a line."""
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("KẾ HOẠCH")
    b.legal_bases()  # căn cứ in italics, as on the school's Kế hoạch and every decision
    b.loop("sections.intro", "{{ x }}")
    b.heading("I. MỤC ĐÍCH, YÊU CẦU")
    b.subheading("1. Mục đích")
    b.loop("sections.purposes", "{{ x }}")
    b.subheading("2. Yêu cầu")
    b.loop("sections.requirements", "{{ x }}")
    b.heading("II. NHIỆM VỤ TRIỂN KHAI")
    b.loop("sections.tasks", "{{ x }}")
    b.heading("III. TỔ CHỨC THỰC HIỆN")
    b.subheading("{{ authority_label }}")
    b.loop("sections.authority_duties", "{{ x }}")
    b.subheading("{{ schools_label }}")
    b.loop("sections.school_duties", "{{ x }}")
    b.loop("sections.closing", "{{ x }}")
    b.foot()
    b.annex("{{ annex_title }}", label="PHỤ LỤC")
    b.table([("TT", 10), ("Nội dung", 70), ("Thời gian", 30), ("Sản phẩm", 45)],
            ["{{ r.num }}", "{{ r.content }}", "{{ r.when }}", "{{ r.output }}"],
            loop="r in g.rows", group="g in timeline_groups")
    return b.save()


def build_cong_van_trien_khai() -> bytes:
    """The authority's Công văn triển khai (Bắc Giang seed): V/v, Kính gửi, the sections, the link appendix."""
    b = Builder()
    b.page_numbers()
    b.header(vv=True)
    b.addressees()
    b.loop("legal_bases", "{{ x }}")  # a công văn's căn cứ read as its opening, upright (Bắc Giang)
    for key in ("intro", "content", "process", "requirements", "closing"):
        b.loop(f"sections.{key}", "{{ x }}")
    b.foot()
    b.annex("DANH SÁCH ĐƯỜNG LINK NỘP HỒ SƠ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ")
    b.loop("sections.links", "{{ x }}", align="left")
    return b.save()


# --- the papers of the review and of the report upward (contexts_review.py, contexts_reports.py) ---


def _signatures(b: Builder, columns: list[tuple[str, str]]) -> None:
    """A borderless row of signature blocks (title, space, name), kept with the last paragraph:
    the Biên bản kiểm tra is signed by the school, the team's secretary and its head."""
    b._keep_last_with_next()
    t = b.doc.add_table(rows=2, cols=len(columns))
    _no_borders(t)
    first = b.width * 0.4  # the school's title is the longest: one line each keeps the names level
    _fixed_widths(t, [first] + [(b.width - first) / (len(columns) - 1)] * (len(columns) - 1))
    _row_props(t.rows[0])
    for i, (title, name) in enumerate(columns):
        cell = t.cell(0, i)
        cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
        b.centre(title, bold=True, container=cell, before=12)
        for _ in range(4):
            b.centre("", container=cell)
        b.centre(name, bold=True, container=cell)
    left = t.cell(1, 0).merge(t.cell(1, len(columns) - 1))  # Mẫu 1.9: Nơi nhận underneath, on the left
    left.paragraphs[0]._p.getparent().remove(left.paragraphs[0]._p)
    b.para("Nơi nhận:", container=left, size=12, bold=True, italic=True, align="left", indent=False, before=12,
           single=True)
    b.loop("recipients", "{{ x }}", container=left, size=11, align="left", indent=False, before=0, single=True)
    b.para("{{ archive_line }}", container=left, size=11, align="left", indent=False, before=0, single=True)


def build_qd_ban_chi_dao() -> bytes:
    b = Builder()
    _decision(b)
    b.foot()
    b.annex("DANH SÁCH {{ group_name_upper }}", landscape=True)
    b.table([("TT", 9), ("Họ và tên", 40), ("Chức vụ", 36), ("Nhiệm vụ", 80), ("Email", 45), ("Điện thoại", 25)],
            ["{{ r.num }}", "{{ r.full_name }}", "{{ r.position }}", "{{ r.role }}", "{{ r.email }}", "{{ r.phone }}"],
            loop="r in members")
    return b.save()


def build_thong_bao() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("THÔNG BÁO")
    b.loop("sections.intro", "{{ x }}")
    b.table([("TT", 11), ("Họ và tên", 36), ("Chức vụ, đơn vị công tác", 40), ("Nhiệm vụ trong đoàn", 26),
             ("Nhiệm vụ được phân công", 54)],
            ["{{ r.num }}", "{{ r.full_name }}", "{{ r.position }}", "{{ r.role }}", "{{ r.duties }}"],
            loop="r in team_members")
    b.tag("{%p if schools %}")
    b.body("{{ schedule_line }}")
    b.table([("TT", 10), ("Cơ sở giáo dục", 85), ("Ngày", 30), ("Buổi", 25)],
            ["{{ r.num }}", "{{ r.name }}", "{{ r.day }}", "{{ r.session }}"], loop="r in schools")
    b.tag("{%p endif %}")
    b.loop("sections.closing", "{{ x }}")
    b.foot()
    return b.save()


def build_bien_ban_danh_gia_ngoai() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header(date=False)
    b.title("BIÊN BẢN")
    b.loop("sections.opening", "{{ x }}")
    b.heading("I. THÀNH PHẦN")
    b.subheading("1. Đoàn đánh giá ngoài")
    b.loop("team_lines", "- {{ x }}")
    b.tag("{%p if school_lines %}")
    b.subheading("2. Cơ sở giáo dục")
    b.loop("school_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.heading("II. NỘI DUNG KIỂM TRA, ĐÁNH GIÁ")
    b.loop("sections.content", "{{ x }}")
    b.table([("Mã", 12), ("Tiêu chí", 52), ("Điểm tối đa", 15), ("Tự đánh giá", 16), ("Đánh giá ngoài", 17),
             ("Chênh lệch", 15), ("Ghi chú của đoàn", 38)],
            ["{{ r.code }}", "{{ r.name }}", "{{ r.max_points }}", "{{ r.own }}", "{{ r.ext }}", "{{ r.diff }}",
             "{{ r.notes }}"], loop="r in g.rows", size=11, group="g in criteria_groups")
    b.subheading("Tổng hợp theo nhóm tiêu chí")
    b.table([("Nhóm", 13), ("Tên nhóm tiêu chí", 55), ("Điểm tối đa", 17), ("Tự đánh giá", 18), ("Mức", 16),
             ("Đánh giá ngoài", 18), ("Mức", 16)],
            ["{{ r.group_code }}", "{{ r.group_name }}", "{{ r.max_points }}", "{{ r.own }}", "{{ r.own_level }}",
             "{{ r.ext }}", "{{ r.ext_level }}"], loop="r in group_rows", size=11)
    b.tag("{%p if mandatory_lines %}")
    b.body("Tiêu chí bắt buộc (đánh giá ngoài):")
    b.loop("mandatory_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.heading("III. KẾT LUẬN")
    b.loop("sections.proposal", "{{ x }}")
    b.loop("sections.closing", "{{ x }}")
    _signatures(b, [("ĐẠI DIỆN NHÀ TRƯỜNG", "{{ school_head_name }}"), ("THƯ KÝ", "{{ secretary_name }}"),
                    ("TRƯỞNG ĐOÀN", "{{ head_name }}")])
    return b.save()


def build_danh_sach_de_nghi() -> bytes:
    b = Builder(landscape=True)
    b.page_numbers()
    b.header()
    b.title("DANH SÁCH")
    b.loop("sections.intro", "{{ x }}", size=14, italic=True, align="center", indent=False, before=0)
    b.para("", indent=False, before=0, size=6, single=True)
    b.table([("TT", 9), ("Tên cơ sở giáo dục", 62), ("Xã/phường", 30), ("Nhóm 1: tự đánh giá", 20),
             ("Nhóm 1: đánh giá ngoài", 20), ("Mức nhóm 1", 16), ("Nhóm 2: tự đánh giá", 20),
             ("Nhóm 2: đánh giá ngoài", 20), ("Mức nhóm 2", 16), ("Ghi chú", 25)],
            ["{{ r.num }}", "{{ r.school_name }}", "{{ r.commune }}", "{{ r.s1 }}", "{{ r.e1 }}", "{{ r.l1 }}",
             "{{ r.s2 }}", "{{ r.e2 }}", "{{ r.l2 }}", "{{ r.note }}"],
            loop="r in g.rows", size=12, group="g in proposal_groups")
    b.body("{{ total_line }}")
    b.foot()
    return b.save()


def build_danh_sach_ban_chi_dao() -> bytes:
    b = Builder(landscape=True)
    b.page_numbers()
    b.header()
    b.title("DANH SÁCH")
    b.centre("{{ intro }}", italic=True, before=0)
    b.para("", indent=False, before=0, size=6, single=True)
    b.table([("TT", 11), ("Họ và tên", 42), ("Chức vụ", 38), ("Vai trò, nhiệm vụ", 73), ("Email", 48), ("Điện thoại", 28)],
            ["{{ r.num }}", "{{ r.full_name }}", "{{ r.position }}", "{{ r.role }}", "{{ r.email }}", "{{ r.phone }}"],
            loop="r in g.rows", size=12, group="g in unit_groups")
    b.body("{{ total_line }}")
    b.tag("{%p if missing_lines %}")
    b.body("Đơn vị chưa có danh sách:")
    b.loop("missing_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.foot()
    return b.save()


def build_bao_cao_tong_hop() -> bytes:
    b = Builder()
    b.page_numbers()
    b.header()
    b.title("BÁO CÁO")
    b.addressees()
    b.loop("sections.intro", "{{ x }}")
    b.tag("{%p if work_lines %}")
    b.heading("I. CÔNG TÁC TRIỂN KHAI")
    b.loop("work_lines", "- {{ x }}")
    b.tag("{%p endif %}")
    b.heading("II. KẾT QUẢ ĐÁNH GIÁ")
    b.subheading("1. Số lượng cơ sở giáo dục")
    b.loop("total_lines", "- {{ x }}")
    b.subheading("2. Kết quả theo nhóm tiêu chí (số cơ sở giáo dục đã được công nhận)")
    b.table([("Nhóm", 14), ("Tên nhóm tiêu chí", 70), ("Mức 1", 17), ("Mức 2", 17), ("Mức 3", 17), ("Tổng số", 20)],
            ["{{ r.group_code }}", "{{ r.group_name }}", "{{ r.m1 }}", "{{ r.m2 }}", "{{ r.m3 }}", "{{ r.total }}"],
            loop="r in group_counts", size=12)
    b.subheading("3. Kết quả theo cấp học")
    b.table([("Cấp học", 40), ("Số cơ sở", 20), ("Đã công nhận", 22), ("{{ g1_label }}", 42), ("{{ g2_label }}", 42)],
            ["{{ r.label }}", "{{ r.schools }}", "{{ r.recognised }}", "{{ r.g1 }}", "{{ r.g2 }}"],
            loop="r in level_rows", size=12)
    b.subheading("4. Cơ sở giáo dục chưa được công nhận, chậm hạn")
    b.tag("{%p if pending %}")
    b.table([("TT", 10), ("Cơ sở giáo dục", 60), ("Giai đoạn hiện tại", 40), ("Chậm hạn", 55)],
            ["{{ r.num }}", "{{ r.name }}", "{{ r.stage }}", "{{ r.late }}"], loop="r in pending", size=12)
    b.tag("{%p else %}")
    b.body("Tất cả cơ sở giáo dục đã được công nhận.")
    b.tag("{%p endif %}")
    b.tag("{%p if proposals %}")
    b.heading("III. ĐỀ XUẤT, KIẾN NGHỊ")
    b.loop("proposals", "- {{ x }}")
    b.tag("{%p endif %}")
    b.loop("sections.closing", "{{ x }}")
    b.foot()
    b.annex("{{ annex_title }}", landscape=True)
    # «Mức độ» holds each group's level under 4725 («Nhóm 1: Mức 2; Nhóm 2: Mức 3»): wide enough for one per line
    b.table([("TT", 9), ("Tên cơ sở giáo dục", 50), ("Cấp học", 18), ("Xã/phường", 24), ("Điểm nhóm 1", 16),
             ("Mức nhóm 1", 14), ("Điểm nhóm 2", 16), ("Mức nhóm 2", 14), ("Mức độ", 28), ("Ghi chú", 20)],
            ["{{ r.num }}", "{{ r.school_name }}", "{{ r.education_level }}", "{{ r.commune }}", "{{ r.p1 }}",
             "{{ r.l1 }}", "{{ r.p2 }}", "{{ r.l2 }}", "{{ r.level }}", "{{ r.note }}"],
            loop="r in g.rows", size=12, group="g in recognition_groups")
    return b.save()


BUILDERS: dict[str, Callable[[], bytes]] = {
    "ke_hoach": build_ke_hoach,
    "qd_hoi_dong": build_qd_hoi_dong,
    "bien_ban": build_bien_ban,
    "qd_phe_duyet": build_qd_phe_duyet,
    "to_trinh": build_to_trinh,
    "bao_cao": build_bao_cao,
    "qd_doan_danh_gia": build_qd_doan_danh_gia,
    "qd_cong_nhan": build_qd_cong_nhan,
    "giay_chung_nhan": build_giay_chung_nhan,
    "bia_ho_so": build_bia_ho_so,
    "cong_van_nhac": build_cong_van_nhac,
    "ke_hoach_authority": build_ke_hoach_authority,
    "cong_van_trien_khai": build_cong_van_trien_khai,
    "qd_ban_chi_dao": build_qd_ban_chi_dao,
    "thong_bao": build_thong_bao,
    "bien_ban_danh_gia_ngoai": build_bien_ban_danh_gia_ngoai,
    "danh_sach_de_nghi": build_danh_sach_de_nghi,
    "bao_cao_tong_hop": build_bao_cao_tong_hop,
    "danh_sach_ban_chi_dao": build_danh_sach_ban_chi_dao,
}


def build_all(out_dir: Path = TEMPLATES_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for code, build in BUILDERS.items():
        path = out_dir / f"{code}.docx"
        path.write_bytes(build())
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in build_all(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES_DIR):
        print(f"{p} ({p.stat().st_size} B)")
