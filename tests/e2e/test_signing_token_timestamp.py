"""Signed papers beyond a PKCS#12 file (issue 27): a school whose key lives on a PKCS#11 token
(SoftHSM2, a real software token) signs its minutes through `cdsflow signing`; a ward whose
signatures carry a timestamp from a timestamp server and the CA's CRL (PAdES B-T / B-LT) signs a
decision, `cdsflow signing verify` and the register say «có dấu thời gian …, hợp lệ». The
timestamp server and the CRL are served on 127.0.0.1 by the test (tests/signing_servers.py).
Real processes (the `cdsflow` entry point), a real SQLite file, LibreOffice."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import pem
from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from cdsflow.app.web.app import create_app
from cdsflow.documents.demo_ca import make_test_crl, make_test_identity, make_test_tsa
from cdsflow.services import papers
from cdsflow.services.accounts import DEMO_ACCOUNTS
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import SignedCopy
from cdsflow.storage.signing_tables import SignatureCheck, SigningIdentity
from cdsflow.storage.tables import Assessment, CommitteeMember, Unit
from tests.conftest import softhsm_module
from tests.signing_servers import ca_server

pytestmark = pytest.mark.libreoffice
WARD, WARD_SIGNER = "DEMO-PGD-BD", "Lê Thị Thu Hà"
PASSWORDS = {u: pw for u, _, _, _, pw in DEMO_ACCOUNTS}
PIN = "246810"


@dataclass
class World:
    home: Path
    url: str


def _cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CDSFLOW_HOME": str(home), "COLUMNS": "200", **extra}
    for name in ("DATABASE_URL", "CDSFLOW_TSA_URL", "CDSFLOW_P12_PASSWORD", "CDSFLOW_PKCS11_PIN"):
        if name not in extra:
            env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "cdsflow", *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    home = tmp_path_factory.mktemp("home")
    for step in (("init",), ("demo",)):
        done = _cli(home, *step)
        assert done.returncode == 0, done.stdout + done.stderr
    return World(home, f"sqlite:///{home / 'cdsflow.db'}")


def _signed_copy(world: World, document_id: int) -> tuple[Path, SignatureCheck]:
    with UnitOfWork(make_engine(world.url)) as uow:
        copy = uow.session.execute(select(SignedCopy).where(SignedCopy.document_id == document_id)
                                   .order_by(SignedCopy.id.desc())).scalars().first()
        assert copy is not None, f"no signed copy of paper {document_id}"
        check = uow.session.execute(select(SignatureCheck).where(SignatureCheck.subject_kind == "signed_copy",
                                                                 SignatureCheck.subject_id == copy.id)).scalar_one()
    return world.home / "uploads" / "signed" / copy.file_path, check


# --- a PKCS#11 token -----------------------------------------------------------------------------

# Run in a process of its own: a PKCS#11 module reads SOFTHSM2_CONF once, when it is first loaded.
_PUT_ON_TOKEN = textwrap.dedent("""
    import sys
    import pkcs11
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from pkcs11 import Attribute, CertificateType, ObjectClass
    module, label, pin, key_label, cert_file = sys.argv[1:]
    cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
    token = pkcs11.lib(module).get_token(token_label=label)
    with token.open(rw=True, user_pin=pin) as session:
        session.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.TOKEN: True,
                               Attribute.CERTIFICATE_TYPE: CertificateType.X_509, Attribute.LABEL: key_label,
                               Attribute.ID: b"\\x01", Attribute.SUBJECT: cert.subject.public_bytes(),
                               Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER)})
