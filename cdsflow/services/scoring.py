"""Use-cases of the self-assessment and the external review: answers, scores, evidence,
assignments, the proposal guard and the year roll-over.

The transaction convention of every service: a use-case that changes stored data commits before it
returns, and validates (and asks the rulebook) before its first write, so a refusal leaves stored
data exactly as it was; reads and helpers used inside another use-case (`score_assessment`,
`load_answers`, `proposal_gaps`) never commit.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from cdsflow.assessment.evidence import (
    AssignmentRole,
    AssignmentStatus,
    evidence_needed,
    proposal_gaps_for,
    still_valid,
)
from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import Comparison, ScoreResult, compare, score
from cdsflow.calendars.timeutil import TZ
from cdsflow.kernel.errors import (
    InvalidInput,
    NotFound,
    StaleUpdate,
    TransitionRefused,
)
from cdsflow.kernel.stages import CampaignStatus, Stage
from cdsflow.kernel.text import TextError, clean_text, fold
from cdsflow.services import authorization, result_lines, sends, signatures
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.lookups import PHASES as PHASES  # also this module's interface
from cdsflow.services.lookups import load_answers as load_answers
from cdsflow.services.lookups import phase_code as _phase
from cdsflow.storage.assessment_tables import (
    AssessmentAnswer,
    AssessmentScore,
    CriterionAssignment,
    EvidenceEntry,
)
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign, CommitteeMember
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef, TransitionContext

PHASE_LABELS = {"self": "tự đánh giá", "external": "đánh giá ngoài"}
_VN = TZ


def _now() -> datetime:
    return datetime.now(UTC)


def _assessment(session: Session, assessment_id: int, *, for_update: bool = False) -> Assessment:
    """The assessment row; `for_update` locks it (PostgreSQL) so that concurrent writers of one
    assessment (two committee members, or the proposal locking it) run one after the other and
    the stored score always reflects every saved answer. SQLite serialises writers anyway."""
    if for_update:
        a = session.exec(select(Assessment).where(Assessment.id == assessment_id).with_for_update()
                         .execution_options(populate_existing=True)).first()
    else:
        a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    return a


PHASE_ACTIONS = {"self": "score_self", "external": "score_external"}
Actor = ActorRef | str


def _authorize(session: Session, a: Assessment, action: str, actor: Actor) -> str:
    """Ask the rulebook (who, which stage, which campaign status); returns the actor's name.

    A bare name is a person acting for the unit the rulebook gives the action to (the school for its
    own file, the campaign's issuer for the review), as at the command line without `--unit`."""
    ref = actor if isinstance(actor, ActorRef) else ActorRef(str(actor or ""), authorization.acting_unit_for(session, a, action))
    authorization.check_school(session, ref, action, a)
    return ref.name


def _text(value: Any, field_name: str, *, required: bool = False, max_len: int = 500) -> str:
    try:
        text = clean_text(value, field=field_name)
    except TextError as exc:
        raise InvalidInput(str(exc)) from None
    if required and not text:
        raise InvalidInput(f"Thiếu {field_name}")
    if len(text) > max_len:
        raise InvalidInput(f"{field_name} dài quá {max_len} ký tự")
    return text


# ---------------------------------------------------------------- answers and scores


def _json_value(value: Any) -> Any:
    """Answers are stored as JSON: Decimals (from forms or Excel) become numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _score_row(a_id: int, phase: str, r: ScoreResult, actor: str, at: datetime) -> dict[str, Any]:
    groups = list(r.groups)
    g1 = groups[0] if groups else None
    g2 = groups[1] if len(groups) > 1 else None
    met = None if any(v is None for v in r.mandatory.values()) else all(r.mandatory.values())
    return dict(
        assessment_id=a_id, phase=phase, index_set_hash=r.content_hash,
        group1_total=float(g1.total) if g1 else None, group1_level=g1.level if g1 else None,
        group2_total=float(g2.total) if g2 else None, group2_level=g2.level if g2 else None,
        total=float(r.total), overall_level=r.overall_level, complete=r.complete, mandatory_met=met,
        unconfirmed=any(s.answered and s.unconfirmed for s in r.items.values()),
        item_points=r.item_points(), summary=r.summary(), scored_by=actor, scored_at=at,
    )


def _store_score(session: Session, a_id: int, phase: str, r: ScoreResult, actor: str, *,
                 revision: int | None = None) -> None:
    values = _score_row(a_id, phase, r, actor, _now())
    if revision is not None:
        values["revision"] = revision
    row = session.exec(
        select(AssessmentScore).where(AssessmentScore.assessment_id == a_id, AssessmentScore.phase == phase)
    ).first()
    if row is None:
        session.add(AssessmentScore(**values))
    else:
        for k, v in values.items():
            setattr(row, k, v)
        session.add(row)
    result_lines.refresh(session, [a_id])


def clear_answers(session: Session, assessment_id: int, phase: str, codes: Iterable[str], actor: str) -> None:
    """Set stored answers aside (an item whose meaning changed under a new index-set version): the
    row stays, empty, with who cleared it, as a cleared answer does on the scoring page."""
    codes = list(codes)
    if not codes:
        return
    rows = session.exec(select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id,
                                                       AssessmentAnswer.phase == _phase(phase),
                                                       col(AssessmentAnswer.item_code).in_(codes))).all()
    for row in rows:
        row.value, row.answered_by, row.answered_at = None, actor, _now()
        session.add(row)


def store_rescored(session: Session, assessment_id: int, phase: str, result: ScoreResult, actor: str) -> None:
    """Store a phase's result again under another index-set version (the rescoring use-case's write)."""
    _store_score(session, assessment_id, _phase(phase), result, actor)


STALE_SCORES = ("Phiếu điểm đã được người khác lưu sau khi bạn mở (bạn sửa từ lần lưu thứ {base}, hiện là lần "
                "thứ {current}); các mục sau bị trùng, chưa lưu gì:")


def save_answers(session: Session, assessment_id: int, phase: str, answers: Mapping[str, Any], actor: Actor,
                 *, base_revision: int | None = None) -> ScoreResult:
    """Merge answers into the stored ones (None clears an item), rescore, store both.

    Refused whole, before any write, if one answer is bad or the rulebook refuses (`score_self` only
    while the school's file is open, `score_external` only in the external review by its team).

    Lost updates: `base_revision` is the phase's revision the person's form was loaded at. Answers
    are merged per item: a save is refused, naming who saved what and when, only if it changes an
    item somebody else saved after that revision; items the others did not touch are merged, so two
    committee members scoring different criteria from the same page both keep their work. Without
    `base_revision` (a file at the command line) the save wins, as `--version` does for steps.
    """
    _phase(phase)
    # Take the write lock before reading what the revision check compares against: on SQLite a write
    # opens the transaction (reads before it see no snapshot), on PostgreSQL it locks the row, so two
    # saves of one file run one after the other and the second sees the first's answers.
    session.execute(update(Assessment).where(col(Assessment.id) == assessment_id).values(version=col(Assessment.version))
                    .execution_options(synchronize_session=False))
    a = _assessment(session, assessment_id, for_update=True)
    actor_name = _authorize(session, a, PHASE_ACTIONS[phase], actor)
    actor_name = _text(actor_name, "người nhập", required=True, max_len=200)
    s = index_set_for_assessment(session, assessment_id)
    answers = {str(k): _json_value(v) for k, v in answers.items()}
    rows = {
        r.item_code: r
        for r in session.exec(
            select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id, AssessmentAnswer.phase == phase)
        ).all()
    }
    score_row = session.exec(
        select(AssessmentScore).where(AssessmentScore.assessment_id == assessment_id, AssessmentScore.phase == phase)
    ).first()
    current_revision = score_row.revision if score_row is not None else 0
    if base_revision is not None and base_revision != current_revision:
        clashes = []
        for code, value in answers.items():
            row = rows.get(code)
            if row is not None and row.revision > base_revision and row.value != (None if value == "" else value):
                at = row.answered_at.astimezone(_VN).strftime("%H:%M ngày %d/%m/%Y") if row.answered_at else ""
                what = "đã xóa câu trả lời" if row.value is None else f"đã lưu giá trị «{row.value}»"
                clashes.append(f"mục {code}: {row.answered_by} {what} lúc {at}")
        if clashes:
            raise StaleUpdate(STALE_SCORES.format(base=base_revision, current=current_revision), details=clashes)
    current = {code: r.value for code, r in rows.items() if r.value is not None}
    merged = {**current, **answers}
    merged = {k: v for k, v in merged.items() if v is not None and v != ""}
    result = score(s, merged)  # raises InvalidInput naming the items; nothing written yet

    now = _now()
    revision = current_revision + 1
    for code, value in answers.items():
        row = rows.get(code)
        if value is None or value == "":
            # A cleared answer stays as an empty row with its revision, so a colleague's later save
            # based on an older revision sees that someone cleared it.
            if row is not None and row.value is not None:
                row.value, row.answered_by, row.answered_at, row.revision = None, actor_name, now, revision
                session.add(row)
            continue
        if row is None:
            session.add(AssessmentAnswer(assessment_id=assessment_id, phase=phase, item_code=code, value=value,
                                         answered_by=actor_name, answered_at=now, revision=revision))
        elif row.value != value:
            row.value, row.answered_by, row.answered_at, row.revision = value, actor_name, now, revision
            session.add(row)
    _store_score(session, assessment_id, phase, result, actor_name, revision=revision)
    a.updated_at = now
    session.add(a)
    session.commit()
    return result


def revision_of(session: Session, assessment_id: int, phase: str) -> int:
    """The phase's current revision: what a form carries back as `base_revision`."""
    row = session.exec(select(AssessmentScore.revision).where(
        AssessmentScore.assessment_id == assessment_id, AssessmentScore.phase == _phase(phase))).first()
    return int(row or 0)


def score_assessment(session: Session, assessment_id: int, phase: str = "self", *, actor: str = "") -> ScoreResult:
    """Score the stored answers of one phase and store the result."""
    _phase(phase)
    _assessment(session, assessment_id)
    s = index_set_for_assessment(session, assessment_id)
    result = score(s, load_answers(session, assessment_id, phase))
    _store_score(session, assessment_id, phase, result, actor)
    session.flush()
    return result


def compare_assessment(session: Session, assessment_id: int) -> tuple[IndexSet, Comparison]:
    """Self-assessment and external review side by side, with the difference per item."""
    a = _assessment(session, assessment_id)
    s = index_set_for_assessment(session, assessment_id)
    self_answers = load_answers(session, assessment_id, "self")
    # Once sent, the self scores are the send that counts (`counts: first | last`), as on the web
    # and in the papers; the live answers only while the school still works on its file.
    if (sent := sends.sent_self_answers(session, a)) is not None:
        self_answers = sent[0]
    ext_answers = load_answers(session, assessment_id, "external")
    return s, compare(s, score(s, self_answers) if self_answers else None,
                      score(s, ext_answers) if ext_answers else None)


def proposal_gaps(session: Session, assessment_id: int) -> list[str]:
    """Why the self-assessment cannot go to proposal yet (Vietnamese); an empty list means ready.

    Lists every unscored item and every criterion whose evidence the index set asks for (given
    what the school claims) but which has none.
    """
    _assessment(session, assessment_id)
    s = index_set_for_assessment(session, assessment_id)
    answers = load_answers(session, assessment_id, "self")
    result = score(s, answers)
    codes = session.exec(select(EvidenceEntry.criterion_code).where(EvidenceEntry.assessment_id == assessment_id)).all()
    return proposal_gaps_for(s, result, codes)


@dataclass(frozen=True)
class BulkReport:
    assessments: int
    answers: int


def score_many(session: Session, index_set: IndexSet, rows: Iterable[tuple[int, Mapping[str, Any]]],
               *, phase: str = "self", actor: str = "nhập hàng loạt", store_answers: bool = True) -> BulkReport:
    """Score many assessments against one index set and store scores (and answers) in bulk.

    All rows are scored first (one bad answer refuses the whole batch, naming the assessment);
    then existing scores (and answers, if stored) of those assessments in this phase are
    replaced with one DELETE and one executemany INSERT per table (Core, not the ORM: the
    ORM's per-row bookkeeping costs more than SQLite's insert itself). With
    `store_answers=False` only results are written: rescoring answers already stored.
    """
    _phase(phase)
    now = _now()
    answer_rows: list[dict[str, Any]] = []
    score_rows: list[dict[str, Any]] = []
    ids: list[int] = []
    for a_id, answers in rows:
        try:
            result = score(index_set, answers)
        except InvalidInput as exc:
            raise InvalidInput(f"Hồ sơ đánh giá số {a_id}: {exc.message}", details=exc.details) from None
        ids.append(a_id)
        for code, value in (answers.items() if store_answers else ()):
            if value is not None and value != "":
                answer_rows.append(dict(assessment_id=a_id, phase=phase, item_code=code, value=_json_value(value),
                                        answered_by=actor, answered_at=now))
        score_rows.append(_score_row(a_id, phase, result, actor, now))
    if not ids:
        return BulkReport(0, 0)
    for chunk in _chunks(ids, 5000):
        # The rulebook's stage and campaign conditions hold for bulk scoring too.
        rule = rulebook.rule(PHASE_ACTIONS[phase])
        assert rule.stages is not None and rule.campaign is not None  # scoring rules name both
        bad = session.exec(select(Assessment.id, Assessment.state, Campaign.status)
                           .join(Campaign, col(Campaign.id) == Assessment.campaign_id)
                           .where(col(Assessment.id).in_(chunk),
                                  col(Assessment.state).not_in([st.value for st in rule.stages])
                                  | col(Campaign.status).not_in([c.value for c in rule.campaign]))).first()
        if bad is not None:
            ctx = TransitionContext(actor=ActorRef(actor), now=now, stage=Stage(bad[1]),
                                    campaign_status=CampaignStatus(bad[2]))
            problems = [p for p in rulebook.refusals(rule.action, ctx) if "giai đoạn" in p or "kế hoạch" in p]
            raise TransitionRefused(f"Hồ sơ đánh giá số {bad[0]}: không thể {rule.label}:", details=problems)
        if store_answers:
            session.execute(delete(AssessmentAnswer).where(col(AssessmentAnswer.assessment_id).in_(chunk),
                                                           col(AssessmentAnswer.phase) == phase))
        session.execute(delete(AssessmentScore).where(col(AssessmentScore.assessment_id).in_(chunk),
                                                      col(AssessmentScore.phase) == phase))
    if answer_rows:
        _executemany(session, AssessmentAnswer.__table__, answer_rows)  # type: ignore[attr-defined]  # SQLModel sets it
    _executemany(session, AssessmentScore.__table__, score_rows)  # type: ignore[attr-defined]  # SQLModel sets it
    result_lines.refresh(session, ids)
    session.commit()
    return BulkReport(len(ids), len(answer_rows))


def _executemany(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """One driver-level executemany for many rows of one table.

    Values go through the dialect's own bind processors (so stored bytes are what the ORM
    would write), but each column's processor is looked up once, and a value shared by every
    row (the batch's timestamp, actor, phase) is processed once: SQLAlchemy's per-row
    parameter building otherwise costs more than SQLite's insert itself.
    """
    conn = session.connection()
    dialect = conn.dialect
    cols = [c for c in table.columns if c.name in rows[0]]
    first = rows[0]
    shared = {c.name for c in cols if all(r[c.name] is first[c.name] for r in rows)}
    procs = []
    for c in cols:
        proc = c.type._cached_bind_processor(dialect)
        if c.name in shared:
            value = proc(first[c.name]) if proc else first[c.name]
            procs.append((c.name, None, True, value))
        else:
            procs.append((c.name, proc, False, None))
    mark = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in cols)}) "
           f"VALUES ({', '.join(mark for _ in cols)})")
    params = [
        tuple(const if is_shared else (proc(r[name]) if proc else r[name]) for name, proc, is_shared, const in procs)
        for r in rows
    ]
    conn.exec_driver_sql(sql, params)


