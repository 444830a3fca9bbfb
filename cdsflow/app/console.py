"""Terminal output shared by the CLI modules."""
from __future__ import annotations

from rich.console import Console

from cdsflow.calendars.timeutil import short_instant
from cdsflow.kernel.errors import CdsError

console = Console()
err_console = Console(stderr=True)


def fail(err: CdsError | str) -> None:
    err_console.print(f"[bold red]Lỗi:[/] {err}", highlight=False)


def local(at) -> str:
    """An instant as Vietnamese officers read it: 23:59 31/03/2025 (calendars.timeutil)."""
    return short_instant(at) if at is not None else ""
