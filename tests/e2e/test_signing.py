"""Digital signatures (issue 27), as a newcomer, a ward officer, a clerk and a school meet them:
`cdsflow demo` signs its decision with a throw-away certificate; `cdsflow signing verify` reports it
intact and names the signer, and broken after one byte changes; the officer signs another paper on
the web and the register says «đã ký số: …, hợp lệ»; a school that signs its own paper sees it
counted for criterion 2.5 on its scoring page. Real processes, a real SQLite file, LibreOffice."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select
from typer.testing import CliRunner

from cdsflow.app.cli import AREAS, app
from cdsflow.app.web.app import create_app
from cdsflow.documents.demo_ca import demo_signature_png, make_test_identity
from cdsflow.services import papers
from cdsflow.services.accounts import DEMO_ACCOUNTS
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument, SignedCopy
from cdsflow.storage.signing_tables import SignatureCheck, SigningIdentity
from cdsflow.storage.tables import Assessment, CommitteeMember, Unit

pytestmark = pytest.mark.libreoffice
WARD = "DEMO-PGD-BD"
PASSWORDS = {u: pw for u, _, _, _, pw in DEMO_ACCOUNTS}


@dataclass
class World:
    home: Path
    url: str


def _cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDSFLOW_HOME": str(home), "COLUMNS": "200", **extra}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "cdsflow", *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    home = tmp_path_factory.mktemp("home")
    for step in (("init",), ("demo",)):
        done = _cli(home, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "Ký số Quyết định số 01/QĐ-VHXH" in done.stdout and "hợp lệ" in done.stdout
    return World(home, f"sqlite:///{home / 'cdsflow.db'}")


@pytest.fixture
def runner(world, monkeypatch) -> CliRunner:
    monkeypatch.setenv("CDSFLOW_HOME", str(world.home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    if not any(g.name == "signing" for g in app.registered_groups):
        for area in AREAS:
            area.register(app)
    return CliRunner()


def _signed_file(world: World, doc_type: str) -> Path:
    with UnitOfWork(make_engine(world.url)) as uow:
        copy = uow.session.execute(
            select(SignedCopy).join(GeneratedDocument, GeneratedDocument.id == SignedCopy.document_id)
            .where(GeneratedDocument.doc_type == doc_type).order_by(SignedCopy.id.desc())).scalars().first()
    assert copy is not None, f"no signed copy of {doc_type}"
    return world.home / "uploads" / "signed" / copy.file_path


def test_the_demo_decision_is_signed_pades_and_verify_names_the_signer(world, runner, tmp_path):
    signed = _signed_file(world, "qd_cong_nhan")
    sig = PdfFileReader(signed.open("rb")).embedded_signatures[0]
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES, not the older PKCS#7 kind
    result = runner.invoke(app, ["signing", "verify", str(signed), "--unit", WARD])
    assert result.exit_code == 0, result.output
    assert "đã ký số: Lê Thị Thu Hà" in result.output and "hợp lệ" in result.output
    broken = bytearray(signed.read_bytes())
    broken[len(broken) // 2] ^= 0x01
    (tmp_path / "sua.pdf").write_bytes(bytes(broken))
    result = runner.invoke(app, ["signing", "verify", str(tmp_path / "sua.pdf"), "--unit", WARD])
    assert result.exit_code == 1
    assert "không hợp lệ (nội dung đã bị thay đổi sau khi ký)" in result.output
    # Another unit that does not trust the demo's test CA says so instead of "hợp lệ".
    result = runner.invoke(app, ["signing", "verify", str(signed), "--unit", "DEMO-SGD-HN"])
    assert result.exit_code == 1 and "không thuộc danh sách tin cậy" in result.output


def _login(app_, username: str) -> TestClient:
    c = TestClient(app_)
    r = c.post("/api/login", json={"username": username, "password": PASSWORDS[username]})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def test_officer_signs_on_the_web_and_the_register_says_so(world, monkeypatch):
    # The web app runs on the demo's data home: the certificate's passphrase is sealed with its key.
    monkeypatch.setenv("CDSFLOW_HOME", str(world.home))
    engine = make_engine(world.url)
    record = papers.generate(engine, "qd_doan_danh_gia", campaign_id=1, actor="Văn thư")[0]
    web = create_app(engine, uploads_dir=world.home / "uploads")
    officer = _login(web, "chuyenvien")
    page = officer.get("/documents")
    assert f'action="/documents/{record.id}/sign"' in page.text
    assert "đã ký số: Lê Thị Thu Hà" in page.text  # the demo's decision, checked when it was stored
    clerk = _login(web, "vanthu")  # a clerk files signed copies but does not sign
    assert f'action="/documents/{record.id}/sign"' not in clerk.get("/documents").text
    assert clerk.post(f"/documents/{record.id}/sign", data={"back": "/documents"}).status_code == 403
    done = officer.post(f"/documents/{record.id}/sign", data={"back": "/documents"}, follow_redirects=False)
    assert done.status_code == 303, done.text and "done=signed_digital" in done.headers["location"]
    page = officer.get("/documents?done=signed_digital")
    assert "Đã ký số văn bản" in page.text
    with UnitOfWork(engine) as uow:
        copy = uow.session.execute(select(SignedCopy).where(SignedCopy.document_id == record.id)).scalar_one()
        check = uow.session.execute(select(SignatureCheck).where(SignatureCheck.subject_id == copy.id)).scalar_one()
    assert check.valid and check.signer == "Lê Thị Thu Hà"
    assert check.label in page.text
    pdf = officer.get(f"/documents/{record.id}/signed.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_school_signs_its_minutes_and_criterion_2_5_counts_it(world, runner, tmp_path, monkeypatch):
    engine = make_engine(world.url)
    with UnitOfWork(engine) as uow:
        code, aid, school_id = uow.session.execute(
            select(Unit.code, Assessment.id, Unit.id).join(Assessment, Assessment.school_id == Unit.id)
            .where(Assessment.state == "published").order_by(Unit.code)).first()
        name = uow.session.execute(select(CommitteeMember.full_name).where(
            CommitteeMember.assessment_id == aid, CommitteeMember.role == "chair")).scalar_one()
    # The council's minutes: a paper of the school's own, bound in its dossier (the calendar's order).
    record = papers.generate(engine, "bien_ban", school_code=code, actor="Văn thư")[0]
    # Before the school has a certificate, signing is refused with the reason; nothing is stored.
    refused = _cli(world.home, "signing", "sign", str(record.id), "--by", name)
    assert refused.returncode != 0 and "chưa có chứng thư số" in refused.stdout + refused.stderr
    ident = make_test_identity(name, code)
    (tmp_path / "ks.p12").write_bytes(ident.p12)
    (tmp_path / "root.pem").write_bytes(ident.root_pem)
    (tmp_path / "chuky.png").write_bytes(demo_signature_png())
    wrong = _cli(world.home, "signing", "identity", code, str(tmp_path / "ks.p12"), "--by", name,
                 CDSFLOW_P12_PASSWORD="sai mật khẩu")
    assert wrong.returncode != 0 and "sai mật khẩu" in wrong.stdout + wrong.stderr
    with UnitOfWork(engine) as uow:
        assert uow.session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == school_id)).first() is None
    monkeypatch.setenv("CDSFLOW_P12_PASSWORD", ident.passphrase)
    for args in (["identity", code, str(tmp_path / "ks.p12")], ["trust", code, str(tmp_path / "root.pem")],
                 ["image", code, str(tmp_path / "chuky.png"), "--kind", "signature", "--signer", name]):
        done = runner.invoke(app, ["signing", *args, "--by", name])
        assert done.exit_code == 0, done.output
    with UnitOfWork(engine) as uow:  # the passphrase is sealed, never stored as typed
        stored = uow.session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == school_id)).scalar_one()
        assert ident.passphrase not in stored.passphrase_sealed
    signed = runner.invoke(app, ["signing", "sign", str(record.id), "--by", name])
    assert signed.exit_code == 0, signed.output
    assert f"đã ký số: {name}" in signed.output and "hợp lệ" in signed.output
    web = create_app(engine, uploads_dir=world.home / "uploads")
    page = _login(web, "chuyenvien").get(f"/assessments/{aid}/scores")
    assert page.status_code == 200
    assert "1 văn bản có chữ ký số hợp lệ" in page.text
    assert "mục này phù hợp với: «Văn bản, hồ sơ điện tử có chữ ký số»" in page.text


def test_signed_evidence_and_the_dossier_say_whose_signature_holds(world, monkeypatch):
    """A school attaches the ward's signed decision as evidence: the scoring page says whose signature
    it carries and that it holds (the ward above it trusts that root); the dossier of a school with a
    digitally signed paper names the signature in its contents."""
    import io
    import zipfile

    from docx import Document

    monkeypatch.setenv("CDSFLOW_HOME", str(world.home))
    engine = make_engine(world.url)
    web = create_app(engine, uploads_dir=world.home / "uploads")
    head = _login(web, "hieutruong")
    aid = head.get("/api/me").json().get("assessment_id") or _own_assessment(engine, head)
    signed = _signed_file(world, "qd_cong_nhan").read_bytes()
    r = head.post(f"/assessments/{aid}/evidence", data={"criterion": "2.5", "title": "Quyết định đã ký số"},
                  files={"file": ("qd-ky-so.pdf", signed, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = head.get(f"/assessments/{aid}/scores")
    assert "đã ký số: Lê Thị Thu Hà" in page.text and "hợp lệ" in page.text
    # The dossier of the school whose report was signed in the previous test.
    officer = _login(web, "chuyenvien")
    with UnitOfWork(engine) as uow:
        school_aid = uow.session.execute(
            select(Assessment.id).join(GeneratedDocument, GeneratedDocument.school_id == Assessment.school_id)
            .join(SignedCopy, SignedCopy.document_id == GeneratedDocument.id)
            .where(GeneratedDocument.doc_type == "bien_ban")).scalars().first()
    assert school_aid is not None
    z = zipfile.ZipFile(io.BytesIO(officer.get(f"/assessments/{school_aid}/dossier.zip").content))
    contents = Document(io.BytesIO(z.read("00-muc-luc.docx")))
    cells = [c.text for t in contents.tables for row in t.rows for c in row.cells]
    assert any("bản đã ký (đã ký số:" in c and "hợp lệ" in c for c in cells), " | ".join(cells)


def _own_assessment(engine, client) -> int:
    me = client.get("/api/me").json()
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(Assessment.id).join(Unit, Unit.id == Assessment.school_id)
                                   .where(Unit.name == me["unit_name"])).scalar_one()
