"""The calendars shipped with cdsflow (cdsflow/calendars/data/<province>/<name>.yaml)."""
from __future__ import annotations

from pathlib import Path

from cdsflow.kernel.errors import NotFound

DATA_DIR = Path(__file__).with_name("data")


def shipped_calendars() -> list[Path]:
    return sorted(DATA_DIR.glob("*/*.yaml"))


def calendar_name(path: Path) -> str:
    """'hanoi/ba-dinh-2024-2025' for a shipped file; the path itself otherwise."""
    try:
        rel = Path(path).resolve().relative_to(DATA_DIR.resolve())
    except ValueError:
        return str(path)
    return rel.with_suffix("").as_posix()


def find_calendar(name_or_path: str | Path) -> Path:
    """A path to an existing file, or a shipped name such as 'hanoi/ba-dinh-2024-2025'."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    name = str(name_or_path).removesuffix(".yaml")
    shipped = DATA_DIR / f"{name}.yaml"
    if ".." not in Path(name).parts and shipped.is_file():
        return shipped
    known = ", ".join(calendar_name(p) for p in shipped_calendars())
    raise NotFound(f"Không tìm thấy lịch '{name_or_path}'", details=[f"Lịch có sẵn: {known}"])
