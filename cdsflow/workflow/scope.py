"""Which units an index set assesses (data about the Ministry's decisions, not about storage)."""
from __future__ import annotations

from cdsflow.workflow.units import EducationLevel, UnitKind

# 4725: general-education schools and GDTX; 3276: preschools; 3806: the Sở/Phòng themselves.
_SCHOOL_LEVELS = {
    "4725": {EducationLevel.PRIMARY, EducationLevel.LOWER_SECONDARY, EducationLevel.UPPER_SECONDARY,
             EducationLevel.MULTI_LEVEL, EducationLevel.CONTINUING},
    "3276": {EducationLevel.PRESCHOOL},
}
_AUTHORITY_SETS = {"3806"}


def assessed_by(index_set_code: str, kind: str, level: str | None) -> bool:
    code = index_set_code.split("/")[0].split("-")[0]
    if code in _AUTHORITY_SETS:
        return kind == UnitKind.BUREAU.value
    if kind != UnitKind.SCHOOL.value:
        return False
    levels = _SCHOOL_LEVELS.get(code)
    return levels is None or (level is not None and EducationLevel(level) in levels)
