"""Which units an index set assesses: read from the set's own `covers` (data), never from its code,
so an imported set with a new code covers exactly what its file says."""
from __future__ import annotations

from typing import Protocol

from cdsflow.workflow.units import UnitKind


class Covers(Protocol):
    @property
    def covers_kinds(self) -> tuple[str, ...]: ...
    @property
    def covers_levels(self) -> tuple[str, ...]: ...


def assessed_by(index_set: Covers, kind: str, level: str | None) -> bool:
    if kind not in index_set.covers_kinds:
        return False
    if kind != UnitKind.SCHOOL.value:
        return True
    return level is not None and level in index_set.covers_levels
