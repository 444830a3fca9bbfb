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
    """Refuse what is not a PDF (by its first bytes, not its name) or is too large; the size if fine."""
    path = Path(path)
    size = check_size(path, limit, "Tệp PDF")
    with path.open("rb") as fh:
        head = fh.read(1024)
    # The header may follow a few bytes of junk (the PDF spec tolerates it in the first 1024 bytes).
    if size == 0 or PDF_MAGIC not in head:
        raise InvalidInput(f"Tệp {path.name} không phải tệp PDF (bản ký phải là tệp .pdf quét hoặc ký số)")
    return size
