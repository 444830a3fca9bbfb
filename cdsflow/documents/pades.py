"""Digital signatures on issued papers (chữ ký số): PAdES baseline signing and verification with
pyHanko, the visible signature placed as Nghị định 30/2020 (Phụ lục I, §II.7–8) asks.

- The paper: the signer's signature image between the authority lines and the signer's name, the
  unit's seal in red over its left third. The place is found in the PDF itself (the name line of the
  signature block, the lowest on the last page that carries it), so every template and signing mode
  (KT., TM., TL. …) works without a marker in the .docx.
- An attachment: the unit's signature, with the paper's number and the signing time, at the top
  right of the first page.

The images are composed with Pillow into one PNG and drawn as the signature's appearance, so no
font has to be embedded in the PDF (pyHanko's standard fonts have no Vietnamese letters).

The key is a PKCS#12 file or a PKCS#11 token (`KeySource`). With a timestamp server the signature
carries an RFC 3161 timestamp (PAdES B-T); with revocation data asked for, the CA's CRLs/OCSP
answers are fetched while signing and kept in the PDF's DSS (B-LT), and optionally a document
timestamp over it all (B-LTA).
"""
from __future__ import annotations

import asyncio
import io
import logging
import re
import unicodedata
import warnings
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from cdsflow.kernel.errors import InvalidInput

if TYPE_CHECKING:
    from pyhanko.sign import signers