""")


def _softhsm_token(tmp: Path, label: str, key_label: str, key_pem: bytes, cert_pem: bytes) -> dict[str, str]:
    """A SoftHSM2 token in `tmp` holding the signer's key and certificate under `key_label`; the
    environment that finds it."""
    (tmp / "tokens").mkdir()
    (tmp / "softhsm2.conf").write_text(f"directories.tokendir = {tmp / 'tokens'}\nobjectstore.backend = file\n"
                                       "log.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(tmp / "softhsm2.conf")}
    (tmp / "key.pem").write_bytes(key_pem)
    (tmp / "cert.pem").write_bytes(cert_pem)
    for args in (["--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "13579111"],
                 ["--import", str(tmp / "key.pem"), "--token", label, "--label", key_label, "--id", "01",
                  "--pin", PIN]):
        done = subprocess.run(["softhsm2-util", *args], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-c", _PUT_ON_TOKEN, str(softhsm_module()), label, PIN, key_label,
                           str(tmp / "cert.pem")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp / "key.pem").unlink()  # the key is on the token only, as on a real one
    return {"SOFTHSM2_CONF": env["SOFTHSM2_CONF"]}


@pytest.mark.softhsm
def test_a_school_signs_with_its_pkcs11_token_through_the_cli(world, tmp_path):
    engine = make_engine(world.url)
    with UnitOfWork(engine) as uow:
        code, aid, school_id = uow.session.execute(
            select(Unit.code, Assessment.id, Unit.id).join(Assessment, Assessment.school_id == Unit.id)
            .where(Assessment.state == "published").order_by(Unit.code)).first()
        name = uow.session.execute(select(CommitteeMember.full_name).where(
            CommitteeMember.assessment_id == aid, CommitteeMember.role == "chair")).scalar_one()
    ident = make_test_identity(name, code)
    token = _softhsm_token(tmp_path, "truong-ky-so", "khoa-ky", ident.signer_key_pem, ident.signer_cert_pem)
    (tmp_path / "root.pem").write_bytes(ident.root_pem)
    module = str(softhsm_module())
    token_args = ["signing", "identity", code, "--pkcs11-module", module, "--token-label", "truong-ky-so",
                  "--key-label", "khoa-ky", "--by", name]

    # A wrong PIN, a label the token does not hold: refused with the reason, nothing stored.
    wrong = _cli(world.home, *token_args, CDSFLOW_PKCS11_PIN="000000", **token)
    assert wrong.returncode != 0 and "sai mã PIN" in wrong.stdout + wrong.stderr
    missing = _cli(world.home, *token_args[:-4], "--key-label", "khong-co", "--by", name,
                   CDSFLOW_PKCS11_PIN=PIN, **token)
    assert missing.returncode != 0 and "không có khóa và chứng thư số mang nhãn «khong-co»" in missing.stderr
    with UnitOfWork(engine) as uow:
        assert uow.session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == school_id)).first() is None

    done = _cli(world.home, *token_args, CDSFLOW_PKCS11_PIN=PIN, **token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Đã lưu chứng thư số của «{name}» trên thiết bị ký số «truong-ky-so»" in done.stdout
    assert _cli(world.home, "signing", "trust", code, str(tmp_path / "root.pem"), "--by", name).returncode == 0
    with UnitOfWork(engine) as uow:  # no key in the database: the token's address and the sealed PIN
        stored = uow.session.execute(select(SigningIdentity).where(SigningIdentity.unit_id == school_id)).scalar_one()
        assert stored.p12 == b"" and stored.pkcs11_module == module and stored.key_label == "khoa-ky"
        assert PIN not in stored.passphrase_sealed and stored.passphrase_sealed
    shown = _cli(world.home, "signing", "show", code)
    assert "thiết bị ký số «truong-ky-so», khóa «khoa-ky»" in shown.stdout

    record = papers.generate(engine, "bien_ban", school_code=code, actor="Văn thư", on_existing="new")[0]
    signed = _cli(world.home, "signing", "sign", str(record.id), "--by", name, **token)
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert f"đã ký số: {name}" in signed.stdout and "hợp lệ" in signed.stdout
    path, check = _signed_copy(world, record.id)
    assert check.valid and check.signer == name and check.timestamped_at is None
    # The signature was made by the token's key: the certificate in the PDF is the one on the token.
    sig = PdfFileReader(path.open("rb")).embedded_signatures[0]
    assert sig.signer_cert.dump() == pem.unarmor(ident.signer_cert_pem)[2]
    verified = _cli(world.home, "signing", "verify", str(path), "--unit", code)
    assert verified.returncode == 0 and f"đã ký số: {name}" in verified.stdout and "hợp lệ" in verified.stdout


# --- a timestamp and revocation data ---------------------------------------------------------------

def _login(app_, username: str) -> TestClient:
    c = TestClient(app_)
    r = c.post("/api/login", json={"username": username, "password": PASSWORDS[username]})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def test_a_ward_signs_with_a_timestamp_and_the_cas_crl_and_the_register_says_so(world, tmp_path, monkeypatch):
    engine = make_engine(world.url)
    with ca_server() as ca:
        ident = make_test_identity(WARD_SIGNER, "Phòng GD&ĐT Ba Đình", crl_url=ca.crl_url)
        ca.tsa, ca.crl = make_test_tsa(ident), make_test_crl(ident)
        (tmp_path / "ks.p12").write_bytes(ident.p12)
        (tmp_path / "root.pem").write_bytes(ident.root_pem)
        record = papers.generate(engine, "qd_doan_danh_gia", campaign_id=1, actor="Văn thư", on_existing="new")[0]

        # Nothing configured: a baseline signature, as before (the demo's own decision has no timestamp).
        with UnitOfWork(engine) as uow:
            demo_labels = uow.session.execute(select(SignatureCheck.label)).scalars().all()
        assert demo_labels and all("dấu thời gian" not in label for label in demo_labels)
        for args in (["identity", WARD, str(tmp_path / "ks.p12"), "--revocation", "--lta"],
                     ["trust", WARD, str(tmp_path / "root.pem")]):
            done = _cli(world.home, "signing", *args, "--by", "Quản trị", CDSFLOW_P12_PASSWORD=ident.passphrase,
                        CDSFLOW_TSA_URL=ca.tsa_url)
            assert done.returncode == 0, done.stdout + done.stderr
        shown = _cli(world.home, "signing", "show", WARD, CDSFLOW_TSA_URL=ca.tsa_url)
        assert f"Dấu thời gian: {ca.tsa_url}" in shown.stdout and "thông tin thu hồi: kèm theo chữ ký" in shown.stdout
        assert "dấu thời gian tài liệu (B-LTA)" in shown.stdout

        # A timestamp server that does not answer: refused with the reason, no signed copy kept.
        dead = _cli(world.home, "signing", "sign", str(record.id), "--by", WARD_SIGNER,
                    CDSFLOW_TSA_URL=f"{ca.base}/khong-co")
        assert dead.returncode != 0 and "máy chủ dấu thời gian" in dead.stdout + dead.stderr
        with UnitOfWork(engine) as uow:
            assert uow.session.execute(select(SignedCopy).where(SignedCopy.document_id == record.id)).first() is None

        signed = _cli(world.home, "signing", "sign", str(record.id), "--by", WARD_SIGNER, CDSFLOW_TSA_URL=ca.tsa_url)
        assert signed.returncode == 0, signed.stdout + signed.stderr
        assert "có dấu thời gian" in signed.stdout and "hợp lệ" in signed.stdout
        assert "POST /tsa" in ca.requests and "GET /ca.crl" in ca.requests

    # Checked later, with the CA offline: the PDF carries what is needed.
    path, check = _signed_copy(world, record.id)
    assert check.valid and check.timestamped_at is not None
    assert "có dấu thời gian" in check.label and check.label.endswith("hợp lệ")
    reader = PdfFileReader(path.open("rb"))
    assert "/CRLs" in reader.root["/DSS"]  # B-LT: the CA's CRL is in the file
    assert reader.embedded_signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert [s.sig_object_type for s in reader.embedded_signatures] == ["/Sig", "/DocTimeStamp"]  # B-LTA
    verified = _cli(world.home, "signing", "verify", str(path), "--unit", WARD)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"đã ký số: {WARD_SIGNER}" in verified.stdout and "có dấu thời gian" in verified.stdout
    assert "thông tin thu hồi (CRL/OCSP)" in verified.stdout
    broken = bytearray(path.read_bytes())
    broken[len(broken) // 3] ^= 0x01
    (tmp_path / "sua.pdf").write_bytes(bytes(broken))
    assert "không hợp lệ" in _cli(world.home, "signing", "verify", str(tmp_path / "sua.pdf"), "--unit", WARD).stdout

    # The register, as a clerk prints it and as the ward's officer reads it on the web.
    register = _cli(world.home, "docs", "register", "--unit", WARD)
    assert f"Mã lưu {record.id}: {check.label}" in register.stdout, register.stdout + register.stderr
    monkeypatch.setenv("CDSFLOW_HOME", str(world.home))
    page = _login(create_app(engine, uploads_dir=world.home / "uploads"), "chuyenvien").get("/documents")
    assert check.label in page.text


def test_a_revoked_certificate_does_not_sign_when_revocation_data_is_asked(world, tmp_path):
    with ca_server() as ca:
        ident = make_test_identity(WARD_SIGNER, "Phòng GD&ĐT Ba Đình", crl_url=ca.crl_url)
        ca.tsa, ca.crl = make_test_tsa(ident), make_test_crl(ident, revoked_pem=(ident.signer_cert_pem,))
        (tmp_path / "ks.p12").write_bytes(ident.p12)
        (tmp_path / "root.pem").write_bytes(ident.root_pem)
        # B-LTA without revocation data is refused: it would timestamp nothing worth keeping.
        lta = _cli(world.home, "signing", "identity", WARD, str(tmp_path / "ks.p12"), "--lta", "--tsa-url",
                   ca.tsa_url, "--by", "Quản trị", CDSFLOW_P12_PASSWORD=ident.passphrase)
        assert lta.returncode != 0 and "PAdES B-LTA) cần cả thông tin thu hồi" in lta.stderr
        for args in (["identity", WARD, str(tmp_path / "ks.p12"), "--revocation", "--tsa-url", ca.tsa_url],
                     ["trust", WARD, str(tmp_path / "root.pem")]):
            done = _cli(world.home, "signing", *args, "--by", "Quản trị", CDSFLOW_P12_PASSWORD=ident.passphrase)
            assert done.returncode == 0, done.stdout + done.stderr
        record = papers.generate(make_engine(world.url), "qd_doan_danh_gia", campaign_id=1, actor="Văn thư",
                                 on_existing="new")[0]
        refused = _cli(world.home, "signing", "sign", str(record.id), "--by", WARD_SIGNER)
        assert refused.returncode != 0
        assert "chứng thư số đã bị thu hồi" in refused.stdout + refused.stderr
    with UnitOfWork(make_engine(world.url)) as uow:
        assert uow.session.execute(select(SignedCopy).where(SignedCopy.document_id == record.id)).first() is None
