"""Scoring and evidence for the web: translate forms to the scoring use-cases.

Who may enter which phase, and when, is the rulebook's (`score_self`, `score_external`,
`evidence`); a page only asks it to decide what to show.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from cdsflow.app.web.access import actor, assessment_for
from cdsflow.assessment.answer_forms import read_answers
from cdsflow.assessment.evidence import evidence_needed
from cdsflow.assessment.model import ANSWER_KIND_LABELS, IndexSet
from cdsflow.assessment.scoring import ItemScore, ScoreResult, score
from cdsflow.assessment.xlsx import write_answer_workbook
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services import authorization, signing
from cdsflow.services import scoring as scoring_svc
from cdsflow.services import sends as sends_svc
from cdsflow.services.accounts import Principal
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.returns import ReturnNote, open_return
from cdsflow.storage.assessment_tables import EvidenceEntry
from cdsflow.storage.db import UnitOfWork

PHASE_LABELS = {"self": "Tự đánh giá", "external": "Đánh giá ngoài"}

EVIDENCE_TYPES = (".pdf", ".docx", ".xlsx", ".doc", ".xls", ".jpg", ".jpeg", ".png", ".zip")
EVIDENCE_MAX = 20 * 1024 * 1024  # scanned decisions and photos; the route's body limit matches
MEDIA_TYPES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def _phase(phase: str) -> str:
    if phase not in PHASE_LABELS:
        raise InvalidInput(f"Giai đoạn chấm điểm không hợp lệ: «{phase}» (self hoặc external)")
    return phase


@dataclass(frozen=True)
class SchoolAnswer:
    text: str  # "Có", "70%" tier, "12"
    points: Decimal
    answered: bool
    differs: bool  # the reviewer answered otherwise


def _answer_text(item: ItemScore) -> str:
    if not item.answered:
        return "chưa trả lời"
    if item.value is True or item.value is False:
        return "Có" if item.value else "Không"
    return item.tier or str(item.value)


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
    returned: ReturnNote | None = None  # the reviewers' return, while the school supplements
    facts: dict[str, str] = field(default_factory=dict)  # item → what stored papers say (2.5: signed papers)
    signed_evidence: dict[int, tuple[str, bool]] = field(default_factory=dict)  # entry → (label, valid)

    @property
    def kind_labels(self) -> dict:
        return {k.value: v for k, v in ANSWER_KIND_LABELS.items()}

    def given_points(self, code: str) -> str:
        """The points an assessor gave below (or, on an unconfirmed tier, above) the tier's, as typed."""
        raw = self.answers.get(code)
        if isinstance(raw, dict) and raw.get("points") is not None:
            return str(raw["points"])
        return ""

    def evidence_of(self, criterion: str) -> list[EvidenceEntry]:
        """Entries filed under the criterion or one of its sub-items."""
        crit = self.index_set.criteria[criterion]
        codes = {criterion, *(i.code for i in crit.items)}
        return [e for e in self.evidence if e.criterion_code in codes]

    def school_answer(self, code: str) -> SchoolAnswer | None:
        """On the external review's sheet: what the school answered for the item (the send that counts),
        and whether the reviewer's answer differs from it. None on the school's own sheet."""
        if self.phase != "external" or self.other is None or code not in self.other.items:
            return None
        own, here = self.other.items[code], self.result.items.get(code)
        differs = bool(here and here.answered and own.answered and here.value != own.value)
        return SchoolAnswer(_answer_text(own), own.points, own.answered, differs)

    @property
    def needed(self) -> list[str]:
        """Criteria whose evidence the set asks for, given what this phase's answers claim."""
        return evidence_needed(self.index_set, self.result)

    @property
    def progress(self) -> dict:
        """"24/30 mục, 7/10 minh chứng": answered items, and needed criteria that have evidence."""
        needed = self.needed
        covered = [c for c in needed if self.evidence_of(c)]
        return {"answered": len(self.index_set.items) - len(self.result.unscored), "item_count": len(self.index_set.items),
                "evidence": len(covered), "evidence_needed": len(needed)}


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
    evidence = scoring_svc.list_evidence(s, a.id)
    return ScoreSheet(
        assessment_id=a.id, phase=phase, index_set=index_set, answers=answers, result=score(index_set, answers),
        other=score(index_set, other_answers) if other_answers else None,
        evidence=evidence,
        can_edit=authorization.may_school(s, actor(p), scoring_svc.PHASE_ACTIONS[phase], a),
        can_add_evidence=authorization.may_school(s, actor(p), "evidence", a),
        revision=scoring_svc.revision_of(s, a.id, phase),
        returned=open_return(s, a.id),
        facts=signing.item_facts(s, a.id, index_set.code, _choice_labels(index_set)),
        signed_evidence=signing.evidence_signatures(s, [e.id for e in evidence]),
    )


