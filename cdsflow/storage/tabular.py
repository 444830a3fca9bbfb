"""Reads CSV and XLSX lists into rows keyed by (folded) column header, with Excel row numbers."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import fold
from cdsflow.storage.filelimits import MAX_TABLE_BYTES, MAX_TABLE_ROWS, check_size, check_xlsx

Row = tuple[int, dict[str, str]]


def read_table(path: str | Path, aliases: dict[str, list[str]]) -> list[Row]:
    """Rows as (row number, {field: text}); headers matched to fields through `aliases`.

    Row numbers are the spreadsheet's: the header is row 1, so the first data row is row 2.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"Không tìm thấy tệp: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        grid = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        grid = _read_xlsx(path)
    else:
        raise InvalidInput(f"Tệp {path.name}: chỉ nhận tệp .csv hoặc .xlsx")
    if not grid:
        raise InvalidInput(f"Tệp {path.name} trống")
    lookup = {fold(a): field for field, names in aliases.items() for a in [field, *names]}
    header = [lookup.get(fold(h or "")) for h in grid[0]]
    unknown = [h for h, f in zip(grid[0], header, strict=False) if f is None and (h or "").strip()]
    if unknown:
        raise InvalidInput(
            f"Tệp {path.name}: không hiểu cột {', '.join('«' + str(u) + '»' for u in unknown)}",
            details=[f"Các cột được nhận: {', '.join(names[0] for names in aliases.values())}"],
        )
    rows: list[Row] = []
    for number, cells in enumerate(grid[1:], start=2):
        if not any((c or "").strip() for c in cells):
            continue
        rows.append((number, {f: (c or "").strip() for f, c in zip(header, cells, strict=False) if f}))
    return rows


def _read_csv(path: Path) -> list[list[str]]:
    check_size(path, MAX_TABLE_BYTES)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"Tệp {path.name} không phải UTF-8: hãy lưu lại với mã hóa UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return _bounded(csv.reader(io.StringIO(text), dialect), path)


def _bounded(rows, path: Path) -> list[list[str]]:
    out = []
    for row in rows:
        if len(out) > MAX_TABLE_ROWS:  # header + MAX_TABLE_ROWS data rows
            raise InvalidInput(f"Tệp {path.name} có quá nhiều dòng (tối đa {MAX_TABLE_ROWS:,} dòng)".replace(",", "."))
        out.append(row)
    return out


def _read_xlsx(path: Path) -> list[list[str]]:
    check_xlsx(path)  # before openpyxl is even imported
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds on a broken file
        raise InvalidInput(f"Không đọc được tệp Excel {path.name}: {err}") from None
    try:
        ws = wb.worksheets[0]
        return _bounded((["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)), path)
    finally:
        wb.close()