# pyHanko's import of DSA keys warns on every start; we never use DSA.
warnings.filterwarnings("ignore", message="DSA is deprecated")
# pyHanko and pypdf are imported where a paper is signed or checked, not when the CLI starts:
# pyHanko alone costs about half a second of start-up, paid by every command otherwise.

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# pyHanko logs a whole traceback for an untrusted chain; the verdict reaches the user instead.
logging.getLogger("pyhanko.sign.validation").setLevel(logging.CRITICAL)
logging.getLogger("pyhanko.sign.general").setLevel(logging.CRITICAL)
Box = tuple[float, float, float, float]
MAX_IMAGE_BYTES = 1_000_000
MAX_IMAGE_SIDE = 2000
FONT_CANDIDATES = ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                   "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass(frozen=True)
class Verification:
    """What a reader of the register needs to know of one PDF's signature."""

    signed: bool
    intact: bool = False
    trusted: bool = False
    whole_file: bool = False
    signer: str = ""
    signed_at: datetime | None = None
    problem: str = ""
    timestamped_at: datetime | None = None  # the time a timestamp server vouches for (B-T), if any
    revocation_info: bool = False  # the PDF keeps CRLs/OCSP answers for its certificates (B-LT)

    @property
    def valid(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file and not self.problem

    def label(self) -> str:
        """«đã ký số: <người ký>, <thời gian>[, có dấu thời gian <thời gian>], hợp lệ | không hợp lệ
        (lý do)», or «chưa ký số»."""
        if not self.signed:
            return "chưa ký số"
        when = self.signed_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if self.signed_at else "không rõ thời gian"
        stamped = ""
        if self.timestamped_at is not None:
            stamped = f", có dấu thời gian {self.timestamped_at.astimezone(VN_TZ):%H:%M:%S %d/%m/%Y}"
        verdict = "hợp lệ" if self.valid else f"không hợp lệ ({self.problem})"
        return f"đã ký số: {self.signer}, {when}{stamped}, {verdict}"


@dataclass(frozen=True)
class KeySource:
    """Where the signing key is: a PKCS#12 file and its passphrase, or a PKCS#11 token (a USB token
    or an HSM: the module's path, the token's label, the key's label and the user PIN). The key of
    a token never leaves it; pyHanko asks the token to sign the digest."""

    p12: bytes = b""
    passphrase: str = ""
    module: str = ""
    token_label: str = ""
    key_label: str = ""
    cert_label: str = ""  # the certificate's label on the token, when it differs from the key's
    pin: str = ""

    @property
    def on_token(self) -> bool:
        return bool(self.module)


@dataclass(frozen=True)
class SigningOptions:
    """What the signature carries beyond the baseline: a timestamp from `tsa_url` (B-T); the CA's
    revocation data fetched and embedded (B-LT, which needs the roots the chain ends in), and a
    document timestamp over it (B-LTA, needs both: the use-case refuses it without them)."""

    tsa_url: str = ""
    revocation: bool = False
    trust_roots_pem: list[bytes] = field(default_factory=list)
    lta: bool = False


# --- images --------------------------------------------------------------------------------------

def check_png(data: bytes, what: str) -> Image.Image:
    """A signature or seal image: a PNG that decodes, not over 1 MB nor 2000 px a side, with a
    transparent background (so the seal does not hide the signature under it)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(f"Ảnh {what} quá lớn ({len(data) // 1024} KB, tối đa 1.000 KB)")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception:  # noqa: BLE001 - any decoder error means the same thing to the user
        raise InvalidInput(f"Ảnh {what} không đọc được: cần một tệp PNG") from None
    if img.format != "PNG":
        raise InvalidInput(f"Ảnh {what} phải là PNG (tệp đã gửi là {img.format or 'không rõ'})")
    if max(img.size) > MAX_IMAGE_SIDE:
        raise InvalidInput(f"Ảnh {what} quá lớn ({img.size[0]}×{img.size[1]} điểm ảnh, tối đa {MAX_IMAGE_SIDE})")
    rgba = img.convert("RGBA")
    alpha_min, _ = rgba.getchannel("A").getextrema()
    if alpha_min == 255:
        raise InvalidInput(f"Ảnh {what} phải có nền trong suốt (PNG có kênh alpha)")
    return rgba


def compose_stamp(signature_png: bytes | None, seal_png: bytes | None, *, size: tuple[int, int] = (600, 260)) -> bytes:
    """The appearance of a paper's signature: the signer's image centred, the seal over its left
    third (Nghị định 30, Phụ lục I §II.8)."""
    canvas = Image.new("RGBA", size, (255, 255, 255, 0))
    w, h = size
    if signature_png:
        sig = check_png(signature_png, "chữ ký")
        sig.thumbnail((int(w * 0.8), int(h * 0.8)))
        canvas.alpha_composite(sig, ((w - sig.width) // 2, (h - sig.height) // 2))
    if seal_png:
        seal = check_png(seal_png, "con dấu")
        seal.thumbnail((h, h))
        # The seal's centre on the left third of the signature.
        left = max(0, (w - int(w * 0.8)) // 2 + int(w * 0.8) // 6 - seal.width // 2)
        canvas.alpha_composite(seal, (left, (h - seal.height) // 2))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def attachment_stamp(unit_name: str, number_line: str, when: datetime) -> bytes:
    """The unit's signature on an attachment: unit, number and signing time in a blue frame."""
    when = when.astimezone(VN_TZ) if when.tzinfo else when
    lines = [unit_name, f"Số: {number_line}", f"Thời gian ký: {when.strftime('%H:%M %d/%m/%Y')}"]
    scale, pad = 3, 12
    font = _font(13 * scale)
    widths = [font.getbbox(t)[2] for t in lines]
    line_h = 18 * scale
    img = Image.new("RGBA", (max(widths) + 2 * pad * scale, line_h * len(lines) + 2 * pad * scale), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, img.width - 1, img.height - 1], outline=(0, 51, 153, 255), width=2 * scale)
    for i, t in enumerate(lines):
        d.text((pad * scale, pad * scale + i * line_h), t, font=font, fill=(0, 51, 153, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


# --- where the signature goes ---------------------------------------------------------------------

def _letters(text: str) -> str:
    """The plain ASCII letters only: LibreOffice's PDFs move some accented letters (ị, ư, ở…) out of
    their word into a chunk of their own, so a name is matched on the letters that stay in place."""
    return re.sub(r"[^A-Za-z]", "", unicodedata.normalize("NFC", text))


def signing_box(pdf: bytes, signer_name: str) -> tuple[int, Box]:
    """The page and box between the signature block's authority lines and the signer's name."""
    from pypdf import PdfReader

    want = _letters(signer_name)
    if not want:
        raise InvalidInput("Văn bản không ghi tên người ký: không đặt được chữ ký số")
    reader = PdfReader(io.BytesIO(pdf))
    found: tuple[int, float, float, float, float] | None = None  # page, x, y, font size, top of the line above
    for index, page in enumerate(reader.pages):
        chunks: list[tuple[float, float, float, str]] = []

        def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float,
                  chunks: list[tuple[float, float, float, str]] = chunks) -> None:
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                chunks.append((x, y, float(size or 12) * (cm[3] or 1), text))

        page.extract_text(visitor_text=visit)
        lines: dict[int, list[tuple[float, float, float, str]]] = {}
        for c in chunks:
            lines.setdefault(round(c[1]), []).append(c)
        for y_key, parts in lines.items():
            if want in _letters("".join(p[3] for p in sorted(parts))):
                x = min(p[0] for p in parts)
                size = max(p[2] for p in parts)
                above = [y for y in lines if y > y_key + size and any(p[0] > x - 120 for p in lines[y])]
                top = min(above) if above else y_key + 110
                if found is None or index > found[0] or (index == found[0] and y_key < found[2]):
                    found = (index, x, float(y_key), size, float(top))
    if found is None:
        raise InvalidInput(f"Không tìm thấy tên người ký «{signer_name}» trên văn bản: không đặt được chữ ký số")
    index, x, y, size, top = found
    width = max(150.0, len(signer_name) * size * 0.5 + 40)
    centre = x + len(signer_name) * size * 0.24
    low, high = y + size * 0.9, min(top - 2, y + size * 0.9 + 80)
    if high - low < 30:
        high = low + 30
    return index, (centre - width / 2, low, centre + width / 2, high)


def attachment_box(pdf: bytes, size: tuple[int, int]) -> Box:
    """Top right of the first page, inside the top margin (20–25 mm) above the paper's header."""
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    right, top = float(page.mediabox.right), float(page.mediabox.top)
    h = 44.0
    w = h * size[0] / size[1]
    return (right - 30 - w, top - 6 - h, right - 30, top - 6)


# --- signing and verifying ------------------------------------------------------------------------

def _run(make: Callable[[], Awaitable[Any]]) -> Any:
    """pyHanko's API is async: run it to the end here, on a thread of its own when the caller is
    already inside an event loop (an async web route), where asyncio.run may not be called."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]


def _p12_signer(p12: bytes, passphrase: str) -> signers.SimpleSigner:
    from pyhanko.sign import signers

    try:
        signer = signers.SimpleSigner.load_pkcs12_data(p12, other_certs=[], passphrase=passphrase.encode("utf-8"))
    except Exception:  # noqa: BLE001 - a wrong passphrase and a broken file read the same to the user
        signer = None
    if signer is None:
        raise InvalidInput("Không mở được chứng thư số: tệp PKCS#12 hỏng hoặc sai mật khẩu")
    return signer


@contextmanager
def open_signer(key: KeySource) -> Iterator[signers.Signer]:
    """A pyHanko signer for the key, with the token's session open for as long as it is used."""
    if not key.on_token:
        yield _p12_signer(key.p12, key.passphrase)
        return
    try:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11
    except ImportError:
        raise InvalidInput("Máy chủ chưa cài gói python-pkcs11 (pip install 'cdsflow[pkcs11]'): "
                           "chưa ký được bằng thiết bị ký số (token)") from None
    if not Path(key.module).is_file():
        raise InvalidInput(f"Không tìm thấy thư viện PKCS#11 «{key.module}» trên máy chủ")
    try:
        session = pkcs11.open_pkcs11_session(key.module, token_criteria=TokenCriteria(label=key.token_label),
                                             user_pin=key.pin or None)
    except Exception as exc:  # noqa: BLE001 - the token's own errors (wrong PIN, absent) as one message
        raise InvalidInput(f"Không mở được thiết bị ký số «{key.token_label}»: {_token_reason(exc)}") from None
    try:
        signer = pkcs11.PKCS11Signer(session, cert_label=key.cert_label or key.key_label, key_label=key.key_label)
        try:
            signer.signing_cert  # noqa: B018 - load the key and certificate now, to name what is missing
        except Exception:  # noqa: BLE001
            raise InvalidInput(f"Thiết bị ký số «{key.token_label}» không có khóa và chứng thư số "
                               f"mang nhãn «{key.key_label}»") from None
        yield signer
    finally:
        session.close()


def _token_reason(exc: Exception) -> str:
    name = type(exc).__name__
    if "PinIncorrect" in name or "PinInvalid" in name or "PinLen" in name:
        return "sai mã PIN"
    if "PinLocked" in name:
        return "mã PIN đã bị khóa"
    if "No token" in str(exc) or "NoSuchToken" in name:
        return "không có thiết bị mang nhãn này"
    return name


def certificate_subject(key: KeySource | bytes, passphrase: str = "") -> tuple[str, datetime]:
    """The signer's common name and the certificate's end of validity."""
    if isinstance(key, bytes):
        key = KeySource(p12=key, passphrase=passphrase)
    with open_signer(key) as signer:
        cert = signer.signing_cert
        assert cert is not None
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native
        return cert.subject.native.get("common_name", cert.subject.human_friendly), not_after


def sign_pdf(pdf: bytes, key: KeySource | bytes, passphrase: str = "", *, page: int, box: Box,
             appearance_png: bytes, reason: str, location: str = "", field_name: str = "ChuKySo",
             options: SigningOptions | None = None) -> bytes:
    """A PAdES signature over the whole file, drawn as `appearance_png` in `box`: baseline (B-B),
    with a timestamp (B-T) and revocation data (B-LT/LTA) as `options` ask."""
    from pyhanko.pdf_utils.images import PdfImage
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    if isinstance(key, bytes):
        key = KeySource(p12=key, passphrase=passphrase)
    options = options or SigningOptions()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    fields.append_signature_field(writer, fields.SigFieldSpec(field_name, on_page=page, box=box))
    image = PdfImage(Image.open(io.BytesIO(appearance_png)))
    style = StaticStampStyle(background=image, border_width=0, background_opacity=1.0)

    async def sign(signer: signers.Signer) -> Any:
        # The validation context fetches the CA's CRL/OCSP over HTTP: made and closed in the loop that uses it.
        context = _trust(options.trust_roots_pem, fetch=True) if options.revocation else None
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, reason=reason, location=location or None,
            subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
            embed_validation_info=options.revocation, validation_context=context,
            use_pades_lta=options.lta)
        pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=style, timestamper=_timestamper(options))
        try:
            return await pdf_signer.async_sign_pdf(writer)
        finally:
            if context is not None:
                await context.aclose()

    with open_signer(key) as signer:
        try:
            out = _run(lambda: sign(signer))
        except InvalidInput:
            raise
        except Exception as exc:  # noqa: BLE001 - what failed (the TSA, the CA) named for the user
            raise InvalidInput(f"Không ký được văn bản: {_signing_failure(exc, options)}") from None
    return bytes(out.getvalue())


