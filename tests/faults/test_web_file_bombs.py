"""A zip-bomb .xlsx and a 50 MB CSV are refused from their size alone: fast, and before any parser runs."""
from __future__ import annotations

import time
import tracemalloc
import zipfile

import pytest

from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage import filelimits
from cdsflow.storage.tabular import read_table
from tests.e2e.cli import Cli

UNIT_ALIASES = {"code": ["Mã đơn vị"]}

pytestmark = pytest.mark.faults


def _bomb(path, mb: int = 1024) -> None:
    """A valid-looking .xlsx whose one sheet inflates to `mb` MB of XML (a few hundred KB on disk)."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            block = row * 20000
            for _ in range(mb * 1024 * 1024 // len(block)):
                fh.write(block)
            fh.write(b"</sheetData></worksheet>")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "danh-sach.xlsx"
    _bomb(path)
    return path


def test_zip_bomb_refusal_costs_milliseconds(bomb):
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as err:
        read_table(bomb, UNIT_ALIASES)
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\nzip bomb ({bomb.stat().st_size // 1024} KB → 1 GB) refused in {took * 1000:.1f} ms, "
          f"{peak / 1024:.0f} KB allocated at peak")
    assert "độc hại" in err.value.message and peak < 1024 * 1024


@pytest.mark.parametrize("args", [("units", "import"), ("indexset", "check"), ("score", "show", "4725")])
def test_zip_bomb_xlsx_is_refused_from_its_directory(tmp_path, bomb, args):
    cli = Cli(tmp_path)
    cli("init")
    started = time.monotonic()
    done = cli(*args, str(bomb), ok=False)
    took = time.monotonic() - started
    print(f"\n{' '.join(args)} on a {bomb.stat().st_size // 1024} KB bomb: refused in {took:.2f} s")
    assert done.returncode == 2 and "có thể là tệp độc hại" in done.stderr, done.stderr
    assert took < 30  # generous (process start included); unprotected it ran for minutes


def test_a_50mb_csv_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "danh-sach.csv"
    header = "Mã đơn vị,Tên đơn vị,Ký hiệu,Loại đơn vị,Cấp học,Địa danh,Cơ quan chủ quản,Email,Mã đơn vị quản lý\n"
    line = "TH-X,Trường Tiểu học X,THX,Trường,Tiểu học,Hà Nội,Phòng GDĐT,x@example.vn,PGD\n"
    with big.open("w", encoding="utf-8") as fh:
        fh.write(header)
        fh.write(line * (50 * 1024 * 1024 // len(line.encode())))
    cli = Cli(tmp_path)
    cli("init")
    done = cli("units", "import", str(big), ok=False)
    assert done.returncode == 2 and "quá lớn" in done.stderr, done.stderr
    # The same reader in this process: time and memory of the refusal itself.
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InvalidInput):
        read_table(big, UNIT_ALIASES)
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\n50 MB CSV refused in {took * 1000:.1f} ms, {peak / 1024:.0f} KB allocated at peak")
    assert peak < 1024 * 1024


def test_too_many_rows_are_refused(tmp_path):
    path = tmp_path / "nhieu-dong.csv"
    path.write_text("a\n" + "x\n" * (filelimits.MAX_TABLE_ROWS + 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        read_table(path, {"a": []})
    assert "quá nhiều dòng" in err.value.message
