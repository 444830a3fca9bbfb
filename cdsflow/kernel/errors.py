"""Domain errors. Each carries a message written for the Vietnamese user."""
from __future__ import annotations


class CdsError(Exception):
    """Base of every refusal the user must read. `str(err)` is the Vietnamese message."""

    exit_code = 1

    def __init__(self, message: str, *, details: list[str] | None = None, cli: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        # How to do it at the command line ("--reason", "cdsflow docs settings …"): said by the CLI
        # (`str(err)`) only; the web shows `message` and `details`, which speak of no door.
        self.cli = cli

    def __str__(self) -> str:
        head = f"{self.message} ({self.cli})" if self.cli else self.message
        if not self.details:
            return head
        return head + "\n" + "\n".join(f"  - {d}" for d in self.details)


class NotFound(CdsError):
    exit_code = 3


class InvalidInput(CdsError):
    exit_code = 2


class TransitionRefused(CdsError):
    exit_code = 4


class StaleUpdate(CdsError):
    exit_code = 5


class Forbidden(CdsError):
    exit_code = 6


class StorageError(CdsError):
    """The database refused or failed; the message says what clashed, in Vietnamese. The storage layer
    raises these in place of the driver's errors, so the doors never see the database library."""

    exit_code = 7


class StorageConflict(StorageError):
    """A unique or reference rule of the database was broken (a race the use-case did not foresee)."""


class StorageBadValue(StorageError):
    """A value the database cannot hold (too long, out of range)."""


class StorageUnavailable(StorageError):
    """The database is busy or cannot be reached: trying again later may work."""
