"""Who a launch covers and who it leaves out, with the reason: the one rule, used by the launch
itself (`campaigns.launch_campaign`) and by the launch page's preview."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.model import IndexSet
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import CampaignStatus
from cdsflow.services.indexsets import resolve_index_set
from cdsflow.services.units import descendants
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign, Unit
from cdsflow.workflow.scope import assessed_by
from cdsflow.workflow.units import LEVEL_LABELS, EducationLevel, UnitKind


@dataclass(frozen=True)
class LeftOut:
    unit_id: int
    reason: str


@dataclass
class LaunchScope:
    included: dict[int, int | None] = field(default_factory=dict)  # school id -> its bureau under the issuer
    left_out: list[LeftOut] = field(default_factory=list)


def _level_label(level: str | None) -> str:
    try:
        return LEVEL_LABELS[EducationLevel(level)]  # type: ignore[arg-type]  # None is refused by ValueError below
    except (ValueError, KeyError):
        return level or "không rõ cấp học"


def _not_covered_reason(session: Session, index_set: IndexSet, kind: str, level: str | None, cache: dict[str, Any]) -> str:
    """Why a school is outside this set: another set covers it (provisional or not), or none does."""
    if "others" not in cache:
        others = []
        for code in sorted(shipped_index_sets()):
            if code != index_set.code:
                others.append(resolve_index_set(session, code))
        cache["others"] = others
    label = _level_label(level)
    for other in cache["others"]:
        if assessed_by(other, kind, level):
            if other.provisional:
                return (f"{label}: đánh giá theo bộ chỉ số {other.code}, bộ này còn là khung tạm thời "
                        "nên chưa phát động được")
            return f"{label}: đánh giá theo bộ chỉ số {other.code}, cần một kế hoạch riêng theo bộ đó"
    return f"bộ chỉ số {index_set.code} không đánh giá cấp học «{label}»"


def launch_scope(uow: UnitOfWork, issuer: Unit, index_set: IndexSet, school_year: str,
                 school_codes: list[str] | None = None) -> LaunchScope:
    """The schools (and units) a campaign of `issuer` on `index_set` for `school_year` would open a
    file for, and every school under the issuer it would not, with why."""
    session = uow.session
    if not index_set.covers_kinds:
        raise InvalidInput(f"Bộ chỉ số {index_set.code} (phiên bản {index_set.version}) không ghi đối tượng được "
                           "đánh giá (covers: unit_kinds, education_levels): không phát động được")
    tree = descendants(uow, issuer.id)
    elsewhere = dict(((sid, (cid, name)) for sid, cid, name in session.execute(
        select(Assessment.school_id, Campaign.id, Unit.name)
        .join(Campaign, col(Campaign.id) == Assessment.campaign_id).join(Unit, col(Unit.id) == Campaign.issuer_id)
        .where(Campaign.school_year == school_year, Campaign.index_set_code == index_set.code,
               Campaign.status != CampaignStatus.CLOSED.value))))
    scope = LaunchScope()
    cache: dict[str, Any] = {}
    for uid, branch, kind, level in tree:
        if not assessed_by(index_set, kind, level):
            if kind == UnitKind.SCHOOL.value:
                scope.left_out.append(LeftOut(uid, _not_covered_reason(session, index_set, kind, level, cache)))
        elif uid in elsewhere:
            cid, name = elsewhere[uid]
            scope.left_out.append(LeftOut(uid, f"đã thuộc kế hoạch số {cid} của {name} cùng năm học {school_year}"))
        else:
            scope.included[uid] = branch
    if school_codes:
        wanted = dict(session.execute(select(col(Unit.code), col(Unit.id)).where(col(Unit.code).in_(school_codes))).all())
        missing = [c for c in school_codes if c not in wanted or wanted[c] not in scope.included]
        if missing:
            reasons = {lo.unit_id: lo.reason for lo in scope.left_out}
            raise InvalidInput(
                f"Các đơn vị sau không thuộc phạm vi của {issuer.name} theo bộ chỉ số {index_set.code}:",
                details=[f"{c}: {reasons[wanted[c]]}" if wanted.get(c) in reasons else c for c in missing],
            )
        chosen = {wanted[c] for c in school_codes}
        scope.left_out += [LeftOut(uid, "không được chọn trong lần phát động này")
                           for uid in scope.included if uid not in chosen]
        scope.included = {uid: scope.included[uid] for uid in (wanted[c] for c in school_codes)}
    return scope


@dataclass(frozen=True)
class ScopeLine:
    code: str
    name: str
    reason: str = ""


def describe_scope(uow: UnitOfWork, scope: LaunchScope, *, limit: int = 500) -> tuple[list[ScopeLine], list[ScopeLine]]:
    """(covered, left out) with codes and names, for the launch page: at most `limit` of each
    (a province's 54,000 schools are counted, not listed)."""
    shown_in = list(scope.included)[:limit]
    shown_out = scope.left_out[:limit]
    ids = [*shown_in, *(lo.unit_id for lo in shown_out)]
    names = {uid: (code, name) for uid, code, name in uow.session.execute(
        select(col(Unit.id), col(Unit.code), col(Unit.name)).where(col(Unit.id).in_(ids)))} if ids else {}
    covered = sorted((ScopeLine(*names[uid]) for uid in shown_in), key=lambda s: s.code)
    left = sorted((ScopeLine(*names[lo.unit_id], lo.reason) for lo in shown_out), key=lambda s: s.code)
    return covered, left
