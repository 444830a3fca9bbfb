"""Scoring and evidence for the web: who may enter which phase, then the scoring services.

The school enters the self-assessment (phase "self") until its proposal locks the file; the review
team enters its own scores (phase "external") beside the school's during the external review.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cdsflow.app.web.access import PERMISSIONS, assessment_for
from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import ScoreResult, score
from cdsflow.storage.assessment_tables import EvidenceEntry
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.errors import Forbidden, InvalidInput, NotFound
from cdsflow.workflow.services import scoring as scoring_svc
from cdsflow.workflow.services.accounts import Principal, Role
from cdsflow.workflow.services.indexsets import index_set_for_assessment
from cdsflow.workflow.stages import Stage

PHASE_ROLES = {"self": frozenset({Role.SCHOOL_HEAD, Role.COMMITTEE}),
               "external": frozenset({Role.OFFICER, Role.REVIEWER})}
PHASE_LABELS = {"self": "Tự đánh giá", "external": "Đánh giá ngoài"}
PERMISSIONS["score_self"] = PHASE_ROLES["self"]
PERMISSIONS["score_external"] = PHASE_ROLES["external"]
PERMISSIONS["evidence"] = PHASE_ROLES["self"]

EVIDENCE_TYPES = (".pdf", ".docx", ".xlsx", ".doc", ".xls", ".jpg", ".jpeg", ".png", ".zip")
EVIDENCE_MAX = 20 * 1024 * 1024  # scanned decisions and photos; the route's body limit matches
MEDIA_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _phase(phase: str) -> str:
    if phase not in PHASE_ROLES:
        raise InvalidInput(f"Giai đoạn chấm điểm không hợp lệ: «{phase}» (self hoặc external)")
    return phase


def can_score(p: Principal, phase: str, stage: Stage, locked: bool) -> bool:
    if p.role not in PHASE_ROLES[phase]:
        return False
    if phase == "self":
        return not locked
    return stage == Stage.EXTERNAL_REVIEW


@dataclass
class ScoreSheet:
    assessment_id: int
    phase: str
    index_set: IndexSet
    answers: dict
    result: ScoreResult
    other: ScoreResult | None  # the other phase, shown beside (external next to self)
    evidence: list[EvidenceEntry]
    can_edit: bool
    can_add_evidence: bool


def sheet(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str = "self") -> ScoreSheet:
    a = assessment_for(uow, p, assessment_id)
    phase = _phase(phase)
    s = uow.session
    index_set = index_set_for_assessment(s, a.id)
    answers = scoring_svc.load_answers(s, a.id, phase)
    other_answers = scoring_svc.load_answers(s, a.id, "external" if phase == "self" else "self")
    return ScoreSheet(
        assessment_id=a.id, phase=phase, index_set=index_set, answers=answers, result=score(index_set, answers),
        other=score(index_set, other_answers) if other_answers else None,
        evidence=scoring_svc.list_evidence(s, a.id),
        can_edit=can_score(p, phase, Stage(a.state), a.locked),
        can_add_evidence=p.role in PERMISSIONS["evidence"] and not a.locked,
    )


def _check_edit(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str):
    a = assessment_for(uow, p, assessment_id)
    phase = _phase(phase)
    if p.role not in PHASE_ROLES[phase]:
        raise Forbidden("Tài khoản của bạn không nhập được điểm " + PHASE_LABELS[phase].lower() + ".")
    if phase == "external" and Stage(a.state) != Stage.EXTERNAL_REVIEW:
        raise InvalidInput("Chỉ nhập điểm đánh giá ngoài khi hồ sơ đang ở giai đoạn «Đang đánh giá ngoài».")
    return a, phase


def save(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str, answers: dict) -> ScoreResult:
    """Store the answers (an empty value clears an item); refused whole when one answer is bad."""
    a, phase = _check_edit(uow, p, assessment_id, phase)
    result = scoring_svc.save_answers(uow.session, a.id, phase, answers, p.actor_name)
    uow.commit()
    return result


def preview(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str, answers: dict) -> ScoreResult:
    """Totals and levels of what is on the form, stored answers underneath; nothing is written."""
    a, phase = _check_edit(uow, p, assessment_id, phase)
    index_set = index_set_for_assessment(uow.session, a.id)
    merged = {**scoring_svc.load_answers(uow.session, a.id, phase), **answers}
    return score(index_set, {k: v for k, v in merged.items() if v not in (None, "")})


def form_answers(index_set: IndexSet, form) -> dict:
    """`item:<code>` fields of a posted form; unknown fields are ignored, empty ones clear the item."""
    return {code: str(form.get(f"item:{code}", "")).strip() for code in index_set.items if f"item:{code}" in form}


def add_evidence(uow: UnitOfWork, p: Principal, assessment_id: int, *, criterion: str, title: str,
                 link: str = "", file_path: str = "", document_number: str = "") -> EvidenceEntry:
    a = assessment_for(uow, p, assessment_id)
    if p.role not in PERMISSIONS["evidence"]:
        raise Forbidden("Chỉ cơ sở giáo dục mới thêm minh chứng cho hồ sơ của mình.")
    entry = scoring_svc.add_evidence(uow.session, a.id, criterion, title, link=link, file_path=file_path,
                                     document_number=document_number, actor=p.actor_name)
    uow.commit()
    return entry


def evidence_file(uow: UnitOfWork, p: Principal, evidence_id: int, uploads: Path) -> tuple[Path, str]:
    """The stored file of one evidence entry, for someone who may see the assessment."""
    entry = uow.session.get(EvidenceEntry, evidence_id)
    if entry is None or not entry.file_path:
        raise NotFound(f"Không tìm thấy tệp minh chứng số {evidence_id}")
    assessment_for(uow, p, entry.assessment_id)
    root = (uploads / "evidence").resolve()
    path = (root / Path(entry.file_path).name).resolve()
    # Only our generated names directly under uploads/evidence; a stored path cannot point elsewhere.
    if path.parent != root or not path.is_file():
        raise NotFound(f"Không tìm thấy tệp minh chứng số {evidence_id}")
    download = f"minh-chung-{entry.id}{path.suffix}"
    return path, download


def remove_evidence(uow: UnitOfWork, p: Principal, evidence_id: int) -> int:
    entry = uow.session.get(EvidenceEntry, evidence_id)
    if entry is None:
        raise NotFound(f"Không tìm thấy minh chứng số {evidence_id}")
    assessment_for(uow, p, entry.assessment_id)
    if p.role not in PERMISSIONS["evidence"]:
        raise Forbidden("Chỉ cơ sở giáo dục mới xóa được minh chứng của mình.")
    aid = entry.assessment_id
    scoring_svc.remove_evidence(uow.session, evidence_id)
    uow.commit()
    return aid


def result_json(result: ScoreResult) -> dict:
    """The figures a form shows live: per item, per criterion, per group, total, levels."""
    num = lambda d: float(d)  # noqa: E731
    return {
        "items": {c: {"points": num(s.points), "max": num(s.max_points), "answered": s.answered, "tier": s.tier}
                  for c, s in result.items.items()},
        "criteria": {c: num(v) for c, v in result.criteria.items()},
        "groups": [{"code": g.code, "name": g.name, "total": num(g.total), "max": num(g.max_points),
                    "level": g.level, "level_name": g.level_name, "failed_mandatory": list(g.failed_mandatory)}
                   for g in result.groups],
        "total": num(result.total),
        "overall_level": result.overall_level,
        "total_level": result.total_level,
        "unscored": list(result.unscored),
        "complete": result.complete,
    }
