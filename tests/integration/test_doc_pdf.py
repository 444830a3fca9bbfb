"""PDF through LibreOffice headless (CI installs it); a clear message when it is missing."""
import shutil
import zipfile
from datetime import date

import pytest

from cdsflow.documents.pdf import PdfUnavailable, merge_pdfs, to_pdf, to_pdf_parallel
from cdsflow.documents.render import render
from cdsflow.documents.samples import sample_context
from cdsflow.services import dossier as dossier_svc
from cdsflow.services import papers as service

# The `libreoffice` marker skips without soffice on a developer's machine and fails under CI (conftest).
needs_soffice = pytest.mark.libreoffice


@pytest.mark.libreoffice
@needs_soffice
def test_documents_convert_to_a4_pdf_and_merge(tmp_path):
    from pypdf import PdfReader

    files = []
    for code in ("qd_hoi_dong", "to_trinh"):
        path = tmp_path / f"{code}.docx"
        path.write_bytes(render(code, sample_context(code)))
        files.append(path)
    pdfs = to_pdf(files, tmp_path / "pdf", timeout=180)
    first = PdfReader(pdfs[0])
    width, height = float(first.pages[0].mediabox.width), float(first.pages[0].mediabox.height)
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
    assert len(first.pages) == 2  # decision + its annex on a new page
    merged = merge_pdfs(pdfs, tmp_path / "all.pdf")
    assert len(PdfReader(merged).pages) == sum(len(PdfReader(p).pages) for p in pdfs)


@pytest.mark.libreoffice
@needs_soffice
def test_dossier_with_merged_pdf(sqlite_engine, tmp_path):
    from cdsflow.kernel.stages import Stage
    from tests.papers_world import launch, walk

    w = launch(sqlite_engine, schools=1)
    walk(sqlite_engine, w, "P1S1", Stage.PROPOSAL)
    service.generate(sqlite_engine, "to_trinh", school_code="P1S1", issued_on=date(2025, 4, 1))
    result = dossier_svc.build_dossier(sqlite_engine, "P1S1", w.campaign_id, tmp_path / "hs.zip", pdf=True,
                                   timeout=180)
    names = zipfile.ZipFile(result.path).namelist()
    assert "ho-so-P1S1.pdf" in names and "02-to_trinh.pdf" in names


def test_missing_libreoffice_gives_a_vietnamese_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no soffice anywhere
    with pytest.raises(PdfUnavailable) as err:
        to_pdf([tmp_path / "x.docx"], tmp_path)
    assert "Không tìm thấy LibreOffice" in str(err.value)


@pytest.mark.libreoffice
@needs_soffice
def test_two_libreoffice_workers_with_their_own_profiles(tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"bia-{i}.docx"
        path.write_bytes(render("bia_ho_so", sample_context("bia_ho_so")))
        files.append(path)
    pdfs = to_pdf_parallel(files, tmp_path / "pdf", workers=2, timeout=180)
    assert [p.exists() for p in pdfs] == [True] * 4


@pytest.mark.libreoffice
def test_a_certificate_stays_on_one_page_whatever_the_schools_name(tmp_path):
    import os

    from pypdf import PdfReader

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        if os.environ.get("CI"):
            pytest.fail("CI cần LibreOffice (soffice) để kiểm tra bố cục giấy chứng nhận")
        pytest.skip("LibreOffice (soffice) chưa được cài")
    files = []
    for hostile in (False, True):  # a 200-character name with & and < in it
        path = tmp_path / f"gcn-{int(hostile)}.docx"
        path.write_bytes(render("giay_chung_nhan", sample_context("giay_chung_nhan", hostile=hostile)))
        files.append(path)
    for pdf in to_pdf(files, tmp_path / "pdf", timeout=180):
        assert len(PdfReader(pdf).pages) == 1, pdf.name


def _unique_docx(path, text: str):
    """A .docx no other test converted (the cache is keyed by content)."""
    import uuid

    from docx import Document

    doc = Document()
    doc.add_paragraph(f"{text} · {uuid.uuid4()}")
    doc.save(path)
    return path


@pytest.mark.libreoffice
def test_warm_converter_caches_by_content_and_restarts_when_killed(tmp_path):
    import os
    import signal

    from pypdf import PdfReader

    from cdsflow.documents.converter import pool
    from cdsflow.documents.pdf import cache_path, content_key, soffice

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        if os.environ.get("CI"):
            pytest.fail("CI cần LibreOffice (soffice)")
        pytest.skip("LibreOffice (soffice) chưa được cài")
    a = _unique_docx(tmp_path / "a.docx", "Quyết định thành lập Hội đồng")
    first = to_pdf([a], tmp_path / "1", timeout=180)[0]
    converter = pool(1, soffice())[0]
    converted, starts, pid = converter.converted, converter.starts, converter.pid()
    assert pid is not None and PdfReader(first).pages[0].extract_text().startswith("Quyết định")
    # The same content under another name: served from the cache, LibreOffice not asked.
    same = tmp_path / "same.docx"
    same.write_bytes(a.read_bytes())
    again = to_pdf([same], tmp_path / "2")[0]
    assert converter.converted == converted and again.read_bytes() == first.read_bytes()
    assert cache_path(content_key(a.read_bytes())).read_bytes() == first.read_bytes()
    # LibreOffice dies (a crash, the OOM killer): the next paper starts a fresh one and converts.
    os.killpg(pid, signal.SIGKILL)
    converter.proc.wait(timeout=10)
    b = _unique_docx(tmp_path / "b.docx", "Tờ trình")
    out = to_pdf([b], tmp_path / "3", timeout=180)[0]
    assert "Tờ trình" in PdfReader(out).pages[0].extract_text()
    assert converter.starts == starts + 1 and converter.pid() not in (None, pid)


OWNER_SCRIPT = """
import sys
from pathlib import Path
from cdsflow.documents.converter import pool
from cdsflow.documents.pdf import soffice, to_pdf
to_pdf([Path(sys.argv[1])], Path(sys.argv[2]), timeout=180)
print(pool(1, soffice())[0].pid(), flush=True)
sys.stdin.read()  # stays up, its LibreOffice warm, until killed
"""


@pytest.mark.libreoffice
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_the_warm_libreoffice_ends_with_the_process_that_started_it(tmp_path, how):
    """`serve` or `worker` stopped (run.sh's Ctrl+C, systemd's stop, or a kill) leaves no LibreOffice."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        if os.environ.get("CI"):
            pytest.fail("CI cần LibreOffice (soffice)")
        pytest.skip("LibreOffice (soffice) chưa được cài")
    docx = _unique_docx(tmp_path / "a.docx", "Quyết định")
    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT, str(docx), str(tmp_path / "out")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        lo_group = int(owner.stdout.readline())
        os.killpg(lo_group, 0)  # alive while its owner is
        owner.send_signal(getattr(signal, how))
        owner.wait(timeout=30)
        deadline = time.monotonic() + 30  # the macro looks every 100 ms; LibreOffice takes a moment to quit
        while time.monotonic() < deadline:
            try:
                os.killpg(lo_group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(lo_group, signal.SIGKILL)
            raise AssertionError(f"LibreOffice (nhóm {lo_group}) vẫn chạy sau khi tiến trình sở hữu dừng ({how})")
    finally:
        if owner.poll() is None:
            owner.kill()
