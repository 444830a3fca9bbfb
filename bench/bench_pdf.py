"""Benchmark: PDF conversion. Prints figures and ratios; never part of pass/fail.

    .venv/bin/python bench/bench_pdf.py [BULK] [SINGLE]

One 2-page paper (the Quyết định thành lập Hội đồng and its annex): a new `soffice` per file (the
old path, `to_pdf_cold`) against the warm converter (`to_pdf`), SINGLE times each (default 3).
Then a bulk run of BULK papers (default 200): the old bulk path (two `soffice` processes, each
handed half the files), the warm path with one converter, and with a pool of two (both cores).
Every paper's bytes differ (a zip comment), so no run is served from the PDF cache; a last
line shows the cache on a repeat of the bulk run. The home is a temporary folder.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["CDSFLOW_HOME"] = tempfile.mkdtemp(prefix="cdsflow-bench-pdf-")

from cdsflow.documents.converter import pool, shutdown  # noqa: E402
from cdsflow.documents.pdf import soffice, to_pdf, to_pdf_cold, to_pdf_parallel  # noqa: E402
from cdsflow.documents.render import render  # noqa: E402
from cdsflow.documents.samples import sample_context  # noqa: E402

CODE = "qd_hoi_dong"


def _variant(base: bytes, n: int) -> bytes:
    """The same paper with a different zip comment: same pages, another content hash."""
    src = zipfile.ZipFile(io.BytesIO(base))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info, src.read(info.filename))
        zf.comment = f"bench {n} {time.time_ns()}".encode()
    return out.getvalue()


def _write(folder: Path, base: bytes, count: int, tag: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"{tag}-{i:04d}.docx"
        p.write_bytes(_variant(base, i))
        paths.append(p)
    return paths


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _cpu_children() -> float:
    """CPU seconds used so far by the warm LibreOffice processes (each leads its own process group)."""
    groups = {c.proc.pid for c in pool(2, soffice()) if c.alive()}
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in groups:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main(bulk: int = 200, single: int = 3) -> None:
    base = render(CODE, sample_context(CODE))
    root = Path(tempfile.mkdtemp(prefix="cdsflow-bench-pdf-files-"))
    from pypdf import PdfReader

    # --- one paper ---------------------------------------------------------------------------
    cold = [_timed(lambda p=p: to_pdf_cold([p], root / "cold")) for p in _write(root / "c1", base, single, "cold")]
    binary = soffice()
    start = _timed(lambda: pool(1, binary)[0].convert(*_write(root / "w0", base, 1, "start"), root / "w0" / "x.pdf"))
    warm = [_timed(lambda p=p: to_pdf([p], root / "warm")) for p in _write(root / "w1", base, single, "warm")]
    pages = len(PdfReader(next((root / "warm").glob("*.pdf"))).pages)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"Một văn bản: {CODE}, {pages} trang, {single} lần mỗi cách, {os.cpu_count()} lõi")
    print(f"  soffice mới cho mỗi tệp (cũ)     {c:7.2f} s/văn bản   (1,0×)")
    print(f"  bộ chuyển đã khởi động (mới)     {w:7.2f} s/văn bản   ({c / w:5.1f}× nhanh hơn; mục tiêu ≥ 5×)")
    print(f"  khởi động bộ chuyển (một lần)    {start:7.2f} s")

    # --- bulk --------------------------------------------------------------------------------
    old = _write(root / "b-old", base, bulk, "old")
    halves = [old[i::2] for i in range(2)]

    def old_bulk() -> None:
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda part: to_pdf_cold(part, root / "b-old-pdf", timeout=3600), halves))

    t_old = _timed(old_bulk)
    one = _write(root / "b-one", base, bulk, "one")
    t_one = _timed(lambda: to_pdf_parallel(one, root / "b-one-pdf", workers=1, timeout=600))
    two = _write(root / "b-two", base, bulk, "two")
    pool(2, binary)[1].convert(*_write(root / "w2", base, 1, "start2"), root / "w2" / "x.pdf")  # start it first
    cpu0 = _cpu_children()
    t_two = _timed(lambda: to_pdf_parallel(two, root / "b-two-pdf", workers=2, timeout=600))
    cpu = _cpu_children() - cpu0
    t_cache = _timed(lambda: to_pdf_parallel(two, root / "b-cache-pdf", workers=2))
    print(f"Hàng loạt: {bulk} văn bản")
    print(f"  2 soffice, mỗi tiến trình nửa số tệp (cũ) {t_old:7.1f} s  ({t_old / bulk:5.2f} s/văn bản; 1,0×)")
    print(f"  1 bộ chuyển ấm                          {t_one:7.1f} s  ({t_one / bulk:5.2f} s/văn bản; "
          f"{t_old / t_one:4.1f}×)")
    print(f"  2 bộ chuyển ấm (cả hai lõi)             {t_two:7.1f} s  ({t_two / bulk:5.2f} s/văn bản; "
          f"{t_old / t_two:4.1f}× so với cũ, {t_one / t_two:4.1f}× so với 1 bộ chuyển)")
    print(f"    CPU của LibreOffice trong lượt này     {cpu:7.1f} s  (= {cpu / t_two:3.1f} lõi bận trung bình)")
    print(f"  lặp lại, lấy từ bộ nhớ đệm PDF          {t_cache:7.2f} s")
    shutdown()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