def _chunks(seq: list[int], n: int) -> Iterable[list[int]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# ---------------------------------------------------------------- evidence


def _member(session: Session, assessment_id: int, member_id: int | None) -> CommitteeMember | None:
    if member_id is None:
        return None
    m = session.get(CommitteeMember, member_id)
    if m is None or m.assessment_id != assessment_id:
        raise InvalidInput(f"Thành viên số {member_id} không thuộc hội đồng của hồ sơ đánh giá số {assessment_id}")
    return m


def _known_code(s: IndexSet, code: str) -> str:
    code = str(code).strip()
    if code not in s.criteria and code not in s.items:
        raise InvalidInput(f"Tiêu chí {code} không có trong bộ chỉ số {s.code}")
    return code


def add_evidence(
    session: Session,
    assessment_id: int,
    criterion_code: str,
    title: str,
    *,
    document_number: str = "",
    document_date: date | None = None,
    link: str = "",
    file_path: str = "",
    responsible_member_id: int | None = None,
    valid_until: date | None = None,
    actor: Actor = "",
    stored_file: Path | None = None,
) -> EvidenceEntry:
    """Attach a minh chứng (a link or a stored file) to a criterion or sub-item. `stored_file`, the
    file as stored: a PDF's digital signature is checked and kept with the entry."""
    a = _assessment(session, assessment_id, for_update=True)
    actor = _authorize(session, a, "evidence", actor)
    s = index_set_for_assessment(session, assessment_id)
    code = _known_code(s, criterion_code)
    title = _text(title, "tên minh chứng", required=True)
    link = _text(link, "đường link", max_len=2000)
    file_path = _text(file_path, "tệp minh chứng", max_len=1000)
    if not link and not file_path:
        raise InvalidInput(f"Minh chứng '{title}' (tiêu chí {code}) cần một đường link hoặc một tệp đính kèm")
    if link and not link.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"Đường link minh chứng phải bắt đầu bằng http:// hoặc https://: '{link}'")
    _member(session, assessment_id, responsible_member_id)
    if valid_until is not None and document_date is not None and valid_until < document_date:
        raise InvalidInput(f"Minh chứng '{title}': hạn hiệu lực ({valid_until:%d/%m/%Y}) trước ngày văn bản "
                           f"({document_date:%d/%m/%Y})")
    entry = EvidenceEntry(
        assessment_id=assessment_id, criterion_code=code, title=title,
        document_number=_text(document_number, "số văn bản", max_len=100), document_date=document_date,
        link=link, file_path=file_path, responsible_member_id=responsible_member_id, valid_until=valid_until,
        created_by=_text(actor, "người nhập", max_len=200), created_at=_now(),
    )
    session.add(entry)
    if stored_file is not None:
        session.flush()
        signatures.check_file(session, signatures.EVIDENCE, entry.id, stored_file, a.school_id)
    session.commit()
    return entry


