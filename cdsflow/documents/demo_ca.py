"""A throw-away certificate authority for the demo and the tests: a root and one signer certificate
made with the `cryptography` package, and on demand a timestamp server's certificate and a CRL.
Never shipped as trusted: the demo registers its own root as the demo ward's trust anchor, in the
demo's database only, and its subject says it is a test CA."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

TEST_CA_NAME = "cdsflow TEST CA - không dùng thật"


@dataclass(frozen=True)
class TestIdentity:
    root_pem: bytes
    p12: bytes
    passphrase: str
    signer_cert_pem: bytes
    root_key_pem: bytes = b""  # to issue a TSA certificate and CRLs under the same test root
    signer_key_pem: bytes = b""  # PKCS#8, unencrypted: what a token import takes


@dataclass(frozen=True)
class TestTsa:
    cert_pem: bytes
    key_pem: bytes


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_test_identity(signer_name: str, unit_name: str, *, passphrase: str = "demo-ky-so",
                       now: datetime | None = None, days: int = 3650, crl_url: str = "",
                       ocsp_url: str = "") -> TestIdentity:
    """A root (CA) and a signer certificate for `signer_name` of `unit_name`, the signer's key and
    chain in a PKCS#12 file protected by `passphrase`. `crl_url`, `ocsp_url`: where the certificate
    says its CA publishes revocations and answers OCSP (signing with revocation data asks them)."""
    now = now or datetime.now(UTC)
    root_key, signer_key = _key(), _key()
    root_name = _name(TEST_CA_NAME, "cdsflow")
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    builder = x509.CertificateBuilder()
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    signer = (builder.subject_name(_name(signer_name, unit_name)).issuer_name(root_name)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days - 1))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                           crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
              .sign(root_key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(
        b"signer", signer_key, signer, [root],
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")))
    return TestIdentity(root_pem=root.public_bytes(serialization.Encoding.PEM), p12=p12, passphrase=passphrase,
                        signer_cert_pem=signer.public_bytes(serialization.Encoding.PEM),
                        root_key_pem=_pem_key(root_key), signer_key_pem=_pem_key(signer_key))


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _root(identity: TestIdentity) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = serialization.load_pem_private_key(identity.root_key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return x509.load_pem_x509_certificate(identity.root_pem), key


def make_test_tsa(identity: TestIdentity, *, now: datetime | None = None, days: int = 3650) -> TestTsa:
    """A timestamp server's certificate (extended key usage timeStamping, critical, as RFC 3161
    asks) under the identity's test root."""
    now = now or datetime.now(UTC)
    root, root_key = _root(identity)
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name("cdsflow TEST TSA - không dùng thật", "cdsflow"))
            .issuer_name(root.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days - 1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    return TestTsa(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def make_test_crl(identity: TestIdentity, *, revoked_pem: tuple[bytes, ...] = (), now: datetime | None = None) -> bytes:
    """The test root's CRL (DER), listing the certificates in `revoked_pem`."""
    now = now or datetime.now(UTC)
    root, root_key = _root(identity)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
               .last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=7))
               .add_extension(x509.CRLNumber(1), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                              critical=False))
    for pem in revoked_pem:
        cert = x509.load_pem_x509_certificate(pem)
        builder = builder.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                                                  .revocation_date(now - timedelta(minutes=5)).build())
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def demo_signature_png(width: int = 480, height: int = 200) -> bytes:
    """A handwritten-looking stroke on a transparent background, for the demo's signer."""
    import io
    import math

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    points = [(40 + t * 4, height / 2 + math.sin(t / 6) * 45 * math.exp(-t / 160) + (t % 23) * 0.6) for t in range(100)]
    d.line(points, fill=(20, 30, 120, 255), width=6, joint="curve")
    d.line([(70, 150), (420, 120)], fill=(20, 30, 120, 255), width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def demo_seal_png(unit_name: str, size: int = 300) -> bytes:
    """A round red seal (two rings, a star, the unit's name across), transparent around it."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    red = (200, 20, 20, 210)
    d.ellipse([4, 4, size - 4, size - 4], outline=red, width=10)
    d.ellipse([34, 34, size - 34, size - 34], outline=red, width=4)
    c, r = size / 2, size / 9
    import math

    star = [(c + (r if i % 2 == 0 else r / 2.5) * math.sin(i * math.pi / 5),
             c - 40 - (r if i % 2 == 0 else r / 2.5) * math.cos(i * math.pi / 5)) for i in range(10)]
    d.polygon(star, fill=red)
    font = None
    for path in ("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            font = ImageFont.truetype(path, 22)
            break
        except OSError:
            continue
    font = font or ImageFont.load_default(size=22)
    words = unit_name.upper().split()
    lines, line = [], ""
    for w in words:
        if len(line) + len(w) > 16 and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    for i, text in enumerate(lines[:3]):
        tw = d.textlength(text, font=font)
        d.text((c - tw / 2, c + 5 + i * 26), text, font=font, fill=red)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def answer_ocsp(identity: TestIdentity, request_der: bytes, *, revoked_serials: frozenset[int] = frozenset(),
                now: datetime | None = None) -> bytes:
    """The test root's OCSP answer (DER) to a request for one of its certificates: good, or revoked
    when its serial is in `revoked_serials`. The root signs its answers itself, as RFC 6960 allows."""
    now = now or datetime.now(UTC)
    root, root_key = _root(identity)
    request = ocsp.load_der_ocsp_request(request_der)
    signer = x509.load_pem_x509_certificate(identity.signer_cert_pem)
    if request.serial_number != signer.serial_number:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER)
    revoked = signer.serial_number in revoked_serials
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=signer, issuer=root, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now - timedelta(minutes=1), next_update=now + timedelta(days=1),
        revocation_time=now - timedelta(minutes=5) if revoked else None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, root)
    for ext in request.extensions:  # the nonce comes back, so the answer is to this request
        builder = builder.add_extension(ext.value, ext.critical)
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
