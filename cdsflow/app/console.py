"""Terminal output shared by the CLI modules."""
from __future__ import annotations

from rich.console import Console

from cdsflow.workflow.errors import CdsError

console = Console()
err_console = Console(stderr=True)


def fail(err: CdsError | str) -> None:
    err_console.print(f"[bold red]Lỗi:[/] {err}", highlight=False)
