"""Moving a campaign's stored results to another index-set version: an officer's act, never a side
effect of an upgrade.

A campaign is scored against the exact content it launched with (its hash). `rescore_plan` shows,
before anything changes, which schools' points or levels the other version would change (and
which stored answers it could not read); `apply_rescore` then moves the campaign to that version,
stores the new results and records the act in each school's history.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import ScoreResult, score
from cdsflow.assessment.versions import changes_since, version_problems
from cdsflow.kernel.errors import CdsError, InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import scoring as scoring_svc
from cdsflow.services.indexsets import index_set_by_hash, pin_index_set, resolve_index_set
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, Unit

RESCORE_TRIGGER = "rescore"


@dataclass(frozen=True)
class RescoreLine:
    assessment_id: int
    school: str
    phase: str
    before: tuple[tuple[Decimal, int | None], ...]  # per group: (points, level) as stored
    after: tuple[tuple[Decimal, int | None], ...]  # per group under the other version
    problem: str = ""  # why the stored answers cannot be scored under the other version
    cleared: tuple[str, ...] = ()  # answers to items whose meaning changed: set aside, answered again
    note: str = ""  # what happens to them, in words

    @property
    def changes(self) -> bool:
        return bool(self.problem or self.cleared) or self.before != self.after


def _campaign(session: Session, campaign_id: int) -> Campaign:
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"Không tìm thấy đợt đánh giá số {campaign_id}")
    return c


def _groups(r: ScoreResult) -> tuple[tuple[Decimal, int | None], ...]:
    return tuple((g.total, g.level) for g in r.groups)


def _line(session: Session, current: IndexSet, target: IndexSet, a: Assessment, school: str,
          phase: str) -> tuple[RescoreLine, ScoreResult | None] | None:
    answers = scoring_svc.load_answers(session, a.id, phase)
    if not answers:
        return None
    before = _groups(score(current, answers))
    # Stored answers were made from the campaign's version: an item whose meaning changed since is
    # not reread silently; its answer is set aside (listed, cleared on apply) to be answered again.
    changed = changes_since(target, current.content_hash)
    cleared = tuple(sorted(c for c in answers if c in changed and version_problems(target, current.content_hash,
                                                                                    {c: answers[c]})))
    kept = {c: v for c, v in answers.items() if c not in cleared}
    try:
        result = score(target, kept)
    except CdsError as err:
        return RescoreLine(a.id, school, phase, before, (), "; ".join([err.message, *err.details])), None
    note = "; ".join(f"mục {c} đổi nghĩa ({changed[c].before} → {changed[c].after}): câu trả lời «{answers[c]}» "
                     f"bị bỏ, cần trả lời lại" for c in cleared)
    return RescoreLine(a.id, school, phase, before, _groups(result), cleared=cleared, note=note), result


def _plan(session: Session, campaign_id: int, target: IndexSet) -> list[tuple[RescoreLine, ScoreResult | None]]:
    c = _campaign(session, campaign_id)
    if target.code != c.index_set_code:
        raise InvalidInput(f"Đợt đánh giá số {campaign_id} chấm theo bộ chỉ số {c.index_set_code}, "
                           f"không phải {target.code}")
    current = (index_set_by_hash(session, c.index_set_hash) if c.index_set_hash
               else resolve_index_set(session, c.index_set_code, c.index_set_version or None))
    rows = session.exec(select(Assessment, Unit).join(Unit, col(Unit.id) == Assessment.school_id)
                        .where(Assessment.campaign_id == campaign_id).order_by(col(Assessment.id))).all()
    out = []
    for a, unit in rows:
        for phase in scoring_svc.PHASES:
            found = _line(session, current, target, a, unit.name, phase)
            if found is not None:
                out.append(found)
    return out


def rescore_plan(session: Session, campaign_id: int, target: IndexSet) -> list[RescoreLine]:
    """Every school and phase whose points or level `target` would change; nothing is written."""
    return [line for line, _ in _plan(session, campaign_id, target) if line.changes]


def apply_rescore(session: Session, campaign_id: int, target: IndexSet, *, actor: str, reason: str) -> list[RescoreLine]:
    """Move the campaign to `target` and store every result again under it, recorded in each
    school's history. Refused whole, nothing written, while a stored answer cannot be read under
    `target` at all; answers to items whose meaning changed are cleared (listed in the history) for
    the school to answer again."""
    try:
        actor = clean_text(actor, field="người thực hiện")[:200]
        reason = clean_text(reason, field="lý do")[:2000]
    except TextError as err:
        raise InvalidInput(str(err)) from None
    if not actor or not reason:
        raise InvalidInput("Chấm lại theo phiên bản khác cần tên người thực hiện (--by) và lý do (--reason)")
    c = _campaign(session, campaign_id)
    plan = _plan(session, campaign_id, target)
    blocked = [f"hồ sơ số {line.assessment_id} ({line.school}), {scoring_svc.PHASE_LABELS[line.phase]}: {line.problem}"
               for line, _ in plan if line.problem]
    if blocked:
        raise InvalidInput("Chưa chấm lại được: có câu trả lời không chấm được theo phiên bản mới", details=blocked)
    before_hash, now = c.index_set_hash, datetime.now(UTC)
    pin_index_set(session, target, actor=actor)
    c.index_set_hash, c.index_set_version = target.content_hash, target.version
    session.add(c)
    cleared: dict[int, dict[str, list[str]]] = {}
    for line, result in plan:
        assert result is not None
        scoring_svc.clear_answers(session, line.assessment_id, line.phase, line.cleared, actor)
        scoring_svc.store_rescored(session, line.assessment_id, line.phase, result, actor)
        if line.cleared:
            cleared.setdefault(line.assessment_id, {})[line.phase] = list(line.cleared)
    for aid in sorted({line.assessment_id for line, _ in plan}):
        a = session.get(Assessment, aid)
        assert a is not None
        session.add(AssessmentEvent(
            assessment_id=aid, at=now, actor=actor, trigger=RESCORE_TRIGGER, from_state=a.state, to_state=a.state,
            reason=f"Chấm lại theo bộ chỉ số {target.code}, phiên bản {target.identity}: {reason}",
            details={"index_set_from": before_hash, "index_set_to": target.content_hash,
                                    "version_to": target.identity, "cleared": cleared.get(aid, {})}))
    session.commit()
    return [line for line, _ in plan if line.changes]


def stored_hash(session: Session, assessment_id: int, phase: str) -> str | None:
    """The index-set content a stored result was scored under."""
    return session.exec(select(AssessmentScore.index_set_hash).where(
        AssessmentScore.assessment_id == assessment_id, AssessmentScore.phase == phase)).first()
