"""A label typed as a formula comes out of every workbook we write as text, never as a live formula."""
from __future__ import annotations

import zipfile

from openpyxl import load_workbook

from cdsflow.assessment.loader import SHIPPED_DIR
from tests.e2e.cli import Cli

EVIL = '=HYPERLINK("http://203.0.113.9/x","Bấm vào đây")'


def _hostile_index_set(tmp_path):
    text = (SHIPPED_DIR / "4725.yaml").read_text(encoding="utf-8")
    first = text.index('label: "')
    end = text.index('"\n', first + 8)
    hostile = text[:first] + "label: '" + EVIL.replace("'", "''") + "'" + text[end + 1:]
    path = tmp_path / "doc-hai.yaml"
    path.write_text(hostile, encoding="utf-8")
    return path


def _no_formula(path):
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    wb = load_workbook(path)  # not data_only: a formula would come back as data_type "f"
    found = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value == EVIL]
    assert found and all(c.data_type == "s" and c.quotePrefix for c in found)


def test_answer_form_and_index_set_template_carry_the_label_as_text(tmp_path):
    cli = Cli(tmp_path)
    source = _hostile_index_set(tmp_path)
    cli("indexset", "check", str(source))
    cli("score", "form", str(source), "phieu.xlsx")
    _no_formula(tmp_path / "phieu.xlsx")
    cli("indexset", "template", "mau.xlsx", "--from", str(source))
    _no_formula(tmp_path / "mau.xlsx")
    # The template still reads back (the text is kept exactly as written).
    cli("indexset", "check", "mau.xlsx")