def list_evidence(session: Session, assessment_id: int, criterion_code: str | None = None) -> list[EvidenceEntry]:
    _assessment(session, assessment_id)
    stmt = select(EvidenceEntry).where(EvidenceEntry.assessment_id == assessment_id)
    if criterion_code is not None:
        stmt = stmt.where(EvidenceEntry.criterion_code == criterion_code)
    return list(session.exec(stmt.order_by(EvidenceEntry.criterion_code, col(EvidenceEntry.id))).all())


def find_evidence(uow: UnitOfWork, evidence_id: int) -> EvidenceEntry | None:
    """One evidence entry, or None: the caller says "not found" in its own words (a file, an entry)."""
    return uow.session.get(EvidenceEntry, evidence_id)


def remove_evidence(session: Session, evidence_id: int, actor: Actor = "") -> None:
    entry = session.get(EvidenceEntry, evidence_id)
    if entry is None:
        raise NotFound(f"Không tìm thấy minh chứng số {evidence_id}")
    _authorize(session, _assessment(session, entry.assessment_id, for_update=True), "evidence", actor)
    session.delete(entry)
    session.commit()


# ---------------------------------------------------------------- assignments


def set_assignment(
    session: Session,
    assessment_id: int,
    criterion_code: str,
    member_id: int,
    role: str,
    *,
    status: str | None = None,
    actor: Actor = "",
) -> CriterionAssignment:
    """Assign a criterion to a committee member as chủ trì or thực hiện (or update role/status)."""
    a = _assessment(session, assessment_id, for_update=True)
    actor = _authorize(session, a, "assign_criteria", actor)
    s = index_set_for_assessment(session, assessment_id)
    code = str(criterion_code).strip()
    if code not in s.criteria:
        raise InvalidInput(f"Tiêu chí {code} không có trong bộ chỉ số {s.code} (phân công theo tiêu chí, ví dụ 1.3)")
    try:
        role_v = AssignmentRole(role)
    except ValueError:
        raise InvalidInput(f"Vai trò không hợp lệ: '{role}' (dùng: chu_tri = chủ trì, thuc_hien = thực hiện)") from None
    try:
        status_v = AssignmentStatus(status) if status is not None else None
    except ValueError:
        raise InvalidInput(f"Tiến độ không hợp lệ: '{status}' (dùng: {', '.join(x.value for x in AssignmentStatus)})") from None
    _member(session, assessment_id, member_id)
    row = session.exec(select(CriterionAssignment).where(
        CriterionAssignment.assessment_id == assessment_id, CriterionAssignment.criterion_code == code,
        CriterionAssignment.member_id == member_id)).first()
    if row is None:
        row = CriterionAssignment(assessment_id=assessment_id, criterion_code=code, member_id=member_id,
                                  role=role_v.value, status=(status_v or AssignmentStatus.TODO).value)
    else:
        row.role = role_v.value
        if status_v is not None:
            row.status = status_v.value
    row.updated_by = _text(actor, "người nhập", max_len=200)
    row.updated_at = _now()
    session.add(row)
    session.commit()
    return row


