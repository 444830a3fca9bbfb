"""A school's results, and which score counts: the single use-case every paper (and, after the
merge, every page) reads results through.

Built on the scoring service's own functions (`load_answers`, `index_set_for_assessment`) and the
pure `score`, so a paper and the scoring page print the same figures. Read-only: nothing is
stored here. A lookup that finds nothing raises `NoResults` with a Vietnamese reason, never `{}`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from cdsflow.assessment.scoring import ScoreResult, score
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.lookups import recognition_decision as recognition_decision  # also this module's interface
from cdsflow.services.scoring import PHASE_LABELS, PHASES, list_evidence, load_answers
from cdsflow.services.sends import sent_self_answers
from cdsflow.storage.tables import Assessment, AssessmentEvent, Unit


class NoResults(NotFound):
    """The results a paper or page needs are not stored."""


@dataclass(frozen=True)
class GroupResult:
    code: str
    name: str
    points: Decimal
    max_points: Decimal
    level: int | None
    level_label: str  # the band's name in the index set, e.g. "Mức đáp ứng cơ bản"; "Chưa đạt (…)"
    failed_mandatory: tuple[str, ...] = ()  # mandatory criteria not met: the group reaches no level

    @property
    def level_or_state(self) -> int | str | None:
        """What a paper's level column prints: the level, else why there is none ("Chưa đạt (…)")."""
        return self.level if self.level is not None else (self.level_label or None)


@dataclass(frozen=True)
class CriterionRow:
    code: str
    group_code: str
    name: str
    max_points: Decimal
    self_points: Decimal | None  # None: the phase has no answer for it
    external_points: Decimal | None
    evidence: tuple[str, ...]
    mandatory: bool


@dataclass(frozen=True)
class MandatoryCondition:
    code: str
    label: str
    met: bool | None  # None: not answered


@dataclass(frozen=True)
class SchoolResults:
    assessment_id: int
    phase: str  # which phase the numbers come from: self | external
    groups: tuple[GroupResult, ...]
    criteria: tuple[CriterionRow, ...]
    mandatory: tuple[MandatoryCondition, ...]
    unscored: tuple[str, ...]
    overall_level: int | None  # only when the index set merges the group levels
    override_reason: str = ""  # recognised on the self scores by an explicit override

    @property
    def complete(self) -> bool:
        return not self.unscored

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[self.phase]

    @property
    def level_text(self) -> str:
        """The level a paper states: the merged level, else each group's (the index set's rule)."""
        if self.overall_level is not None:
            return f"Mức {self.overall_level}"
        return "; ".join(f"Mức {g.level} (nhóm tiêu chí {g.code})" if g.level is not None
                         else f"{g.level_label} (nhóm tiêu chí {g.code})" for g in self.groups
                         if g.level is not None or g.level_label)


    @property
    def level_names(self) -> str:
        """The same, in the index set's own words ("Mức đáp ứng tốt (nhóm tiêu chí 1); …")."""
        if self.overall_level is not None:
            return f"Mức {self.overall_level}"
        return "; ".join(f"{g.level_label} (nhóm tiêu chí {g.code})" for g in self.groups if g.level_label)


def _assessment(session: Session, assessment_id: int) -> Assessment:
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    return a


def _school_name(session: Session, a: Assessment) -> str:
    unit = session.get(Unit, a.school_id)
    return unit.name if unit else f"hồ sơ số {a.id}"


def school_results(session: Session, assessment_id: int, phase: str = "self") -> SchoolResults:
    """The school's results in one phase; `NoResults` when that phase has no answer stored."""
    if phase not in PHASES:
        raise InvalidInput(f"Giai đoạn chấm điểm không hợp lệ: «{phase}» (self = tự đánh giá, external = đánh giá ngoài)")
    a = _assessment(session, assessment_id)
    answers = {p: load_answers(session, a.id, p) for p in ("self", "external")}
    # Once sent, the self scores and evidence are those of the send that counts (FORMAT.md).
    sent = sent_self_answers(session, a)
    if sent is not None:
        answers["self"] = sent[0]
    if not answers[phase]:
        raise NoResults(f"{_school_name(session, a)} chưa có điểm {PHASE_LABELS[phase]} nào được lưu")
    index_set = index_set_for_assessment(session, a.id)
    result = score(index_set, answers[phase])
    other = "external" if phase == "self" else "self"
    other_result = score(index_set, answers[other]) if answers[other] else None
    by_phase = {phase: result, other: other_result}

    criterion_of = {i.code: c.code for c in index_set.criteria.values() for i in c.items}
    evidence: dict[str, list[str]] = {}
    entries = ([(e["criterion_code"], e["document_number"], e["title"]) for e in sent[1].evidence] if sent is not None
               else [(e.criterion_code, e.document_number, e.title) for e in list_evidence(session, a.id)])
    for criterion_code, number, title in entries:
        code = criterion_code if criterion_code in index_set.criteria else criterion_of.get(criterion_code, "")
        evidence.setdefault(code, []).append(" ".join(x for x in (number, title) if x))

    def points(r: ScoreResult | None, code: str) -> Decimal | None:
        if r is None:
            return None
        crit = index_set.criteria[code]
        return r.criteria.get(code) if any(r.items[i.code].answered for i in crit.items) else None

    rows = []
    for g in index_set.groups:
        for c in g.criteria:
            rows.append(CriterionRow(c.code, g.code, c.label, c.max_points, points(by_phase["self"], c.code),
                                     points(by_phase["external"], c.code), tuple(evidence.get(c.code, ())),
                                     c.mandatory))
    groups = tuple(GroupResult(g.code, g.name, g.total, g.max_points, g.level, g.level_name, g.failed_mandatory)
                   for g in result.groups)
    mandatory = tuple(MandatoryCondition(code, index_set.criteria[code].label, met)
                      for code, met in result.mandatory.items())
    return SchoolResults(a.id, phase, groups, tuple(rows), mandatory, tuple(result.unscored), result.overall_level)


