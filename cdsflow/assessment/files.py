"""Index-set files: a YAML or XLSX file read and validated, and the index sets that ship with cdsflow.

Apart from loader.py because the workbook reader (xlsx.py) is built on the loader's parser: the file
dispatcher sits above both.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

from cdsflow.assessment.loader import SHIPPED_DIR, IndexSetError, load_yaml_text
from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.xlsx import load_index_set_workbook
from cdsflow.kernel import safeyaml


def load_index_set_file(path: str | Path) -> IndexSet:
    """Read a YAML or XLSX index-set file and validate it."""
    path = Path(path)
    if not path.is_file():
        raise IndexSetError(f"Không tìm thấy tệp bộ chỉ số {path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return load_index_set_workbook(path)
    if suffix in (".yaml", ".yml"):
        try:
            text = safeyaml.read_text(path)
        except safeyaml.YamlInputError as err:
            raise IndexSetError(str(err)) from None
        return load_yaml_text(text, path.name)
    raise IndexSetError(f"Tệp {path.name}: chỉ nhận tệp .yaml, .yml hoặc .xlsx")


@cache
def shipped_index_sets() -> dict[str, IndexSet]:
    """The index sets that ship with cdsflow, by code (4725 in full; 3276 and 3806 as frames)."""
    out: dict[str, IndexSet] = {}
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        s = load_index_set_file(path)
        out[s.code] = s
    return out