def _timestamper(options: SigningOptions) -> Any:
    if not options.tsa_url:
        return None
    from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper

    return HTTPTimeStamper(options.tsa_url, timeout=30)


def _signing_failure(exc: BaseException, options: SigningOptions) -> str:
    """The reason, in the user's words, for the failures a configured server or the CA can cause
    (pyHanko wraps the validator's error in a SigningError: its cause says what happened)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 5:
        chain.append(cur)
        cur = cur.__cause__
    names = {type(e).__name__ for e in chain}
    if "RevokedError" in names:
        return "chứng thư số đã bị thu hồi (theo CRL/OCSP của tổ chức cấp)"
    if "PathBuildingError" in names or "PathValidationError" in names:
        return ("chứng thư số không thuộc danh sách tin cậy của đơn vị: thêm chứng thư số gốc của tổ chức cấp "
                "(cdsflow signing trust) trước khi ký kèm thông tin thu hồi")
    if "InsufficientRevinfoError" in names:
        return "không lấy được thông tin thu hồi (CRL/OCSP) của chứng thư số từ tổ chức cấp"
    if options.tsa_url and any("Timestamp" in n or "timestamp" in str(e).lower() for e, n in
                               ((e, type(e).__name__) for e in chain)):
        return f"máy chủ dấu thời gian {options.tsa_url} không trả lời hoặc trả lời sai"
    return type(exc).__name__


def _trust(trust_roots_pem: list[bytes], *, fetch: bool = False) -> Any:
    """The unit's roots as pyHanko's validation context. `fetch`: while signing with revocation
    data, the CA's CRL and OCSP are fetched (from the certificates' own addresses) and must answer."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    roots = []
    for data in trust_roots_pem:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        roots.append(asn1_x509.Certificate.load(der))
    if fetch:
        # hard-fail: where a certificate names its CRL or OCSP, they must answer (and not say revoked).
        return ValidationContext(trust_roots=roots, allow_fetching=True, revocation_mode="hard-fail")
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def verify_pdf(data: bytes, trust_roots_pem: list[bytes]) -> Verification:
    """Check the last signature of a PDF: the bytes it covers are unchanged, it covers the whole
    file (nothing added after signing), and its certificate chains to one of the unit's roots."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except Exception:  # noqa: BLE001 - an unreadable PDF is reported, not raised
        return Verification(signed=False, problem="tệp PDF không đọc được")
    # A document timestamp (B-LTA) is not a person's signature: the last signature is.
    sigs = [s for s in sigs if s.sig_object_type == "/Sig"]
    if not sigs:
        return Verification(signed=False)
    sig = sigs[-1]
    try:
        context = _trust(trust_roots_pem)
        status = _run(lambda: async_validate_pdf_signature(sig, context))
    except Exception as exc:  # noqa: BLE001 - a mangled signature is a broken signature
        return Verification(signed=True, problem=f"chữ ký hỏng: {type(exc).__name__}")
    cert = status.signing_cert
    signer = cert.subject.native.get("common_name", cert.subject.human_friendly) if cert is not None else "không rõ"
    whole = sig.coverage is not None and sig.coverage.name == "ENTIRE_FILE"
    stamp = status.timestamp_validity
    problem = ""
    if not status.intact or not status.valid:
        problem = "nội dung đã bị thay đổi sau khi ký"
    elif not whole and not _only_validation_data_after(status):
        problem = "tệp có thêm nội dung sau khi ký"
    elif not status.trusted:
        problem = "chứng thư số không thuộc danh sách tin cậy của đơn vị"
    elif stamp is not None and not (stamp.intact and stamp.valid and stamp.trusted):
        problem = "dấu thời gian không hợp lệ hoặc máy chủ dấu thời gian không thuộc danh sách tin cậy"
    return Verification(signed=True, intact=bool(status.intact and status.valid), trusted=bool(status.trusted),
                        whole_file=whole or _only_validation_data_after(status), signer=str(signer),
                        signed_at=status.signer_reported_dt, problem=problem,
                        timestamped_at=stamp.timestamp if stamp is not None else None,
                        revocation_info=_has_dss(reader))


def _only_validation_data_after(status: Any) -> bool:
    """B-LT and B-LTA add the revocation data (DSS) and a document timestamp after the signature:
    pyHanko's difference analysis tells those harmless additions from changed content."""
    level = getattr(status, "modification_level", None)
    return level is not None and level.name == "LTA_UPDATES"


def _has_dss(reader: Any) -> bool:
    try:
        dss = reader.root.get("/DSS")
        return dss is not None and any(k in dss.get_object() for k in ("/CRLs", "/OCSPs"))
    except Exception:  # noqa: BLE001 - a DSS that does not read is no revocation data
        return False