@dataclass(frozen=True)
class ProposedLevel:
    group: GroupResult
    level: int


def _requested(requested: Any, groups: tuple[GroupResult, ...]) -> dict[str, int] | None:
    """A paper's `requested_level`: one level per group ({"1": 2, "2": 3}) or one for every group."""
    if requested in (None, "", {}):
        return None
    if isinstance(requested, dict):
        pairs = {str(k): v for k, v in requested.items()}
    else:
        pairs = {g.code: requested for g in groups}
    out = {}
    for code, level in pairs.items():
        text = str(level).strip().lower().removeprefix("mức").strip()
        if not text.isdigit():
            raise InvalidInput(f"Mức đề nghị công nhận cho nhóm tiêu chí {code} không hợp lệ: «{level}» (ghi 1, 2 hoặc 3)")
        out[code] = int(text)
    unknown = sorted(set(out) - {g.code for g in groups})
    if unknown:
        raise InvalidInput(f"Bộ chỉ số không có nhóm tiêu chí {', '.join(unknown)} để đề nghị công nhận mức")
    return out


def proposed_levels(res: SchoolResults, requested: Any = None) -> list[ProposedLevel]:
    """The levels a Tờ trình may propose, one per group as the index set defines them: the level each
    group reaches, or a lower one the school asks for. A group whose mandatory criterion is not met
    reaches none; asking for it, or for more than reached, is refused naming why. Nothing to propose
    at all is refused too."""
    asked = _requested(requested, res.groups)
    out = []
    for g in res.groups:
        want = asked.get(g.code) if asked is not None else g.level
        if asked is not None and g.code not in asked:
            continue
        if g.level is None:
            if asked is None:
                continue
            why = (f"điều kiện bắt buộc {', '.join(g.failed_mandatory)} chưa đạt" if g.failed_mandatory
                   else "tổng điểm chưa đạt mức nào")
            raise InvalidInput(f"Không đề nghị công nhận mức {want} cho nhóm tiêu chí {g.code} được: nhóm chưa đạt "
                               f"mức nào ({why})")
        if want is None or want > g.level:
            raise InvalidInput(f"Không đề nghị công nhận mức {want} cho nhóm tiêu chí {g.code} được: nhóm chỉ đạt "
                               f"mức {g.level} ({_n(g.points)}/{_n(g.max_points)} điểm)")
        out.append(ProposedLevel(g, want))
    if not out:
        failed = [c for g in res.groups for c in g.failed_mandatory]
        why = f"điều kiện bắt buộc {', '.join(failed)} chưa đạt" if failed else "chưa nhóm tiêu chí nào đạt mức"
        raise InvalidInput(f"Tờ trình không có mức nào để đề nghị công nhận: {why}")
    return out


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f").replace(".", ",")


def recognition_event(session: Session, assessment_id: int) -> AssessmentEvent | None:
    """The latest `recognise` step of the assessment's history (after a return, the new one)."""
    return session.exec(select(AssessmentEvent).where(AssessmentEvent.assessment_id == assessment_id,
                                                      AssessmentEvent.trigger == "recognise")
                        .order_by(col(AssessmentEvent.id).desc())).first()


def override_reason(event: AssessmentEvent | None) -> str:
    return str(((event.details or {}) if event is not None else {}).get("override_reason") or "").strip()


def recognised_results(session: Session, assessment_id: int) -> SchoolResults:
    """What the recognition settled: the external review's results; the self-assessment's only
    when the recognition was an explicit override (its reason is carried along)."""
    a = _assessment(session, assessment_id)
    event = recognition_event(session, a.id)
    if event is None:
        raise NoResults(f"{_school_name(session, a)} chưa được công nhận: chưa có kết quả công nhận")
    reason = override_reason(event)
    if reason:
        return replace(school_results(session, a.id, "self"), override_reason=reason)
    try:
        return school_results(session, a.id, "external")
    except NoResults:
        raise NoResults(f"{_school_name(session, a)} được công nhận nhưng chưa có điểm đánh giá ngoài "
                        "(và không có lý do công nhận ngoại lệ trong lịch sử)") from None


