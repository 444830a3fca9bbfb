"""A throw-away certificate authority for the demo and the tests: a root and one signer certificate
made with the `cryptography` package. Never shipped as trusted: the demo registers its own root as
the demo ward's trust anchor, in the demo's database only, and its subject says it is a test CA."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TEST_CA_NAME = "cdsflow TEST CA - không dùng thật"


@dataclass(frozen=True)
class TestIdentity:
    root_pem: bytes
    p12: bytes
    passphrase: str
    signer_cert_pem: bytes


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_test_identity(signer_name: str, unit_name: str, *, passphrase: str = "demo-ky-so",
                       now: datetime | None = None, days: int = 3650) -> TestIdentity:
    """A root (CA) and a signer certificate for `signer_name` of `unit_name`, the signer's key and
    chain in a PKCS#12 file protected by `passphrase`."""
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
    signer = (x509.CertificateBuilder().subject_name(_name(signer_name, unit_name)).issuer_name(root_name)
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
                        signer_cert_pem=signer.public_bytes(serialization.Encoding.PEM))


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
