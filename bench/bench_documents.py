"""Benchmark: official documents. Prints figures and ratios; never part of pass/fail.

    .venv/bin/python bench/bench_documents.py [N]

Per document (a 2-page decision with its annex): plain docxtpl constructed per render, the
project's path (template compiled once, only the XML parts re-rendered), the project's path on
2 processes, and the floor of writing the .docx zip alone. Then the recognition decision with a
3,000-school annex, from domain rows to bytes.
"""
from __future__ import annotations

import io
import statistics
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docxtpl import DocxTemplate  # noqa: E402

from cdsflow.documents import contexts as cx  # noqa: E402
from cdsflow.documents.build_templates import FIXED_ZIP_TIME  # noqa: E402
from cdsflow.documents.render import compiled, jinja_env, render, template_path  # noqa: E402
from cdsflow.documents.samples import sample_context, sample_issue, sample_recognitions, sample_units  # noqa: E402

CODE = "qd_hoi_dong"


def _plain(ctx: dict) -> bytes:
    tpl = DocxTemplate(str(template_path(CODE)))
    tpl.render(ctx, jinja_env(), autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def _fast(ctx: dict) -> bytes:
    return render(CODE, ctx)


def _fast_batch(ctxs: list[dict]) -> int:
    return sum(len(render(CODE, c)) for c in ctxs)


def _timed(fn, n: int) -> float:
    """Median seconds per call over 3 rounds of n calls."""
    rounds = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - t) / n)
    return statistics.median(rounds)


def main(n: int = 200) -> None:
    ctx = sample_context(CODE)
    compiled(CODE)  # compile once, as a worker does on first use
    rendered = _fast(ctx)
    with zipfile.ZipFile(io.BytesIO(rendered)) as zf:
        members = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]

    def floor() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, raw in members:
                zf.writestr(zipfile.ZipInfo(name, FIXED_ZIP_TIME), raw)
        return out.getvalue()

    plain = _timed(lambda: _plain(ctx), max(10, n // 10))
    fast = _timed(lambda: _fast(ctx), n)
    zip_floor = _timed(floor, n)
    ctxs = [ctx] * (n * 2)
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(_fast_batch, [ctxs[:2], ctxs[:2]]))  # warm the workers (compile once each)
        t = time.perf_counter()
        list(pool.map(_fast_batch, [ctxs[i:i + 100] for i in range(0, len(ctxs), 100)]))
        two = (time.perf_counter() - t) / len(ctxs)

    print(f"Văn bản: {CODE} ({len(rendered):,} B, mẫu {template_path(CODE).stat().st_size:,} B), N={n}")
    print(f"  docxtpl dựng mới mỗi lần     {plain * 1000:8.2f} ms/văn bản   (1,0×)")
    print(f"  đường của dự án (1 lõi)      {fast * 1000:8.2f} ms/văn bản   ({plain / fast:4.1f}× nhanh hơn docxtpl)")
    print(f"  đường của dự án (2 tiến trình) {two * 1000:6.2f} ms/văn bản   "
          f"({plain / two:4.1f}×; {fast / two:3.1f}× so với 1 lõi)")
    print(f"  sàn: chỉ ghi tệp zip .docx   {zip_floor * 1000:8.2f} ms/văn bản   (đường dự án = {fast / zip_floor:4.1f}× sàn)")

    bureau, _, campaign = sample_units()
    recognitions = sample_recognitions(3000)
    issue = sample_issue("bureau")
    t = time.perf_counter()
    big_ctx = cx.qd_cong_nhan(bureau, campaign, recognitions, issue)
    t_ctx = time.perf_counter() - t
    t = time.perf_counter()
    big_cold = render("qd_cong_nhan", big_ctx)
    t_cold = time.perf_counter() - t
    t = time.perf_counter()
    render("qd_cong_nhan", big_ctx)
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    tpl = DocxTemplate(str(template_path("qd_cong_nhan")))
    tpl.render(big_ctx, jinja_env(), autoescape=True)
    tpl.save(io.BytesIO())
    t_plain = time.perf_counter() - t
    total = t_ctx + t_cold
    print("Quyết định công nhận, phụ lục 3.000 trường:")
    print(f"  dựng ngữ cảnh (nhóm, sắp xếp)  {t_ctx:6.2f} s")
    print(f"  kết xuất lần đầu (gồm biên dịch) {t_cold:4.2f} s; lần sau {t_warm:.2f} s; docxtpl {t_plain:.2f} s "
          f"({t_plain / t_warm:.1f}×)")
    print(f"  tổng {total:.2f} s (mục tiêu < 10 s), tệp {len(big_cold):,} B")


def bulk(schools: int = 500) -> None:
    """Whole-campaign generation through the service (SQLite file): numbers, contexts, records, files."""
    import tempfile
    from datetime import date

    from cdsflow.documents.samples import seed_database
    from cdsflow.services import papers as service
    from cdsflow.storage.db import make_engine
    from cdsflow.storage.schema import metadata

    with tempfile.TemporaryDirectory(prefix="cdsflow-bench-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        metadata.create_all(engine)
        seed = seed_database(engine, schools)
        print(f"Tạo quyết định thành lập Hội đồng cho cả đợt ({schools} trường, SQLite, gồm kiểm tra điều kiện, "
              "cấp số và lưu ngữ cảnh):")
        for workers in (1, 2):
            t = time.perf_counter()
            service.generate_for_campaign(engine, "qd_hoi_dong", seed["campaign_id"], Path(tmp) / f"out{workers}",
                                          workers=workers, issued_on=date(2026, 4, 1), on_existing="new")
            dt = time.perf_counter() - t
            print(f"  {workers} tiến trình: {dt:5.2f} s ({dt / schools * 1000:.1f} ms/trường)")
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    bulk()
