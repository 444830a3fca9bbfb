"""Scoring and evidence for the web: translate forms to the scoring use-cases.

Who may enter which phase, and when, is the rulebook's (`score_self`, `score_external`,
`evidence`); a page only asks it to decide what to show.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cdsflow.app.web.access import actor, assessment_for
from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import ScoreResult, score
from cdsflow.storage.assessment_tables import EvidenceEntry
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.errors import InvalidInput, NotFound
from cdsflow.workflow.services import authorization
from cdsflow.workflow.services import scoring as scoring_svc
from cdsflow.workflow.services import sends as sends_svc
from cdsflow.workflow.services.accounts import Principal
from cdsflow.workflow.services.indexsets import index_set_for_assessment

PHASE_LABELS = {"self": "Tự đánh giá", "external": "Đánh giá ngoài"}

EVIDENCE_TYPES = (".pdf", ".docx", ".xlsx", ".doc", ".xls", ".jpg", ".jpeg", ".png", ".zip")
EVIDENCE_MAX = 20 * 1024 * 1024  # scanned decisions and photos; the route's body limit matches
MEDIA_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _phase(phase: str) -> str:
    if phase not in PHASE_LABELS:
        raise InvalidInput(f"Giai đoạn chấm điểm không hợp lệ: «{phase}» (self hoặc external)")
    return phase


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
    revision: int = 0  # what the form sends back: a save based on an older one may clash


def sheet(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str = "self") -> ScoreSheet:
    a = assessment_for(uow, p, assessment_id)
    phase = _phase(phase)
    s = uow.session
    index_set = index_set_for_assessment(s, a.id)
    answers = scoring_svc.load_answers(s, a.id, phase)
    other_answers = scoring_svc.load_answers(s, a.id, "external" if phase == "self" else "self")
    # Once sent, the self scores everybody reads are the send that counts (`counts: first | last`).
    if (sent := sends_svc.sent_self_answers(s, a)) is not None:
        if phase == "self":
            answers = sent[0]
        else:
            other_answers = sent[0]
    return ScoreSheet(
        assessment_id=a.id, phase=phase, index_set=index_set, answers=answers, result=score(index_set, answers),
        other=score(index_set, other_answers) if other_answers else None,
        evidence=scoring_svc.list_evidence(s, a.id),
        can_edit=authorization.may_school(s, actor(p), scoring_svc.PHASE_ACTIONS[phase], a),
        can_add_evidence=authorization.may_school(s, actor(p), "evidence", a),
        revision=scoring_svc.revision_of(s, a.id, phase),
    )


def save(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str, answers: dict,
         base_revision: int | None = None) -> ScoreResult:
    """Store the answers (an empty value clears an item); refused whole when one answer is bad,
    when the rulebook refuses, or when another person saved the same item since `base_revision`."""
    a = assessment_for(uow, p, assessment_id)
    result = scoring_svc.save_answers(uow.session, a.id, _phase(phase), answers, actor(p), base_revision=base_revision)
    uow.commit()
    return result


def preview(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str, answers: dict) -> ScoreResult:
    """Totals and levels of what is on the form, stored answers underneath; nothing is written."""
    a = assessment_for(uow, p, assessment_id)
    phase = _phase(phase)
    authorization.check_school(uow.session, actor(p), scoring_svc.PHASE_ACTIONS[phase], a)
    index_set = index_set_for_assessment(uow.session, a.id)
    merged = {**scoring_svc.load_answers(uow.session, a.id, phase), **answers}
    return score(index_set, {k: v for k, v in merged.items() if v not in (None, "")})


def form_answers(index_set: IndexSet, form) -> dict:
    """The `item:<code>` fields the person changed on a posted form (each carries its loaded value in
    `orig:<code>`): what they did not touch is not sent, so it cannot undo a colleague's save.
    Unknown fields are ignored; an emptied field clears the item."""
    out = {}
    for code in index_set.items:
        if f"item:{code}" not in form:
            continue
        value = str(form.get(f"item:{code}", "")).strip()
        if f"orig:{code}" in form and str(form.get(f"orig:{code}", "")).strip() == value:
            continue
        out[code] = value
    return out


def form_revision(form) -> int | None:
    raw = str(form.get("revision", "")).strip()
    return int(raw) if raw.isdigit() else None


def add_evidence(uow: UnitOfWork, p: Principal, assessment_id: int, *, criterion: str, title: str,
                 link: str = "", file_path: str = "", document_number: str = "") -> EvidenceEntry:
    a = assessment_for(uow, p, assessment_id)
    entry = scoring_svc.add_evidence(uow.session, a.id, criterion, title, link=link, file_path=file_path,
                                     document_number=document_number, actor=actor(p))
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
    aid = entry.assessment_id
    scoring_svc.remove_evidence(uow.session, evidence_id, actor(p))
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
