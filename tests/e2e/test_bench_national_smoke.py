"""The national benchmark harness (bench/national.py) runs end to end at its quick shape and keeps
going when one measure fails. No timing is asserted: the figures are the benchmark's business."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bench.national as national

ROOT = Path(__file__).resolve().parents[2]
HEADER = "| Phép đo | Sản phẩm | Mức sàn (cùng lần chạy) | Tỉ lệ | Mục tiêu | Đạt |"


def test_quick_run_prints_the_table_with_one_row_per_measure(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "national.py"), "--quick", "--only", "status,relative"],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert HEADER in lines
    rows = [line for line in lines[lines.index(HEADER) + 2:] if line.startswith("| ")]
    assert len(rows) == 2, done.stdout
    status, relative = rows
    assert status.startswith("| Tình trạng kế hoạch (campaign status): 40 so với 8 phường/xã | ")
    assert status.endswith("| ≤ 2× | có |") or status.endswith("| ≤ 2× | không |")
    assert relative.startswith("| Hạn tương đối so với hạn cố định: tình trạng 4 kế hoạch của Sở (600 trường")
    assert "lỗi" not in done.stdout
    assert lines[-1].startswith("Thời gian chạy: ")


def test_a_failing_measure_prints_its_error_in_its_row_and_the_run_goes_on(monkeypatch, capsys):
    def broken(ctx):
        raise RuntimeError("không đọc được kế hoạch")

    monkeypatch.setitem(national.MEASURES, "status", broken)
    national.main(["--quick", "--only", "status,search"])
    out = capsys.readouterr().out.splitlines()
    assert "| Tình trạng kế hoạch (campaign status) | lỗi: RuntimeError: không đọc được kế hoạch | — | — | — | — |" in out
    assert any(line.startswith("| Tìm trường «Nguyễn Trãi»: 40 so với 8 phường/xã | ") for line in out)


def test_an_unknown_measure_is_refused_in_vietnamese(capsys):
    try:
        national.parse(["--only", "status,nhanh"])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("--only nhanh should be refused")
    assert "phép đo không có: nhanh" in capsys.readouterr().err


def test_the_national_shape_spreads_wards_over_provinces_and_schools_over_wards():
    sgd, wards, schools = national.unit_rows(schools=3_321 * 2, wards=3_321, provinces=34)
    assert len({r["name"] for r in sgd}) == 34 and sgd[0]["name"] == "Sở Giáo dục và Đào tạo Hà Nội"
    assert len({r["name"] for r in wards}) == 3_321  # every ward's name is its own
    assert {r["supervisor_code"] for r in wards} == {r["code"] for r in sgd}
    assert {r["supervisor_code"] for r in schools} == {r["code"] for r in wards}
    assert wards[0]["name"].startswith("Phòng Văn hóa – Xã hội ")