def _choice_labels(index_set: IndexSet) -> dict[str, str]:
    return {ch.code: ch.label for it in index_set.items.values() for ch in (it.choices or ())}


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


def answer_sheet(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str = "self") -> Path:
    """A temporary .xlsx answer sheet holding the phase's stored answers (the caller removes it)."""
    sh = sheet(uow, p, assessment_id, phase)
    out = Path(tempfile.mkstemp(suffix=".xlsx")[1])
    return write_answer_workbook(out, sh.index_set, sh.answers)


def save_sheet(uow: UnitOfWork, p: Principal, assessment_id: int, phase: str, path: Path,
               base_revision: int | None) -> ScoreResult:
    """Store the answers of an uploaded Excel sheet: an unreadable cell refuses the whole sheet by its
    address, a sheet of another index set is refused, a stale save as on the page."""
    a = assessment_for(uow, p, assessment_id)
    index_set = index_set_for_assessment(uow.session, a.id)
    named, answers = read_answers(path, index_set)
    if named and named != index_set.code:
        raise InvalidInput(f"Phiếu trả lời là của bộ chỉ số {named}; hồ sơ này chấm theo bộ chỉ số {index_set.code}")
    if not answers:
        raise InvalidInput("Phiếu trả lời chưa có câu trả lời nào (cột «Trả lời» trống)")
    return save(uow, p, assessment_id, phase, answers, base_revision)


def _field(form, name: str) -> str | None:
    return str(form.get(name, "")).strip() if name in form else None


def form_answers(index_set: IndexSet, form) -> dict:
    """The `item:<code>` fields (and `pts:<code>`, the points given for a tier) the person changed on
    a posted form (each carries its loaded value in `orig:<code>` / `origpts:<code>`): what they did
    not touch is not sent, so it cannot undo a colleague's save. Unknown fields are ignored; an
    emptied field clears the item."""
    out = {}
    for code in index_set.items:
        value, points = _field(form, f"item:{code}"), _field(form, f"pts:{code}")
        if value is None:
            continue
        unchanged = value == _field(form, f"orig:{code}") and (points or "") == (_field(form, f"origpts:{code}") or "")
        if unchanged:
            continue
        out[code] = {"value": value, "points": points} if points and value else value
    return out


def form_revision(form) -> int | None:
    raw = str(form.get("revision", "")).strip()
    return int(raw) if raw.isdigit() else None


def add_evidence(uow: UnitOfWork, p: Principal, assessment_id: int, *, criterion: str, title: str,
                 link: str = "", stored: Path | None = None, document_number: str = "") -> EvidenceEntry:
    a = assessment_for(uow, p, assessment_id)
    entry = scoring_svc.add_evidence(uow.session, a.id, criterion, title, link=link,
                                     file_path=stored.name if stored else "", document_number=document_number,
                                     actor=actor(p), stored_file=stored)
    uow.commit()
    return entry


def evidence_file(uow: UnitOfWork, p: Principal, evidence_id: int, uploads: Path) -> tuple[Path, str]:
    """The stored file of one evidence entry, for someone who may see the assessment."""
    entry = scoring_svc.find_evidence(uow, evidence_id)
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


def remove_evidence(uow: UnitOfWork, p: Principal, evidence_id: int) -> tuple[int, str]:
    """Delete one entry; (its assessment, its criterion) for the page to return to."""
    entry = scoring_svc.find_evidence(uow, evidence_id)
    if entry is None:
        raise NotFound(f"Không tìm thấy minh chứng số {evidence_id}")
    assessment_for(uow, p, entry.assessment_id)
    aid = entry.assessment_id
    crit = index_set_for_assessment(uow.session, aid).criterion_of(entry.criterion_code)
    criterion = crit.code if crit is not None else entry.criterion_code
    scoring_svc.remove_evidence(uow.session, evidence_id, actor(p))
    uow.commit()
    return aid, criterion


def result_json(result: ScoreResult) -> dict:
    """The figures a form shows live: per item, per criterion, per group, total, levels."""
    num = lambda d: float(d)  # noqa: E731
    return {
        "items": {c: {"points": num(s.points), "max": num(s.max_points), "answered": s.answered, "tier": s.tier,
                      "unconfirmed": s.unconfirmed} for c, s in result.items.items()},
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
