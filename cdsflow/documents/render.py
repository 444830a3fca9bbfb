"""Rendering contexts into .docx bytes.

Two paths that must give the same document text:
- `render_reference`: plain docxtpl, a new DocxTemplate per render (the library's own behaviour);
- `CompiledTemplate`: the template's XML parts are patched and compiled by Jinja once, and each
  render only re-renders those parts and re-zips (about 10× faster, see bench/bench_documents.py).
Autoescaping is always on: "GD&ĐT" or "<" in a school's name must not break the file.
Zip entries carry a fixed timestamp so that the same context gives the same bytes.
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from functools import cache
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment, StrictUndefined, meta
from lxml import etree

from cdsflow.documents.build_templates import FIXED_ZIP_TIME, TEMPLATES_DIR, repack
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import xml_invalid

_PART = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_JINJA = re.compile(r"\{[{%#]")


def jinja_env() -> Environment:
    # StrictUndefined: a context missing a field is a bug to report, not an empty line to print.
    return Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


def template_path(code: str, templates_dir: Path = TEMPLATES_DIR) -> Path:
    path = templates_dir / f"{code}.docx"
    if not path.exists():
        raise NotFound(f"Không có mẫu văn bản cho loại «{code}»", details=[str(path)])
    return path


def template_hash(code: str, templates_dir: Path = TEMPLATES_DIR) -> str:
    return hashlib.sha256(template_path(code, templates_dir).read_bytes()).hexdigest()


def render_reference(path: Path, context: dict) -> bytes:
    """Plain docxtpl: construct, render with autoescape, save; zip repacked for stable bytes."""
    tpl = DocxTemplate(str(path))
    tpl.render(context, jinja_env(), autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return repack(buf.getvalue())


class CompiledTemplate:
    """A template whose Jinja parts are compiled once; `render` only re-renders those parts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        self._tpl = DocxTemplate(str(path))  # only to reuse docxtpl's tag patching (patch_xml)
        env = jinja_env()
        self._members: list[tuple[str, bytes | None]] = []
        self._compiled = {}
        self.variables: set[str] = set()  # the context keys the template prints (a paper without căn cứ: none)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                raw = zf.read(info.filename)
                if _PART.match(info.filename) and _JINJA.search(raw.decode("utf-8")):
                    xml = etree.tostring(etree.fromstring(raw), encoding="unicode")
                    xml = self._tpl.patch_xml(xml)
                    # same trick as docxtpl.render_xml_part: a newline before each paragraph
                    xml = re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)
                    self._compiled[info.filename] = env.from_string(xml)
                    self.variables |= meta.find_undeclared_variables(env.parse(xml))
                    self._members.append((info.filename, None))
                else:
                    self._members.append((info.filename, raw))

    def render(self, context: dict) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, raw in self._members:
                if raw is None:
                    xml = self._compiled[name].render(context)
                    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
                    if (bad := xml_invalid(xml)) is not None:  # refuse rather than write a file Word rejects
                        raise InvalidInput(f"Không lập được văn bản: dữ liệu chứa ký tự U+{ord(bad):04X} "
                                           "không được phép trong tệp Word; hãy sửa dữ liệu rồi lập lại")
                    raw = ("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n" + xml).encode("utf-8")
                zi = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(zi, raw)
        return out.getvalue()


@cache
def compiled(code: str, templates_dir: Path = TEMPLATES_DIR) -> CompiledTemplate:
    """One compiled template per type and process (workers compile on first use)."""
    return CompiledTemplate(template_path(code, templates_dir))


def render(code: str, context: dict, *, expected_hash: str | None = None) -> bytes:
    """The project's path. `expected_hash` guards re-production: same template or refuse."""
    tpl = compiled(context.get("template") or code)  # a type may print in a variant (the authority's plan)
    if expected_hash and expected_hash != tpl.sha256:
        raise InvalidInput(
            f"Mẫu văn bản «{code}» đã thay đổi kể từ khi văn bản được tạo: không thể tạo lại đúng từng byte",
            details=[f"mẫu lúc tạo: {expected_hash[:12]}…", f"mẫu hiện tại: {tpl.sha256[:12]}…"],
        )
    return tpl.render(context)
