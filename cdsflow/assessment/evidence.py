"""Evidence (minh chứng) rules: what a criterion still lacks before the proposal, what rolls over.

Pure functions. Evidence is asked for where the index set says `evidence_required` *and* the
school claims something (points above 0, or a mandatory condition met): a criterion scored 0
has nothing to prove.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import ScoreResult


class AssignmentRole(StrEnum):
    LEAD = "chu_tri"  # chủ trì
    DOER = "thuc_hien"  # thực hiện

    @property
    def label(self) -> str:
        return {"chu_tri": "Chủ trì", "thuc_hien": "Thực hiện"}[self.value]


class AssignmentStatus(StrEnum):
    TODO = "chua_bat_dau"
    DOING = "dang_thuc_hien"
    DONE = "hoan_thanh"

    @property
    def label(self) -> str:
        return {"chua_bat_dau": "Chưa bắt đầu", "dang_thuc_hien": "Đang thực hiện", "hoan_thanh": "Hoàn thành"}[self.value]


def evidence_needed(index_set: IndexSet, result: ScoreResult | None) -> list[str]:
    """Criterion codes whose evidence the index set asks for, given what the school claims."""
    out = []
    for code, crit in index_set.criteria.items():
        if not crit.evidence_required:
            continue
        if result is None:
            out.append(code)
            continue
        if crit.mandatory:
            if result.mandatory.get(code):
                out.append(code)
        elif result.criteria.get(code, 0) > 0:
            out.append(code)
    return out


def proposal_gaps_for(index_set: IndexSet, result: ScoreResult | None, evidence_codes: Iterable[str]) -> list[str]:
    """Vietnamese reasons the self-assessment cannot go to proposal yet; empty = ready.

    `evidence_codes`: the criterion or item codes that have at least one evidence entry (an entry
    on a sub-item counts for its criterion).
    """
    reasons: list[str] = []
    items = index_set.items
    if result is None:
        unscored = list(items)
    else:
        unscored = list(result.unscored)
    for code in unscored:
        reasons.append(f"Mục {code} chưa được chấm điểm: {items[code].label}")
    covered: set[str] = set()
    for code in evidence_codes:
        crit = index_set.criterion_of(code)
        if crit is not None:
            covered.add(crit.code)
    for code in evidence_needed(index_set, result):
        if code not in covered:
            crit = index_set.criteria[code]
            reasons.append(f"Tiêu chí {code} chưa có minh chứng (cần: {'; '.join(crit.evidence)})")
    return reasons


def still_valid(valid_until: date | None, on: date) -> bool:
    """An evidence entry without an end date stays valid; one with an end date, until that day."""
    return valid_until is None or valid_until >= on
