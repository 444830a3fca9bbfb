"""What the validator reports: one problem = file, line, Vietnamese message."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    code: str  # stable machine name, e.g. "unknown_stage" (tests and tools match on it)
    severity: str = ERROR
    file: Path | None = None

    def at(self, file: Path) -> Problem:
        return Problem(self.line, self.message, self.code, self.severity, file)

    def __str__(self) -> str:
        where = str(self.file) if self.file else "?"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


def error(line: int | None, code: str, message: str) -> Problem:
    return Problem(line, message, code, ERROR)


def warning(line: int | None, code: str, message: str) -> Problem:
    return Problem(line, message, code, WARNING)
