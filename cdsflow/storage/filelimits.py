"""Size checks for files people upload or import, made before any parser sees them.

An .xlsx is a zip: a 444 KB file can hold gigabytes of sheet XML, and openpyxl would parse
it all. The zip's central directory states every member's sizes, so an absurd file is
refused from that directory alone, in milliseconds.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from cdsflow.kernel.errors import InvalidInput

MB = 1024 * 1024
MAX_TABLE_BYTES = 25 * MB  # a national unit list (54,000 schools) is ~14 MB as CSV
MAX_TABLE_ROWS = 100_000
MAX_XLSX_BYTES = 20 * MB
MAX_XLSX_UNCOMPRESSED = 200 * MB
MAX_XLSX_RATIO = 100  # deflated sheet XML is ~10-20x; a bomb is 1000x and more
MAX_XLSX_MEMBERS = 2000


def check_size(path: Path, limit: int, what: str = "Tệp") -> int:
    size = path.stat().st_size
    if size > limit:
        raise InvalidInput(f"{what} {path.name} quá lớn ({size / MB:.1f} MB; tối đa {limit // MB} MB)")
    return size


def check_xlsx(path: str | Path) -> None:
    """Refuse an .xlsx whose zip directory announces an absurd uncompressed size or ratio."""
    path = Path(path)
    check_size(path, MAX_XLSX_BYTES, "Tệp Excel")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"Không đọc được tệp Excel {path.name}: không phải tệp .xlsx hợp lệ") from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise InvalidInput(f"Tệp Excel {path.name} có quá nhiều thành phần ({len(members)})")
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise InvalidInput(f"Tệp Excel {path.name} khi giải nén quá lớn ({total / MB:.0f} MB; "
                           f"tối đa {MAX_XLSX_UNCOMPRESSED // MB} MB): có thể là tệp độc hại")
    for m in members:
        if m.file_size > MB and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1):
            raise InvalidInput(f"Tệp Excel {path.name} có tỷ lệ nén bất thường ({m.filename}: "
                               f"{m.file_size // max(m.compress_size, 1)} lần): có thể là tệp độc hại")


MAX_SIGNED_PDF_BYTES = 20 * MB  # a scanned paper of a few pages at 300 dpi is 1–5 MB
PDF_MAGIC = b"%PDF-"


def check_pdf(path: str | Path, limit: int = MAX_SIGNED_PDF_BYTES) -> int:
    """Refuse what is not a readable PDF with at least one page (opened with pypdf, whatever its
    name or first bytes say) or is too large; the size if fine."""
    path = Path(path)
    size = check_size(path, limit, "Tệp PDF")
    check_content(path, ".pdf")
    return size


# What an upload's name promises, checked against what it holds.
IMAGE_SUFFIXES = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
OFFICE_TYPES = {  # the main part's content type in [Content_Types].xml
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc / .xls (Office 97-2003 compound file)
KIND_LABELS = {".pdf": "PDF", ".jpg": "ảnh JPEG", ".jpeg": "ảnh JPEG", ".png": "ảnh PNG", ".docx": "Word (.docx)",
               ".xlsx": "Excel (.xlsx)", ".doc": "Word (.doc)", ".xls": "Excel (.xls)", ".zip": "nén (.zip)"}
MAX_IMAGE_PIXELS = 100_000_000  # a 300 dpi A3 scan is ~17 Mpx; more is a decompression bomb


def check_content(path: str | Path, suffix: str | None = None, *, label: str | None = None) -> None:
    """Refuse (InvalidInput, in Vietnamese) a file whose content is not what its name says:
    a PDF must open with pypdf and have a page, an image must decode, an Office file must be
    a valid package of the right type, a .zip a valid archive. Other kinds pass unchanged."""
    path = Path(path)
    suffix = (suffix or path.suffix).lower()
    label = label or path.name
    if path.stat().st_size == 0:
        raise InvalidInput(f"Tệp «{label}» rỗng (0 byte)")
    check = _CHECKS.get(suffix)
    if check is not None:
        reason = check(path, suffix)
        if reason:
            raise InvalidInput(f"Tệp «{label}» không phải tệp {KIND_LABELS[suffix]} hợp lệ: {reason}")


def _pdf_problem(path: Path, _suffix: str) -> str | None:
    from pypdf import PdfReader  # heavy: loaded only when a PDF is checked
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            return "tệp PDF có mật khẩu, không mở được để ghép hồ sơ"
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError, AttributeError) as err:
        return f"không mở được như một tệp PDF ({type(err).__name__})"
    return None if pages >= 1 else "tệp PDF không có trang nào"


def _image_problem(path: Path, suffix: str) -> str | None:
    from PIL import Image, UnidentifiedImageError  # heavy: loaded only when an image is checked

    try:
        with Image.open(path) as img:
            if img.format != IMAGE_SUFFIXES[suffix]:
                return f"nội dung là ảnh {img.format or 'không rõ loại'}, không phải {IMAGE_SUFFIXES[suffix]}"
            if img.width * img.height > MAX_IMAGE_PIXELS:
                return f"ảnh quá lớn ({img.width}×{img.height} điểm ảnh)"
            img.load()  # decodes every pixel: a truncated or forged image fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return "không giải mã được như một ảnh"
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_XLSX_MEMBERS:
                return f"quá nhiều thành phần ({len(members)})"
            if sum(m.file_size for m in members) > MAX_XLSX_UNCOMPRESSED:
                return "khi giải nén quá lớn: có thể là tệp độc hại"
            if zf.testzip() is not None:
                return "tệp nén bị hỏng"
    except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError):
        return "không phải tệp nén (zip) đọc được"
    return None


def _office_problem(path: Path, suffix: str) -> str | None:
    if problem := _zip_problem(path):
        return problem
    with zipfile.ZipFile(path) as zf:
        try:
            types = zf.read("[Content_Types].xml").decode("utf-8", "replace")
        except KeyError:
            return "thiếu phần [Content_Types].xml của một tệp Office"
    if OFFICE_TYPES[suffix] not in types:
        return "không phải tài liệu Word" if suffix == ".docx" else "không phải bảng tính Excel"
    return None


def _ole_problem(path: Path, _suffix: str) -> str | None:
    with path.open("rb") as fh:
        return None if fh.read(8) == OLE_MAGIC else "không phải tệp Office 97–2003"


_CHECKS = {
    ".pdf": _pdf_problem,
    **{s: _image_problem for s in IMAGE_SUFFIXES},
    **{s: _office_problem for s in OFFICE_TYPES},
    ".doc": _ole_problem,
    ".xls": _ole_problem,
    ".zip": lambda path, _suffix: _zip_problem(path),
}
