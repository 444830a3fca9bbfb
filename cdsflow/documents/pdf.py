"""PDF through LibreOffice headless, one isolated profile per call, with a timeout."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cdsflow.workflow.errors import CdsError


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


def to_pdf(docx_files: Sequence[Path], out_dir: Path, *, timeout: float = 120) -> list[Path]:
    """Convert .docx files to PDF in `out_dir`. A private LibreOffice profile per call lets several
    workers convert at once (a shared profile makes the second soffice exit silently)."""
    binary = soffice()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cdsflow-lo-") as profile:
        cmd = [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
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


def merge_pdfs(pdfs: Sequence[Path], out_path: Path) -> Path:
    """One PDF from several, in the order given (the dossier's binding order)."""
    try:
        from pypdf import PdfWriter
    except ImportError:  # pypdf is the `pdf` extra
        raise PdfUnavailable("Thiếu gói pypdf để ghép các tệp PDF",
                             details=["cài bằng: pip install 'cdsflow[pdf]'"]) from None

    writer = PdfWriter()
    for p in pdfs:
        writer.append(str(p))
    with open(out_path, "wb") as fh:
        writer.write(fh)
    return out_path


def to_pdf_parallel(docx_files: Sequence[Path], out_dir: Path, *, workers: int = 2, timeout: float = 600) -> list[Path]:
    """Split a batch over `workers` LibreOffice processes, each with its own profile."""
    from concurrent.futures import ThreadPoolExecutor

    files = list(docx_files)
    if workers <= 1 or len(files) < 2:
        return to_pdf(files, out_dir, timeout=timeout)
    slices = [files[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda part: to_pdf(part, out_dir, timeout=timeout), [s for s in slices if s]))
    return [out_dir / (Path(f).stem + ".pdf") for f in files]
