"""Signed copies and the dossier, entered where people enter: the school uploads the signed PDF of
its Tờ trình in the web (and a clerk at the command line), the register offers it, and the dossier
zip (read back: contents .docx, the signed bytes, the evidence file) carries it instead of the
generated paper. Refusals (not a PDF, not the issuer's side) store nothing."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from docx import Document
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from cdsflow.kernel.stages import Stage
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument, SignedCopy
from cdsflow.storage.schema import metadata
from tests.e2e.cli import Cli
from tests.papers_world import Walked, walk
from tests.web_support import build_world


def signed_pdf(pages: int = 1) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signed")
    engine = make_engine(f"sqlite:///{tmp / 'cds.db'}")
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    from cdsflow.services.indexsets import index_set_for_assessment

    with UnitOfWork(engine) as uow:
        w.criterion = next(iter(index_set_for_assessment(uow.session, w.p1s1).criteria))
    head = w.client("head")
    token = head.headers.pop("X-CSRF-Token")
    # An evidence file attached while the file is open, then the school walked to its proposal.
    r = head.post(f"/assessments/{w.p1s1}/evidence", files={"file": ("quy-che.pdf", signed_pdf(), "application/pdf")},
                  data={"csrf_token": token, "criterion": w.criterion, "title": "Quy chế CĐS"})
    assert r.status_code == 303, r.text
    with UnitOfWork(engine) as uow:
        from cdsflow.storage.tables import Assessment

        campaign_id = uow.session.get(Assessment, w.p1s1).campaign_id
    walk(engine, Walked(campaign_id, {"P1S1": w.p1s1}), "P1S1", Stage.PROPOSAL)
    w.tmp, w.school_campaign = tmp, campaign_id
    yield w
    engine.dispose()


def _count(engine) -> int:
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(func.count()).select_from(SignedCopy)).scalar_one()


def test_school_uploads_its_signed_paper_and_the_dossier_carries_it(world):
    head = world.client("head")
    r = head.post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "to_trinh"})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    token = head.headers.pop("X-CSRF-Token")
    url = f"/documents/{doc_id}/signed"
    # Not a PDF (a .docx renamed): refused by its bytes, nothing stored.
    r = head.post(url, data={"csrf_token": token}, files={"file": ("to-trinh.pdf", b"PK\x03\x04 docx", "application/pdf")})
    assert r.status_code == 422 and "không phải tệp PDF" in r.text and _count(world.engine) == 0
    # The bureau's clerk may not upload the school's own paper (the rulebook: the issuer's side).
    clerk = world.client("clerk")
    ctoken = clerk.headers.pop("X-CSRF-Token")
    r = clerk.post(url, data={"csrf_token": ctoken}, files={"file": ("x.pdf", signed_pdf(), "application/pdf")})
    assert r.status_code == 403 and "bản đã ký" in r.text and _count(world.engine) == 0
    scan = signed_pdf(pages=3)
    r = head.post(url, data={"csrf_token": token, "back": f"/assessments/{world.p1s1}/documents"},
                  files={"file": ("to-trinh-da-ky.pdf", scan, "application/pdf")})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=signed")
    page = head.get(f"/assessments/{world.p1s1}/documents")
    assert f'href="/documents/{doc_id}/signed.pdf"' in page.text and "Thay bản đã ký" in page.text
    got = world.client("officer").get(f"/documents/{doc_id}/signed.pdf")  # the bureau reads it
    assert got.status_code == 200 and got.content == scan
    assert world.client("head2").get(f"/documents/{doc_id}/signed.pdf").status_code == 404  # another school

    z = head.get(f"/assessments/{world.p1s1}/dossier.zip")
    assert z.status_code == 200
    with zipfile.ZipFile(io.BytesIO(z.content)) as zf:
        names = zf.namelist()
        assert names[0] == "00-muc-luc.docx"
        assert "02-to_trinh-ban-ky.pdf" in names and "02-to_trinh.docx" not in names  # the signed copy wins
        assert zf.read("02-to_trinh-ban-ky.pdf") == scan
        evidence = [n for n in names if n.startswith("minh-chung/")]
        assert len(evidence) == 1 and evidence[0].startswith(f"minh-chung/{world.criterion}-")
        assert zf.read(evidence[0]) == signed_pdf()
        toc = Document(io.BytesIO(zf.read("00-muc-luc.docx")))
    text = "\n".join(p.text for p in toc.paragraphs)
    rows = [[c.text for c in row.cells] for t in toc.tables for row in t.rows]
    assert "MỤC LỤC HỒ SƠ" in text and "Trường Tiểu học Số 1.1" in text
    with UnitOfWork(world.engine) as uow:
        number_line = uow.session.get(GeneratedDocument, doc_id).number_line
    assert rows[1][3:] == ["tạo mới", "01-bia_ho_so.docx"]  # the cover first
    assert any(r[1].startswith("Tờ trình") and r[2] == number_line.removeprefix("Số: ") and r[3] == "bản đã ký" for r in rows)
    assert any(r[1] == f"Tiêu chí {world.criterion}: Quy chế CĐS" and r[3] == evidence[0] for r in rows)  # the file
    assert any(r[3].startswith("https://example.edu.vn/minh-chung/") for r in rows)  # the links, listed
    assert "Báo cáo kết quả tự đánh giá" in text  # never issued: named under what is missing


def test_clerk_at_the_command_line_attaches_a_signed_copy_found_in_the_dossier(world, tmp_path):
    from cdsflow.services.papers import generate

    record, _ = generate(world.engine, "bao_cao", school_code="P1S1", campaign_id=world.school_campaign)
    cli = Cli(tmp_path, f"sqlite:///{world.tmp / 'cds.db'}")
    cli.env["CDSFLOW_HOME"] = str(world.tmp)  # the home whose uploads/ the web app of the world writes to
    (tmp_path / "not.pdf").write_bytes(b"GIF89a")
    done = cli("docs", "signed-copy", str(record.id), "not.pdf", "--by", "Văn thư", ok=False)
    assert done.returncode != 0 and "không phải tệp PDF" in done.stdout + done.stderr
    done = cli("docs", "signed-copy", str(record.id), "not.pdf", "--unit", "P1", ok=False)
    assert done.returncode != 0
    (tmp_path / "bc.pdf").write_bytes(signed_pdf(pages=2))
    done = cli("docs", "signed-copy", str(record.id), "bc.pdf", "--by", "Văn thư trường")
    assert "Đã gắn bản đã ký" in done.stdout
    out = cli("docs", "dossier", "--school", "P1S1", "--campaign", str(world.school_campaign), "--out", "hs.zip")
    assert "bản đã ký" in out.stdout
    with zipfile.ZipFile(tmp_path / "hs.zip") as zf:
        signed_name = next(n for n in zf.namelist() if n.endswith("-bao_cao-ban-ky.pdf"))
        assert len(PdfReader(io.BytesIO(zf.read(signed_name))).pages) == 2


@pytest.mark.libreoffice
def test_the_printed_dossier_binds_the_signed_copies_with_a_bookmark_each(world, tmp_path):
    import os
    import shutil

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        if os.environ.get("CI"):
            pytest.fail("CI cần LibreOffice (soffice)")
        pytest.skip("LibreOffice (soffice) chưa được cài")
    from cdsflow.services.papers import generate

    record, _ = generate(world.engine, "qd_phe_duyet", school_code="P1S1", campaign_id=world.school_campaign,
                         on_existing="new")
    cli = Cli(tmp_path, f"sqlite:///{world.tmp / 'cds.db'}")
    cli.env["CDSFLOW_HOME"] = str(world.tmp)
    (tmp_path / "qd.pdf").write_bytes(signed_pdf(pages=2))
    cli("docs", "signed-copy", str(record.id), "qd.pdf")
    cli("docs", "dossier", "--school", "P1S1", "--campaign", str(world.school_campaign), "--out", "hs.zip", "--pdf")
    with zipfile.ZipFile(tmp_path / "hs.zip") as zf:
        merged = PdfReader(io.BytesIO(zf.read("ho-so-P1S1.pdf")))
        signed_pages = sum(len(PdfReader(io.BytesIO(zf.read(n))).pages) for n in zf.namelist()
                           if n.endswith("-ban-ky.pdf") or n.startswith("minh-chung/"))
        converted = sum(len(PdfReader(io.BytesIO(zf.read(n))).pages) for n in zf.namelist()
                        if n.endswith(".pdf") and n[:2].isdigit() and not n.endswith("-ban-ky.pdf"))
        toc_pages = len(merged.pages) - signed_pages - converted
    titles = [o.title for o in merged.outline]
    assert titles[0] == "Mục lục" and toc_pages >= 1
    assert titles[1].startswith("Bìa hồ sơ") and titles[-1].startswith("Tiêu chí ")  # the evidence file last
    assert any(t.startswith("Quyết định") for t in titles) and signed_pages >= 2 + 1
    # The same bound PDF from the school's documents page (?pdf=1), for a clerk without the CLI.
    r = world.client("head").get(f"/assessments/{world.p1s1}/dossier.zip?pdf=1")
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        web_titles = [o.title for o in PdfReader(io.BytesIO(zf.read("ho-so-P1S1.pdf"))).outline]
    assert web_titles == titles


def test_uploads_are_recognised_by_their_content_not_their_name(world):
    head = world.client("head")
    with UnitOfWork(world.engine) as uow:  # the Tờ trình the first test issued
        doc_id = uow.session.execute(select(func.max(GeneratedDocument.id))
                                     .where(GeneratedDocument.doc_type == "to_trinh")).scalar_one()
    token = head.headers.pop("X-CSRF-Token")
    before = _count(world.engine)
    # A 14-byte file beginning %PDF: refused as a signed copy, with the reason.
    r = head.post(f"/documents/{doc_id}/signed", data={"csrf_token": token},
                  files={"file": ("ban-ky.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")})
    assert r.status_code == 422 and "không phải tệp PDF hợp lệ" in r.text and _count(world.engine) == before
    evidence = f"/assessments/{world.p1s1}/evidence"
    folder = world.app.state.uploads_dir / "evidence"
    stored = set(folder.iterdir())
    cases = [("ghi-chu.pdf", b"Day la mot tep van ban, khong phai PDF.\n", "không phải tệp PDF hợp lệ"),
             ("anh.png", b"\x89PNG\r\n\x1a\n" + b"0" * 40, "không phải tệp ảnh PNG hợp lệ"),
             ("anh.jpg", signed_pdf(), "không phải tệp ảnh JPEG hợp lệ"),
             ("bao-cao.docx", b"PK\x03\x04 not a package", "không phải tệp Word (.docx) hợp lệ"),
             ("bang.xlsx", _package("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
              "không phải bảng tính Excel")]
    for name, content, reason in cases:
        r = head.post(evidence, data={"csrf_token": token, "criterion": world.criterion, "title": "Giả"},
                      files={"file": (name, content, "application/octet-stream")})
        assert r.status_code == 422 and reason in r.text, (name, r.status_code, re.findall(r"Tệp «[^<]*", r.text))
    assert set(folder.iterdir()) == stored  # nothing left behind
    # What they say they are passes the same check (this file is past its proposal: no web upload here).
    from cdsflow.storage.filelimits import check_content

    for name, content in (("anh.png", _png()), ("scan.pdf", signed_pdf()), ("bang.xlsx", _package(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"))):
        (folder / name).write_bytes(content)
        check_content(folder / name)
        (folder / name).unlink()


def test_the_dossier_names_a_bad_stored_file_instead_of_failing(world, tmp_path):
    import shutil

    if shutil.which("soffice") is None and shutil.which("libreoffice") is None:
        pytest.skip("LibreOffice (soffice) chưa được cài")
    from datetime import UTC, datetime

    from cdsflow.storage.assessment_tables import EvidenceEntry

    # A file stored before uploads were checked (or damaged since): text behind a .pdf name.
    folder = world.app.state.uploads_dir / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cu-hong.pdf").write_bytes(b"%PDF-1.4 truncated")
    with UnitOfWork(world.engine) as uow:  # the row as an older release stored it (the file is locked now)
        entry = EvidenceEntry(assessment_id=world.p1s1, criterion_code=world.criterion, title="Biên bản cũ",
                              file_path="cu-hong.pdf", created_at=datetime.now(UTC))
        uow.session.add(entry)
        uow.commit()
        entry_id = entry.id
    try:
        r = world.client("head").get(f"/assessments/{world.p1s1}/dossier.zip?pdf=1")
        assert r.status_code == 200, r.text[:500]
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            toc = Document(io.BytesIO(zf.read("00-muc-luc.docx")))
            merged = PdfReader(io.BytesIO(zf.read("ho-so-P1S1.pdf")))
        text = "\n".join(p.text for p in toc.paragraphs) + "\n".join(
            c.text for t in toc.tables for row in t.rows for c in row.cells)
        assert "Tệp minh chứng «Biên bản cũ»" in text and "tệp hỏng" in text
        assert all("Biên bản cũ" not in o.title for o in merged.outline)
    finally:
        with UnitOfWork(world.engine) as uow:
            uow.session.delete(uow.session.get(EvidenceEntry, entry_id))
            uow.commit()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, "PNG")
    return buf.getvalue()


def _package(main_type: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", f'<Types><Override PartName="/x.xml" ContentType="{main_type}"/></Types>')
        zf.writestr("x.xml", "<x/>")
    return buf.getvalue()