def list_assignments(session: Session, assessment_id: int) -> list[CriterionAssignment]:
    _assessment(session, assessment_id)
    return list(session.exec(select(CriterionAssignment).where(CriterionAssignment.assessment_id == assessment_id)
                             .order_by(CriterionAssignment.criterion_code, CriterionAssignment.role,
                                       col(CriterionAssignment.id))).all())


@dataclass(frozen=True)
class MemberProgress:
    member_id: int
    full_name: str
    criteria: tuple[str, ...]  # assigned criterion codes
    lead: tuple[str, ...]  # of which chủ trì
    scored: int  # assigned criteria with every item answered (self phase)
    with_evidence: int  # assigned criteria with at least one evidence entry
    done: int  # assignments marked hoàn thành
    complete: int  # assigned criteria scored, with evidence where needed, and marked hoàn thành

    @property
    def percent(self) -> int:
        """Share of the member's criteria that are complete."""
        if not self.criteria:
            return 0
        return round(100 * self.complete / len(self.criteria))


def member_progress(session: Session, assessment_id: int) -> list[MemberProgress]:
    """Per committee member: what they were given and how far it has got."""
    s = index_set_for_assessment(session, assessment_id)
    answers = load_answers(session, assessment_id, "self")
    answered = set(answers)
    needed = set(evidence_needed(s, score(s, answers)))
    evidence = {k.code for c in session.exec(select(EvidenceEntry.criterion_code).where(
        EvidenceEntry.assessment_id == assessment_id)).all() if (k := s.criterion_of(c)) is not None}
    members = session.exec(select(CommitteeMember).where(CommitteeMember.assessment_id == assessment_id)
                           .order_by(col(CommitteeMember.position_order), col(CommitteeMember.id))).all()
    by_member: dict[int, list[CriterionAssignment]] = {}
    for row in list_assignments(session, assessment_id):
        by_member.setdefault(row.member_id, []).append(row)
    out = []
    for m in members:
        rows = by_member.get(m.id, [])
        codes = tuple(r.criterion_code for r in rows)
        scored = {c for c in codes if c in s.criteria and all(i.code in answered for i in s.criteria[c].items)}
        done = {r.criterion_code for r in rows if r.status == AssignmentStatus.DONE.value}
        complete = {c for c in scored & done if c not in needed or c in evidence}
        out.append(MemberProgress(
            member_id=m.id, full_name=m.full_name, criteria=codes,
            lead=tuple(r.criterion_code for r in rows if r.role == AssignmentRole.LEAD.value),
            scored=len(scored), with_evidence=sum(1 for c in codes if c in evidence),
            done=len(done), complete=len(complete),
        ))
    return out


