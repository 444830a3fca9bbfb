"""PDF through LibreOffice headless: a warm converter (documents/converter.py), a cache keyed by the
.docx content, bulk runs spread over a pool of converters; a clear message when LibreOffice is absent."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cdsflow.documents.converter import pool
from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.kernel.home import pdf_cache_dir

CACHE_VERSION = b"cdsflow-pdf-1\n"  # bump to invalidate every cached PDF (another converter, other options)


class PdfUnavailable(CdsError):
    exit_code = 7


def soffice() -> str:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    raise PdfUnavailable(
        "Không tìm thấy LibreOffice (soffice) để chuyển sang PDF",
        details=["cài gói libreoffice-writer-nogui và fonts-liberation (scripts/system-packages.sh)",
                 "các tệp .docx vẫn được tạo bình thường"])


def content_key(data: bytes) -> str:
    return hashlib.sha256(CACHE_VERSION + data).hexdigest()


def cache_path(key: str) -> Path:
    return pdf_cache_dir() / key[:2] / f"{key}.pdf"


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        raise InvalidInput(f"Không đọc được tệp cần chuyển sang PDF: {Path(path).name}") from None


def _store(key: str, pdf: Path) -> None:
    """Into the cache atomically: a reader never sees half a PDF."""
    target = cache_path(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    shutil.copyfile(pdf, tmp)
    os.replace(tmp, target)


def _convert_all(docx_files: Sequence[Path], out_dir: Path, workers: int, timeout: float) -> list[Path]:
    binary = soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    outs = [out_dir / (Path(f).stem + ".pdf") for f in docx_files]
    misses: list[tuple[Path, Path, str]] = []
    for src, out in zip(docx_files, outs, strict=False):
        key = content_key(_read(src))
        cached = cache_path(key)
        if cached.is_file():
            shutil.copyfile(cached, out)
        else:
            misses.append((Path(src), out, key))
    if not misses:
        return outs
    converters = pool(min(max(1, workers), len(misses)), binary)

    def run(part: list[tuple[Path, Path, str]], converter) -> None:
        for src, out, key in part:
            converter.convert(src, out, timeout=timeout)
            _store(key, out)

    parts = [misses[i::len(converters)] for i in range(len(converters))]
    if len(converters) == 1:
        run(parts[0], converters[0])
    else:
        with ThreadPoolExecutor(max_workers=len(converters)) as ex:
            for f in [ex.submit(run, part, c) for part, c in zip(parts, converters, strict=False)]:
                f.result()
    return outs


def to_pdf(docx_files: Sequence[Path], out_dir: Path, *, timeout: float = 120) -> list[Path]:
    """Convert .docx files to PDF in `out_dir` (same stem), through the warm converter; a .docx
    whose content was converted before is served from the cache."""
    return _convert_all(list(docx_files), out_dir, 1, timeout)


def to_pdf_parallel(docx_files: Sequence[Path], out_dir: Path, *, workers: int = 2, timeout: float = 600) -> list[Path]:
    """A batch spread over `workers` warm converters (one LibreOffice each: both cores at work)."""
    return _convert_all(list(docx_files), out_dir, workers, timeout)


def to_pdf_cold(docx_files: Sequence[Path], out_dir: Path, *, timeout: float = 120) -> list[Path]:
    """The old way, a new `soffice` with a private profile per call, no cache: the benchmark's baseline."""
    binary = soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cdsflow-lo-") as profile:
        cmd = [binary, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, docx_files)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CdsError(f"LibreOffice không chuyển xong sang PDF sau {int(timeout)} giây") from exc
    pdfs = [out_dir / (Path(f).stem + ".pdf") for f in docx_files]
    missing = [p.name for p in pdfs if not p.exists()]
    if missing:
        raise CdsError("LibreOffice không tạo được tệp PDF", details=[*missing, (proc.stderr or "").strip()[-300:]])
    return pdfs


def merge_pdfs(pdfs: Sequence[Path], out_path: Path, *, titles: Sequence[str] | None = None) -> Path:
    """One PDF from several, in the order given (the dossier's binding order); `titles` become
    bookmarks, one per part."""
    try:
        from pypdf import PdfWriter
    except ImportError:  # pypdf is the `pdf` extra
        raise PdfUnavailable("Thiếu gói pypdf để ghép các tệp PDF",
                             details=["cài bằng: pip install 'cdsflow[pdf]'"]) from None

    writer = PdfWriter()
    for i, p in enumerate(pdfs):
        writer.append(str(p), outline_item=titles[i] if titles and i < len(titles) else None)
    with open(out_path, "wb") as fh:
        writer.write(fh)
    return out_path
