"""PAdES levels beyond the baseline, on a one-page PDF (no LibreOffice): a timestamp from a local
RFC 3161 server (B-T), the CA's OCSP answer kept in the file (B-LT) and a document timestamp over
it (B-LTA); a revoked certificate does not sign; nothing configured, nothing asked of any server."""
from __future__ import annotations

import io

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfWriter

from cdsflow.documents import pades
from cdsflow.documents.demo_ca import demo_signature_png, make_test_identity, make_test_tsa
from cdsflow.kernel.errors import InvalidInput
from tests.signing_servers import ca_server


def _pdf() -> bytes:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _sign(ident, options: pades.SigningOptions) -> bytes:
    return pades.sign_pdf(_pdf(), ident.p12, ident.passphrase, page=0, box=(100, 100, 300, 200),
                          appearance_png=pades.compose_stamp(demo_signature_png(), None), reason="Ban hành",
                          options=options)


def test_nothing_configured_asks_no_server_and_says_no_timestamp():
    with ca_server() as ca:
        ident = make_test_identity("Nguyễn Văn An", "Trường Tiểu học A", ocsp_url=ca.ocsp_url)
        ca.ca = ident
        found = pades.verify_pdf(_sign(ident, pades.SigningOptions()), [ident.root_pem])
    assert ca.requests == []
    assert found.valid and found.timestamped_at is None and not found.revocation_info
    assert "dấu thời gian" not in found.label()


@pytest.mark.parametrize("lta", [False, True], ids=["B-LT", "B-LTA"])
def test_timestamp_and_ocsp_answer_are_kept_in_the_file(lta):
    with ca_server() as ca:
        ident = make_test_identity("Nguyễn Văn An", "Trường Tiểu học A", ocsp_url=ca.ocsp_url)
        ca.ca, ca.tsa = ident, make_test_tsa(ident)
        signed = _sign(ident, pades.SigningOptions(tsa_url=ca.tsa_url, revocation=True,
                                                   trust_roots_pem=[ident.root_pem], lta=lta))
    assert "POST /ocsp" in ca.requests and "POST /tsa" in ca.requests
    reader = PdfFileReader(io.BytesIO(signed))
    assert "/OCSPs" in reader.root["/DSS"]
    kinds = [s.sig_object_type for s in reader.embedded_signatures]
    assert kinds == (["/Sig", "/DocTimeStamp"] if lta else ["/Sig"])
    # Checked with every server gone: the file carries the answers.
    found = pades.verify_pdf(signed, [ident.root_pem])
    assert found.valid, found.problem
    assert found.signer == "Nguyễn Văn An" and found.revocation_info and found.timestamped_at is not None
    assert ", có dấu thời gian " in found.label() and found.label().endswith(", hợp lệ")


def test_a_revoked_certificate_and_a_silent_timestamp_server_refuse_with_the_reason():
    with ca_server() as ca:
        ident = make_test_identity("Nguyễn Văn An", "Trường Tiểu học A", ocsp_url=ca.ocsp_url)
        ca.ca, ca.tsa = ident, make_test_tsa(ident)
        ca.revoked_serials = frozenset({x509.load_pem_x509_certificate(ident.signer_cert_pem).serial_number})
        with pytest.raises(InvalidInput, match="chứng thư số đã bị thu hồi"):
            _sign(ident, pades.SigningOptions(tsa_url=ca.tsa_url, revocation=True, trust_roots_pem=[ident.root_pem]))
        with pytest.raises(InvalidInput, match="không thuộc danh sách tin cậy"):
            _sign(ident, pades.SigningOptions(revocation=True, trust_roots_pem=[]))
        with pytest.raises(InvalidInput, match=f"máy chủ dấu thời gian {ca.base}/khong-co không trả lời"):
            _sign(ident, pades.SigningOptions(tsa_url=f"{ca.base}/khong-co"))


def test_a_timestamp_from_a_server_the_unit_does_not_trust_is_flagged():
    with ca_server() as ca:
        ident = make_test_identity("Nguyễn Văn An", "Trường Tiểu học A")
        other = make_test_identity("TSA khác", "Nơi khác")
        ca.tsa = make_test_tsa(other)  # a TSA certificate under another root
        found = pades.verify_pdf(_sign(ident, pades.SigningOptions(tsa_url=ca.tsa_url)), [ident.root_pem])
    assert not found.valid and "dấu thời gian không hợp lệ" in found.problem