# ---------------------------------------------------------------- roll-over


@dataclass(frozen=True)
class RollOverReport:
    members: int
    assignments: int
    evidence: int
    skipped: tuple[str, ...] = field(default=())


def roll_over(session: Session, from_assessment_id: int, to_assessment_id: int, *, on: date | None = None,
              actor: Actor = "") -> RollOverReport:
    """Copy last year's committee, criterion assignments and still-valid evidence to a new assessment.

    Members already in the new committee (same name) are reused, not duplicated. Evidence past
    its `valid_until` on `on` (default: today in Việt Nam), or for a criterion the new index set
    lacks, is skipped and named in the report.
    """
    src = _assessment(session, from_assessment_id)
    dst = _assessment(session, to_assessment_id, for_update=True)
    if src.school_id != dst.school_id:
        raise InvalidInput(f"Hồ sơ số {from_assessment_id} và số {to_assessment_id} không cùng một cơ sở giáo dục")
    if src.id == dst.id:
        raise InvalidInput("Không chuyển dữ liệu của một hồ sơ sang chính nó")
    actor = _authorize(session, dst, "set_committee", actor)
    on = on or datetime.now(_VN).date()
    dst_set = index_set_for_assessment(session, to_assessment_id)
    skipped: list[str] = []

    existing = {fold(m.full_name): m for m in session.exec(
        select(CommitteeMember).where(CommitteeMember.assessment_id == to_assessment_id)).all()}
    member_map: dict[int, int] = {}
    new_members = 0
    for m in session.exec(select(CommitteeMember).where(CommitteeMember.assessment_id == from_assessment_id)
                          .order_by(col(CommitteeMember.position_order), col(CommitteeMember.id))).all():
        same = existing.get(fold(m.full_name))
        if same is None:
            same = CommitteeMember(assessment_id=to_assessment_id, position_order=m.position_order, full_name=m.full_name,
                                   position=m.position, role=m.role, duties=m.duties, email=m.email, phone=m.phone)
            session.add(same)
            session.flush()
            existing[fold(m.full_name)] = same
            new_members += 1
        member_map[m.id] = same.id

    have = {(r.criterion_code, r.member_id) for r in session.exec(
        select(CriterionAssignment).where(CriterionAssignment.assessment_id == to_assessment_id)).all()}
    n_assign = 0
    now = _now()
    for r in session.exec(select(CriterionAssignment).where(CriterionAssignment.assessment_id == from_assessment_id)).all():
        target = member_map.get(r.member_id)
        if r.criterion_code not in dst_set.criteria:
            skipped.append(f"Phân công tiêu chí {r.criterion_code}: không có trong bộ chỉ số {dst_set.code}")
            continue
        if target is None or (r.criterion_code, target) in have:
            continue
        session.add(CriterionAssignment(assessment_id=to_assessment_id, criterion_code=r.criterion_code, member_id=target,
                                        role=r.role, status=AssignmentStatus.TODO.value, updated_by=actor, updated_at=now))
        have.add((r.criterion_code, target))
        n_assign += 1

    n_ev = 0
    for e in session.exec(select(EvidenceEntry).where(EvidenceEntry.assessment_id == from_assessment_id)).all():
        if not still_valid(e.valid_until, on):
            skipped.append(f"Minh chứng '{e.title}' (tiêu chí {e.criterion_code}): hết hiệu lực ngày {e.valid_until:%d/%m/%Y}")
            continue
        if e.criterion_code not in dst_set.criteria and e.criterion_code not in dst_set.items:
            skipped.append(f"Minh chứng '{e.title}': tiêu chí {e.criterion_code} không có trong bộ chỉ số {dst_set.code}")
            continue
        session.add(EvidenceEntry(
            assessment_id=to_assessment_id, criterion_code=e.criterion_code, title=e.title,
            document_number=e.document_number, document_date=e.document_date, link=e.link, file_path=e.file_path,
            responsible_member_id=member_map.get(e.responsible_member_id) if e.responsible_member_id else None,
            valid_until=e.valid_until, created_by=actor or e.created_by, created_at=now,
        ))
        n_ev += 1
    session.commit()
    return RollOverReport(new_members, n_assign, n_ev, tuple(skipped))
