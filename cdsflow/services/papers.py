"""Service layer of the documents area: loads rows, takes numbers, builds contexts, renders.

The only module here that touches the database. Each generated paper is stored (number,
template hash, context) in the same transaction that takes its number, then rendered; the
stored context re-produces the same bytes later (`reproduce`).
"""
from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cdsflow.documents import contexts as cx
from cdsflow.documents import paper_sections
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.checks import check_docx, district_names, stale_grounds
from cdsflow.documents.contexts import VN_TZ, Issue
from cdsflow.documents.register import (
    RegisterLine,
    kind_word,
    next_number,
    register_lines,
    register_number,
    series_for,
)
from cdsflow.documents.render import compiled, render
from cdsflow.documents.signature import DEFAULT_HEAD_TITLE, SignatureSpec
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text, first_xml_invalid, fold
from cdsflow.services import authority_papers as ap
from cdsflow.services import authorization, bulk
from cdsflow.services import plan_papers as plan_service
from cdsflow.services.campaigns import family_ids
from cdsflow.services.lookups import campaign_milestones
from cdsflow.services.meetings import latest_meeting
from cdsflow.services.results import (
    CriterionRow,
    NoResults,
    SchoolResults,
    override_reason,
    proposed_levels,
    recognised_results,
    recognition_decision,
    recognition_event,
    school_results,
)
from cdsflow.services.review_teams import decision_data
from cdsflow.services.scoring import load_answers
from cdsflow.services.units import chain_of, unit_on
from cdsflow.storage.bulk_tables import BulkItem, BulkRun
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import ISSUED, REPLACED, VOIDED, DocumentSetting, GeneratedDocument
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, CommitteeMember, Unit
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.document_types import document_types
from cdsflow.workflow.paper_gates import (
    CampaignFacts,
    PaperFacts,
    PaperRefused,
    campaign_refusals,
    refusals,
    refuse,
)

if TYPE_CHECKING:  # dossier imports this module
    pass

# Which unit issues each type: the school, or the campaign's issuing authority.
SCHOOL_TYPES = {"ke_hoach", "qd_hoi_dong", "bien_ban", "qd_phe_duyet", "to_trinh", "bao_cao", "bia_ho_so"}
PER_SCHOOL_AUTHORITY_TYPES = {"giay_chung_nhan"}
CAMPAIGN_TYPES = {"qd_doan_danh_gia", "qd_cong_nhan", "cong_van_nhac"}
CAMPAIGN_TYPES |= {"cong_van_trien_khai"}  # the authority's own letter (documents/plan_service.py)
# Issued for the campaign as a whole when no school is named: the authority's own Kế hoạch.
AUTHORITY_PLAN_TYPES = {"ke_hoach"}
COUNCIL_TYPES = {"bien_ban"}  # the self-assessment council issues its minutes in its own name
UNNUMBERED = {"bia_ho_so"}
# The papers of the review and of the report upward (documents/authority_papers.py gathers them).
CAMPAIGN_TYPES |= ap.CAMPAIGN_CODES
PER_SCHOOL_AUTHORITY_TYPES |= ap.SCHOOL_AUTHORITY_CODES
SCHOOL_TYPES |= ap.OWN_UNIT_CODES
SUPPORTED = SCHOOL_TYPES | PER_SCHOOL_AUTHORITY_TYPES | CAMPAIGN_TYPES
RESULT_TYPES = {"bien_ban", "qd_phe_duyet", "to_trinh", "bao_cao"}  # print the self-assessment's results
# Papers whose Nơi nhận reports to the issuer's superior "(để b/c)"; the Tờ trình and the Báo cáo
# are addressed to it ("Như trên"), the Biên bản stays in the file.
REPORT_UP = {"ke_hoach", "qd_hoi_dong", "qd_phe_duyet", "qd_doan_danh_gia", "qd_cong_nhan", "cong_van_nhac"}
REPORT_UP |= {"cong_van_trien_khai"}
REPORT_UP |= {"qd_ban_chi_dao", "thong_bao"}


class AlreadyIssued(InvalidInput):
    """The same paper was already issued: the clerk chooses replace (with a reason) or new."""


class NeedsAction(InvalidInput):
    """A paper cites one that was voided or replaced: it is not valid until voided or reissued."""


@dataclass
class Loaded:
    campaign: Campaign
    authority: Unit
    school: Unit | None = None
    supervisor: Unit | None = None
    assessment: Assessment | None = None
    members: list[CommitteeMember] = field(default_factory=list)
    milestones: list[CampaignMilestone] = field(default_factory=list)


# --- loading ------------------------------------------------------------------------------------


def _unit_by_code(session: Session, code: str) -> Unit:
    unit: Unit | None = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"Không tìm thấy đơn vị có mã «{code}»")
    return unit


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch (đợt đánh giá) số {campaign_id}")
    return campaign


def load(session: Session, campaign_id: int | None, school_code: str | None = None) -> Loaded:
    """The rows a paper needs; the campaign defaults to the school's latest one."""
    school = _unit_by_code(session, school_code) if school_code else None
    if campaign_id is None:
        if school is None:
            raise InvalidInput("Cần chỉ rõ trường hoặc đợt đánh giá", cli="--school hoặc --campaign")
        campaign_id = session.execute(
            select(Assessment.campaign_id).where(Assessment.school_id == school.id)
            .order_by(col(Assessment.campaign_id).desc())).scalars().first()
        if campaign_id is None:
            raise NotFound(f"Trường «{school.code}» chưa tham gia đợt đánh giá nào")
    campaign = _campaign(session, campaign_id)
    authority = session.get(Unit, campaign.issuer_id)
    assert authority is not None  # foreign key
    loaded = Loaded(campaign=campaign, authority=authority, school=school)
    loaded.milestones = campaign_milestones(session, campaign.id)
    if school is not None:
        loaded.supervisor = session.get(Unit, school.supervisor_id) if school.supervisor_id else authority
        loaded.assessment = session.execute(select(Assessment).where(
            Assessment.campaign_id == campaign.id, Assessment.school_id == school.id)).scalar_one_or_none()
        if loaded.assessment is None:
            raise NotFound(f"Trường «{school.code}» không có trong đợt đánh giá số {campaign.id}")
        loaded.members = list(session.execute(select(CommitteeMember).where(
            col(CommitteeMember.assessment_id) == loaded.assessment.id).order_by(col(CommitteeMember.position_order))).scalars())
    return loaded


def load_many(session: Session, campaign_id: int, school_codes: Sequence[str]) -> list[Loaded]:
    """`load` for a chunk of schools in four queries instead of four per school (bulk generation)."""
    campaign = _campaign(session, campaign_id)
    authority = session.get(Unit, campaign.issuer_id)
    assert authority is not None  # issuer_id is a foreign key
    milestones = campaign_milestones(session, campaign.id)
    rows = session.execute(select(Unit, Assessment).join(Assessment, col(Assessment.school_id) == Unit.id)
                           .where(Assessment.campaign_id == campaign.id, col(Unit.code).in_(list(school_codes)))).all()
    by_code = {u.code: (u, a) for u, a in rows}
    missing = [c for c in school_codes if c not in by_code]
    if missing:
        raise NotFound(f"Có trường không thuộc đợt đánh giá số {campaign.id}", details=missing[:10])
    sup_ids = {u.supervisor_id for u, _ in rows if u.supervisor_id}
    supervisors = {u.id: u for u in session.execute(select(Unit).where(col(Unit.id).in_(sup_ids))).scalars()} if sup_ids else {}
    members: dict[int, list[CommitteeMember]] = {}
    for m in session.execute(select(CommitteeMember).where(
            col(CommitteeMember.assessment_id).in_([a.id for _, a in rows]))
            .order_by(col(CommitteeMember.assessment_id), col(CommitteeMember.position_order))).scalars():
        members.setdefault(m.assessment_id, []).append(m)
    out = []
    for code in school_codes:
        school, assessment = by_code[code]
        out.append(Loaded(campaign=campaign, authority=authority, school=school,
                          supervisor=supervisors.get(school.supervisor_id, authority), assessment=assessment,
                          members=members.get(assessment.id, []), milestones=milestones))
    return out


def settings_for(session: Session, unit: Unit) -> DocumentSetting:
    return session.get(DocumentSetting, unit.id) or DocumentSetting(
        unit_id=unit.id, head_title=DEFAULT_HEAD_TITLE.get(unit.kind, ""))


def default_signer(setting: DocumentSetting, unit: Unit, members: Sequence[CommitteeMember]) -> str:
    """Who signs when the clerk names nobody: the unit's settings (set once per unit); for a school
    signing as its head, the committee chair who is its Hiệu trưởng; a deputy signing KT., the
    vice-chair holding the deputy's title. '' when stored data does not say."""
    if setting.signer_name:
        return setting.signer_name
    if unit.kind != "school":
        return ""
    if setting.signature_mode == "head":
        wanted, role = fold(setting.head_title or "Hiệu trưởng"), "chair"
    elif setting.signature_mode == "KT":
        wanted, role = fold(setting.signer_title or "Phó Hiệu trưởng"), "vice_chair"
    else:
        return ""
    return next((m.full_name for m in members if m.role == role and fold(m.position) == wanted), "")


def signature_spec(setting: DocumentSetting, unit: Unit, *, council: bool = False, chair: str = "",
                   chair_post: str = "", signer_name: str = "") -> SignatureSpec:
    if council:
        return SignatureSpec(mode="council", post=chair_post, signer_name=chair)
    return SignatureSpec(
        mode=setting.signature_mode, head_title=setting.head_title or DEFAULT_HEAD_TITLE.get(unit.kind, ""),
        body=setting.body_name, signer_title=setting.signer_title, unit_head_title=setting.unit_head_title,
        signer_name=signer_name or setting.signer_name, honorific=setting.honorific)


def _issued(session: Session, doc_type: str, campaign_id: int, school_id: int | None) -> list[GeneratedDocument]:
    """Numbered papers of a type still in force (not voided, not replaced), newest first."""
    stmt = select(GeneratedDocument).where(GeneratedDocument.doc_type == doc_type,
                                           GeneratedDocument.campaign_id == campaign_id,
                                           col(GeneratedDocument.number).is_not(None),
                                           GeneratedDocument.status == ISSUED)
    if school_id is not None:
        stmt = stmt.where(GeneratedDocument.school_id == school_id)
    else:  # the campaign's own paper: a school's paper of the same type is another paper
        stmt = stmt.where(col(GeneratedDocument.school_id).is_(None))
    return list(session.execute(stmt.order_by(col(GeneratedDocument.id).desc())).scalars())


def _latest(session: Session, doc_type: str, campaign_id: int, school_id: int | None) -> GeneratedDocument | None:
    rows = _issued(session, doc_type, campaign_id, school_id)
    return rows[0] if rows else None


def _ref(doc: GeneratedDocument | None, kind: str, issuer_name: str) -> str:
    """`Quyết định số 01/QĐ-THHT ngày … của …`, cited from the register; '' if never issued."""
    if doc is None:
        return ""
    day = date.fromisoformat(doc.issued_on) if doc.issued_on else None
    code = doc.context.get("document_code", "")
    return vn.reference(kind, doc.number, code, day, issuer_name)


def _kind(code: str) -> str:
    """How a paper of this type is named in a citation: Quyết định, Biên bản, …"""
    return kind_word(code)


def _recognition_decision(session: Session, assessment: Assessment) -> GeneratedDocument | None:
    """The QĐ công nhận in force that names the school (workflow/services/results.py)."""
    return recognition_decision(session, assessment)


# --- facts and results --------------------------------------------------------------------------


def _campaign_ids(session: Session, campaign: Campaign) -> list[int]:
    """A school's campaign and the one above it (a Sở's decision may recognise a Phòng's schools)."""
    return [campaign.id, *([campaign.parent_id] if campaign.parent_id else [])]


def paper_facts(session: Session, ld: Loaded, needs: Sequence[str] = ()) -> PaperFacts:
    """What is stored about the school's file, as the paper gates read it; only the facts the
    paper's requirements (`needs`) look at are queried (bulk generation runs this per school)."""
    a = ld.assessment
    assert a is not None  # facts are of a school's file
    answered, unscored = False, 0
    if "self_scored" in needs:
        try:
            own = school_results(session, a.id, "self")
            answered, unscored = True, len(own.unscored)
        except NoResults:
            pass
    event = recognition_event(session, a.id) if "recognised" in needs else None
    decision = _recognition_decision(session, a) if "recognition_decision" in needs else None
    roles = {m.role for m in ld.members}
    return PaperFacts(
        stage=a.state, has_chair="chair" in roles, has_secretary="secretary" in roles,
        self_answered=answered, self_unscored=unscored,
        meeting_recorded="meeting_recorded" in needs and latest_meeting(session, a.id) is not None,
        proposal_count=a.proposal_count, recognised=event is not None,
        external_answered="recognised" in needs and bool(load_answers(session, a.id, "external")),
        override=bool(override_reason(event)), decision_number=decision.number_line if decision else "")


def _group_dicts(res: SchoolResults) -> list[dict[str, Any]]:
    return [{"group_code": g.code, "group_name": g.name, "max_points": g.max_points, "points": g.points,
             "level": g.level_or_state} for g in res.groups]


def _criteria_dicts(res: SchoolResults) -> list[dict[str, Any]]:
    points: Callable[[CriterionRow], Decimal | None] = (
        (lambda r: r.self_points) if res.phase == "self" else (lambda r: r.external_points))
    met = {m.code: m.met for m in res.mandatory}
    return [{"code": r.code, "group_code": r.group_code, "name": r.name, "max_points": r.max_points,
             "points": points(r), "evidence": list(r.evidence), "note": "", "mandatory": r.mandatory,
             "met": met.get(r.code)} for r in res.criteria]


def _mandatory_dicts(res: SchoolResults) -> list[dict[str, Any]]:
    return [{"criterion": m.code, "met": bool(m.met)} for m in res.mandatory]


def _meeting_dict(session: Session, assessment_id: int) -> dict[str, Any] | None:
    m = latest_meeting(session, assessment_id)
    if m is None:
        return None
    return {k: getattr(m, k) for k in ("started_at", "ended_at", "place", "chaired_by", "secretary",
                                       "attendees_present", "attendees_total", "absent", "vote_for",
                                       "vote_against", "vote_abstain", "conclusions")}


# --- building -----------------------------------------------------------------------------------


def _stage_order(state: str) -> int:
    try:
        return Stage(state).order
    except ValueError:  # e.g. returned for supplement: back in self-assessment
        return Stage.SELF_ASSESSMENT.order


def _campaign_schools(session: Session, campaign_id: int, code: str | None = None) -> list[tuple[Assessment, Unit]]:
    """The campaign's schools (its child campaigns' too); for an authority's campaign-wide paper,
    only those at the stages its gate (document_types.yaml) names."""
    ids = family_ids(session, campaign_id)
    query = (select(Assessment, Unit).join(Unit, col(Unit.id) == Assessment.school_id)
             .where(col(Assessment.campaign_id).in_(ids)).order_by(col(Unit.code)))
    if code in CAMPAIGN_TYPES and document_types()[code].stages:
        query = query.where(col(Assessment.state).in_([s.value for s in document_types()[code].stages]))
    return [(a, u) for a, u in session.execute(query).all()]


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _decisions_in_force(session: Session, c: Campaign, replacing: GeneratedDocument | None
                        ) -> dict[str, GeneratedDocument]:
    """School code → the numbered QĐ công nhận in force that lists it, whichever door issued it
    (campaign-wide or for one school); the decision being replaced does not count."""
    out: dict[str, GeneratedDocument] = {}
    for d in session.execute(select(GeneratedDocument).where(
            col(GeneratedDocument.doc_type) == "qd_cong_nhan", col(GeneratedDocument.campaign_id) == c.id,
            col(GeneratedDocument.number).is_not(None), col(GeneratedDocument.status) == ISSUED)
            .order_by(col(GeneratedDocument.id))).scalars():
        if replacing is None or d.id != replacing.id:
            for code in d.context.get("school_codes") or []:
                out.setdefault(code, d)
    return out


@dataclass
class Recognitions:
    """What a QĐ công nhận would list: `rows` (its annex), the recognised schools whose results are
    missing, and the decisions in force that already list the others."""

    rows: list[dict[str, Any]]
    missing: list[str]
    decided: list[GeneratedDocument]


def _recognitions(session: Session, c: Campaign, replacing: GeneratedDocument | None,
                  only: str | None = None) -> Recognitions:
    """The annex rows of a QĐ công nhận (of one school when `only` names it): recognised schools not
    already listed by another decision in force, each with the results the recognition settled."""
    listed = _decisions_in_force(session, c, replacing)
    out = Recognitions([], [], [])
    for a, u in _campaign_schools(session, c.id, "qd_cong_nhan"):
        if only is not None and u.code != only:
            continue
        if u.code in listed:
            if listed[u.code] not in out.decided:
                out.decided.append(listed[u.code])
            continue
        try:
            res = recognised_results(session, a.id)
        except NoResults:
            out.missing.append(u.code)
            continue
        note = f"Công nhận theo kết quả tự đánh giá: {res.override_reason}" if res.override_reason else ""
        out.rows.append({"school_name": u.name, "school_code": u.code, "education_level": u.education_level,
                         "commune": u.place_name, "group_results": _group_dicts(res), "level": res.overall_level,
                         "note": note})
    return out


def cite(doc: GeneratedDocument) -> str:
    """`Quyết định số 02/QĐ-PGDĐT ngày 25/5/2025`: a numbered paper as a message names it."""
    number = doc.number_line.removeprefix("Số:").strip() or (
        f"{doc.number:02d}/{doc.context.get('document_code', '')}".rstrip("/") if doc.number else f"mã lưu {doc.id}")
    day = f" ngày {vn.short_date(date.fromisoformat(doc.issued_on))}" if doc.issued_on else ""
    return f"{_kind(doc.doc_type)} số {number}{day}"


def paper_label(doc: GeneratedDocument) -> str:
    """How a door reports a stored paper: its number as the register lists it, else «Dự thảo»."""
    if doc.number is None:
        return "Dự thảo"
    return doc.number_line or f"Số vào sổ: {doc.number:02d}/{doc.context.get('document_code', '')}".rstrip("/")


def build_context(session: Session, code: str, ld: Loaded, issue: Issue, data: dict[str, Any], *,
                  replacing: GeneratedDocument | None = None) -> dict[str, Any]:
    """Dispatch to the pure builder of `code` with rows already loaded; results come from the
    stored data through `workflow.services.results` (never from the data file)."""
    c, school = ld.campaign, ld.school
    if school is None and code in plan_service.TEXTS:  # the authority's own Kế hoạch / Công văn triển khai
        return plan_service.build(session, code, c, ld.authority, ld.milestones, issue, data)
    if code in paper_sections.PAPERS:  # the officer's sections replace the built wording
        ctx = paper_sections.apply(code, _build_context(session, code, ld, issue, data, replacing=replacing),
                                   data.get("sections"))
        _counts_agree(ctx, listed_count(code, ctx))
        return ctx
    return _build_context(session, code, ld, issue, data, replacing=replacing)


_COUNT = re.compile(r"(?<![\d/])(\d{1,3}(?:\.\d{3})*)\s+(?:cơ sở giáo dục|cơ sở(?!\s+dữ liệu)|trường|đơn vị)\b")


def listed_count(code: str, ctx: dict[str, Any]) -> int | None:
    """How many schools the paper's own list prints (None: the paper prints no such list)."""
    if code == "qd_cong_nhan":
        return sum(len(g.get("rows") or []) for g in ctx.get("recognition_groups") or [])
    if code == "qd_doan_danh_gia":
        return len(ctx.get("schools") or [])
    return None


def _counts_agree(ctx: dict[str, Any], listed: int | None) -> None:
    """A count the articles state ("5 cơ sở giáo dục") is the length of the list the paper prints:
    an edited article that kept an old count is refused with both numbers."""
    if listed is None:
        return
    for article in ctx.get("articles") or []:
        for line in [article.get("text", ""), *article.get("more", [])]:
            for m in _COUNT.finditer(line):
                stated = int(m.group(1).replace(".", ""))
                if stated != listed:
                    raise InvalidInput(f"Nội dung ghi «{m.group(0)}» nhưng danh sách kèm theo có {listed} cơ sở: "
                                       "sửa số lượng cho khớp danh sách rồi lập lại")


def _build_context(session: Session, code: str, ld: Loaded, issue: Issue, data: dict[str, Any], *,
                   replacing: GeneratedDocument | None = None) -> dict[str, Any]:
    if data.get("sections") and code not in paper_sections.PAPERS:  # typed text is never dropped without a word
        raise InvalidInput("Văn bản này chưa soạn nội dung theo mục", cli="--text", details=[
            "văn bản soạn theo mục: " + ", ".join([*plan_service.TEXTS, *paper_sections.PAPERS])])
    if code == "cong_van_trien_khai":
        raise InvalidInput("Công văn triển khai lập cho cả đợt đánh giá, không lập cho từng trường",
                           cli="dùng --campaign, không dùng --school")
    if code in ap.CODES:
        return ap.build(session, code, ld, issue, data)
    if code in RESULT_TYPES:
        assert ld.assessment is not None  # a school's paper: load() found its file
        return _RESULT_BUILDERS[code](session, ld, issue, data, school_results(session, ld.assessment.id, "self"))
    builder = _BUILDERS.get(code)
    if builder is None:
        raise InvalidInput(f"Chưa hỗ trợ tạo loại văn bản «{code}»", details=[f"hỗ trợ: {', '.join(sorted(SUPPORTED))}"])
    return builder(session, ld, issue, data, replacing)


# --- one builder per paper: the rows it reads, then the pure builder of documents/contexts.py ---


def _ke_hoach(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
              _r: GeneratedDocument | None) -> dict[str, Any]:
    c = ld.campaign
    return cx.ke_hoach(ld.school or ld.authority, c, ld.milestones, issue,
                       index_sets=data.get("index_sets", [c.index_set_code]), tasks=data.get("tasks", []),
                       contact=data.get("contact", ""), scope=data.get("scope", ""))


def _qd_hoi_dong(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                 _r: GeneratedDocument | None) -> dict[str, Any]:
    return cx.qd_hoi_dong(ld.school, ld.campaign, ld.members, issue)


def _bien_ban(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
              res: SchoolResults) -> dict[str, Any]:
    assert ld.assessment is not None  # a school's paper: load() found its file
    return cx.bien_ban(ld.school, ld.campaign, ld.members, _group_dicts(res), issue,
                       meeting=_meeting_dict(session, ld.assessment.id), mandatory=_mandatory_dicts(res),
                       discussion=data.get("discussion", []))


def _qd_phe_duyet(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                  res: SchoolResults) -> dict[str, Any]:
    c, school = ld.campaign, ld.school
    assert school is not None and ld.supervisor is not None  # a school's paper: load() found its rows
    head = settings_for(session, school).head_title or "Hiệu trưởng"
    committee = _latest(session, "qd_hoi_dong", c.id, school.id)
    minutes = _latest(session, "bien_ban", c.id, school.id)
    ctx = cx.qd_phe_duyet(
        school, c, _group_dicts(res), issue, supervisor_name=ld.supervisor.name,
        committee_decision_ref=_ref(committee, "Quyết định",
                                    f"{head.capitalize()} {school.name}"),
        minutes_ref=_ref(minutes, "Biên bản", school.name),
        report_due=_date(data.get("report_due")), overall_level=res.overall_level)
    return {**ctx, "cites": [d.id for d in (committee, minutes) if d is not None]}


def _to_trinh(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
              res: SchoolResults) -> dict[str, Any]:
    # One level per group, only a level the group reaches (the results service's rule).
    proposals = [{"group_code": p.group.code, "group_name": p.group.name, "level": p.level}
                 for p in proposed_levels(res, data.get("requested_level"))]
    attachments = data.get("attachments", [document_types()[d].name for d in cx.DEFAULT_DOSSIER[2:]])
    assert ld.supervisor is not None and ld.school is not None  # a school's paper: load() found its rows
    ctx = cx.to_trinh(ld.school, ld.campaign, _group_dicts(res), issue, supervisor_name=ld.supervisor.name,
                      proposals=proposals, attachments=attachments)
    # the papers it sends up with it: a voided approval or minutes leaves the Tờ trình «Cần xử lý»
    sent = [_latest(session, k, ld.campaign.id, ld.school.id) for k in ("bien_ban", "bao_cao", "qd_phe_duyet")]
    return {**ctx, "cites": [d.id for d in sent if d is not None]}


def _bao_cao(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
             res: SchoolResults) -> dict[str, Any]:
    assert ld.supervisor is not None  # a school's paper: load() found its supervisor
    return cx.bao_cao(ld.school, ld.campaign, _criteria_dicts(res), _group_dicts(res), issue,
                      addressees=[ld.supervisor.name], profile=data.get("profile"),
                      strengths=data.get("strengths", []), weaknesses=data.get("weaknesses", []),
                      improvements=data.get("improvements", []), proposals=data.get("proposals", []))


def _bia_ho_so(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
               _r: GeneratedDocument | None) -> dict[str, Any]:
    return cx.bia_ho_so(ld.school, ld.campaign, day=issue.issued_on or issue.planned,
                        contents=data.get("dossier", cx.DEFAULT_DOSSIER), missing=data.get("dossier_missing", ()))


def _giay_chung_nhan(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                     _r: GeneratedDocument | None) -> dict[str, Any]:
    assert ld.assessment is not None  # a school's certificate: load() found its file
    setting = settings_for(session, ld.authority)
    res = recognised_results(session, ld.assessment.id)
    decision = _recognition_decision(session, ld.assessment)
    ctx = cx.giay_chung_nhan(ld.authority, ld.campaign, ld.school, issue, level=res.overall_level,
                             group_results=_group_dicts(res),
                             decision_ref=_ref(decision, "Quyết định", ld.authority.name),
                             register_no=issue.number, certificate_code=setting.certificate_code)
    return {**ctx, "cites": [decision.id] if decision is not None else []}


def _qd_cong_nhan(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                  replacing: GeneratedDocument | None) -> dict[str, Any]:
    found = _recognitions(session, ld.campaign, replacing, ld.school.code if ld.school else None)
    return cx.qd_cong_nhan(ld.authority, ld.campaign, found.rows, issue)


def _qd_doan_danh_gia(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                      _r: GeneratedDocument | None) -> dict[str, Any]:
    c = ld.campaign
    data = {**(decision_data(session, c.id) or {}), **{k: v for k, v in data.items() if v}}
    visits = [dict(v) for v in data.get("visits") or []] or [
        {"name": u.name, "visit_date": None, "session": ""} for _, u in _campaign_schools(session, c.id, "qd_doan_danh_gia")]
    for v in visits:
        v["visit_date"] = _date(v.get("visit_date"))
    period = data.get("period") or [None, None]
    review = next((m for m in ld.milestones if m.stage == Stage.EXTERNAL_REVIEW.value and m.due_at), None)
    if review is not None and not period[1]:
        assert review.due_at is not None  # chosen for its deadline
        period = [review.opens_at.astimezone(VN_TZ).date() if review.opens_at else None,
                  review.due_at.astimezone(VN_TZ).date()]
    return cx.qd_doan_danh_gia(ld.authority, c, data.get("team") or [], visits, issue,
                               period=(_date(period[0]), _date(period[1])), team_name=data.get("team_name") or "")


def _cong_van_nhac(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any],
                   _r: GeneratedDocument | None) -> dict[str, Any]:
    key = data.get("milestone")
    pending = [m for m in ld.milestones if m.actor == "school" and m.due_at is not None]
    milestone = next((m for m in pending if m.key == key), None) if key else (pending[0] if pending else None)
    if milestone is None:
        raise InvalidInput("Không xác định được mốc cần đôn đốc (mục «milestone» trong tệp dữ liệu)")
    need = Stage(milestone.stage).order if milestone.stage else Stage.PROPOSAL.order
    overdue = [u for a, u in _campaign_schools(session, ld.campaign.id, "cong_van_nhac") if _stage_order(a.state) < need]
    return cx.cong_van_nhac(ld.authority, ld.campaign, milestone, overdue, issue, unit_code=data.get("unit_code", "VP"))


_RESULT_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "bien_ban": _bien_ban, "qd_phe_duyet": _qd_phe_duyet, "to_trinh": _to_trinh, "bao_cao": _bao_cao}
_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "ke_hoach": _ke_hoach, "qd_hoi_dong": _qd_hoi_dong, "bia_ho_so": _bia_ho_so, "giay_chung_nhan": _giay_chung_nhan,
    "qd_cong_nhan": _qd_cong_nhan, "qd_doan_danh_gia": _qd_doan_danh_gia, "cong_van_nhac": _cong_van_nhac}


def _check_code(code: str) -> None:
    if code not in SUPPORTED:
        raise InvalidInput(f"Loại văn bản không hỗ trợ: «{code}»", details=[f"chọn: {', '.join(sorted(SUPPORTED))}"])


def gate(session: Session, code: str, ld: Loaded, *, draft: bool = False,
         replacing: GeneratedDocument | None = None, data: dict[str, Any] | None = None) -> list[str]:
    """Why `code` may not be issued now (the table in document_types.yaml); empty: it may."""
    if code in ap.CODES:
        return ap.gate(session, code, ld, draft=draft)
    if code in CAMPAIGN_TYPES or ld.school is None:
        if code not in CAMPAIGN_TYPES:
            return []
        facts = CampaignFacts(schools=len(_campaign_schools(session, ld.campaign.id, code)),
                              team_formed=bool((decision_data(session, ld.campaign.id) or {}).get("team")
                                               or (data or {}).get("team")))
        if code == "qd_cong_nhan":
            found = _recognitions(session, ld.campaign, replacing, ld.school.code if ld.school else None)
            facts = CampaignFacts(schools=len(found.rows) + len(found.missing), team_formed=facts.team_formed,
                                  recognised_without_results=tuple(found.missing),
                                  already_decided=tuple(cite(d) for d in found.decided),
                                  one_school=ld.school is not None)
        return campaign_refusals(code, facts)
    return refusals(code, paper_facts(session, ld, document_types()[code].requires), draft=draft)


def _previous(session: Session, code: str, ld: Loaded) -> GeneratedDocument | None:
    """The paper in force that a new one of `code` would repeat: for one school's QĐ công nhận, the
    decision that lists the school (whichever door issued it); otherwise the latest of its type."""
    if code == "qd_cong_nhan" and ld.school is not None:
        return _decisions_in_force(session, ld.campaign, None).get(ld.school.code)
    return _latest(session, code, ld.campaign.id, ld.school.id if ld.school else None)


def _replace_one_school(replacing: GeneratedDocument, school: Unit) -> None:
    """A decision that lists other schools too is replaced for the campaign, never for one school
    (the others would lose their recognition)."""
    others = [c for c in replacing.context.get("school_codes") or [] if c != school.code]
    if others:
        raise InvalidInput(f"{cite(replacing)} công nhận {len(others) + 1} cơ sở giáo dục: thay thế quyết định đó "
                           "cho cả đợt (--campaign), không thay thế riêng cho một trường",
                           details=[f"các trường khác trong quyết định: {', '.join(others[:10])}"])


def _who(ld: Loaded) -> str:
    return ld.school.name if ld.school is not None else f"kế hoạch số {ld.campaign.id}"


def _archive_units(setting: DocumentSetting, issuer: Unit) -> list[str]:
    if setting.archive_unit:
        return [setting.archive_unit]
    return ["HĐTĐG"] if issuer.kind == "school" else []  # a school's papers are drafted by its council


def _foreign_grounds(session: Session, context: dict[str, Any], issuer: Unit) -> list[str]:
    """Errors for căn cứ issued by another Sở or Phòng (neither the issuer nor a unit above it): a
    paper rests on its own unit's and its superiors' papers, not a neighbour's."""
    lines = [vn.nfc(str(x)) for x in context.get("legal_bases") or []]
    if not lines:
        return []
    own = {issuer.id, *chain_of(session, issuer.id)}
    others = [(uid, name) for uid, name in session.execute(
        select(Unit.id, Unit.name).where(col(Unit.kind).in_(("department", "bureau")))).all() if uid not in own]
    out = []
    for line in lines:
        low = line.lower()
        hit = next((name for _, name in others
                    if re.search(rf"(?<!\w){re.escape(vn.nfc(name).lower())}(?!\w)", low)), None)
        if hit:
            out.append(f"Căn cứ là văn bản của đơn vị khác ({hit}), không phải của {issuer.name} hay cấp trên: "
                       f"«{line.removeprefix('Căn cứ ').rstrip(';.')[:90]}»")
    return out


def _named_on(session: Session, ld: Loaded, day: date) -> Loaded:
    """The loaded rows with each unit's name, level and place as they were on `day` (services/units)."""
    return replace(ld, authority=unit_on(session, ld.authority, day),
                   school=unit_on(session, ld.school, day) if ld.school is not None else None,
                   supervisor=unit_on(session, ld.supervisor, day) if ld.supervisor is not None else None)


def _recipients(session: Session, code: str, ld: Loaded, issuer: Unit, data: dict[str, Any],
                day: date) -> list[tuple[str, str]]:
    """Nơi nhận: the superior "(để b/c)" (unless the paper is addressed to it: "Như trên"), then
    the addressees the data file names."""
    out: list[tuple[str, str]] = []
    superior = session.get(Unit, issuer.supervisor_id) if issuer.supervisor_id else None
    superior = unit_on(session, superior, day) if superior is not None else None
    if superior is not None and code in REPORT_UP:
        out.append((superior.name, "để b/c"))
    out += [tuple(r) for r in data.get("recipients", [])]
    return out


def _backdating(session: Session, issuer_id: int, year: int, series: str, number: int, day: date) -> str:
    """A warning when the date falls before the date of the previous number of the series."""
    prev = session.execute(select(GeneratedDocument).where(
        GeneratedDocument.unit_id == issuer_id, GeneratedDocument.year == year, GeneratedDocument.series == series,
        col(GeneratedDocument.number) < number).order_by(col(GeneratedDocument.number).desc())).scalars().first()
    if prev is None or not prev.issued_on or date.fromisoformat(prev.issued_on) <= day:
        return ""
    return (f"Ngày ban hành {vn.short_date(day)} trước ngày của số liền trước "
            f"({prev.number_line}, ngày {vn.short_date(date.fromisoformat(prev.issued_on))}): văn bản ghi lùi ngày")


def _check_may_issue(session: Session, code: str, ld: Loaded, issuer: Unit, actor: str | ActorRef) -> str:
    """The rule table's `issue_school_paper` / `issue_authority_paper`, asked with the facts of the
    paper's school or campaign, whichever door asks (web, API, CLI, bulk, demo). A bare name is a
    person at the command line acting for the issuing unit. Returns the name the register records."""
    who = actor if isinstance(actor, ActorRef) else ActorRef(actor or "người dùng dòng lệnh", issuer.id)
    if issuer.id == (ld.school.id if ld.school else None) and ld.assessment is not None:
        authorization.check_school(session, who, "issue_school_paper", ld.assessment)
    else:
        authorization.check_campaign(session, who, "issue_authority_paper", ld.campaign.id)
    return who.name


def issue_document(session: Session, code: str, ld: Loaded, *, draft: bool = False, issued_on: date | None = None,
                   data: dict[str, Any] | None = None, actor: str | ActorRef = "", on_existing: str | None = None,
                   reason: str = "", draft_replaces: bool = False) -> GeneratedDocument:
    """Ask the gate, take a number (unless draft), build the context and store the record; the
    caller commits. Refused (`PaperRefused`) when what the paper would say is not true yet; a
    second paper of the same type for the same school asks replace-or-new (`AlreadyIssued`)."""
    data = data or {}
    if on_existing not in (None, "replace", "new"):
        raise InvalidInput(f"Chọn «replace» (thay thế) hoặc «new» (văn bản mới), không phải «{on_existing}»")
    issuer = ld.authority if (code in CAMPAIGN_TYPES or code in PER_SCHOOL_AUTHORITY_TYPES or ld.school is None) else ld.school
    actor = _check_may_issue(session, code, ld, issuer, actor)
    setting = settings_for(session, issuer)
    council = code in COUNCIL_TYPES
    numbered = not (draft or code in UNNUMBERED)
    previous = _previous(session, code, ld) if numbered else None
    if previous is not None and on_existing is None:
        raise AlreadyIssued(
            f"Đã có {cite(previous)} ({document_types()[code].name}) cho {_who(ld)}: chọn thay thế văn bản đó "
            "(kèm lý do) hoặc ban hành văn bản mới", cli="--replace kèm --reason, hoặc --new")
    replacing = previous if on_existing == "replace" else None
    if draft and draft_replaces:  # the draft of the paper that would replace the one issued (its defaults)
        replacing = _previous(session, code, ld)
    if replacing is not None and code == "qd_cong_nhan" and ld.school is not None:
        _replace_one_school(replacing, ld.school)
    if replacing is not None and not reason.strip() and not draft:
        raise InvalidInput("Thay thế văn bản cần nêu lý do", cli="--reason")
    refuse(code, _who(ld), gate(session, code, ld, draft=draft, replacing=replacing, data=data))
    chair = next((m for m in ld.members if m.role == "chair"), None)
    signer = default_signer(setting, issuer, ld.members)
    if numbered and not council and code not in ap.TEAM_SIGNED and not signer:
        raise PaperRefused(f"Chưa có họ tên người ký của {issuer.name}",
                           details=["quản trị viên hệ thống đặt họ tên người ký của đơn vị một lần "
                                    "(trường: hoặc lập Hội đồng có Chủ tịch là Hiệu trưởng)"],
                           cli=f"cdsflow docs settings {issuer.code} --signer-name \"…\"")
    today = datetime.now(VN_TZ).date()
    day = None if draft else (issued_on or today)
    ld = _named_on(session, ld, day or issued_on or today)  # names and levels in force on the paper's date
    issuer = ld.authority if issuer.id == ld.authority.id else (ld.school or issuer)
    series = series_for(code, keying=setting.register_keying, council=council)
    year = (day or issued_on or today).year
    number = next_number(session, issuer.id, year, series) if numbered else None
    spec = signature_spec(setting, issuer, council=council, chair=chair.full_name if chair else "",
                          chair_post=chair.position if chair else "", signer_name=signer)
    dtype = document_types()[code]
    code_groups = [dtype.type_code or "BB", "HĐTĐG"] if council else None
    replaces = ""
    if replacing is not None:
        replaces = (f"{_kind(code)} này thay thế " +
                    _ref(replacing, _kind(code), issuer.name).removesuffix(f" của {issuer.name}") +
                    f" (lý do: {vn.nfc(reason).rstrip('.')}).")
    issue = Issue(number=number, issued_on=day, planned=issued_on or today, signature=spec,
                  recipients=_recipients(session, code, ld, issuer, data, day or issued_on or today),
                  archive_units=_archive_units(setting, issuer), drafter_mark=setting.drafter_mark,
                  legal_bases=data.get("legal_bases") or cx.index_set_basis(ld.campaign.index_set_code),
                  consider=data.get("consider", ""), code_groups=code_groups, replaces=replaces)
    try:
        context = build_context(session, code, ld, issue, data, replacing=replacing)
    except TextError as err:  # stored text the gate would refuse today: no paper, no number
        raise InvalidInput(f"Không lập được văn bản: {err}; hãy sửa dữ liệu rồi lập lại") from None
    if bad := first_xml_invalid(context):  # refused before anything is stored: the number rolls back
        raise InvalidInput(f"Không lập được văn bản: «{bad[0]}» chứa ký tự U+{ord(bad[1]):04X} không được phép "
                           "trong tệp Word; hãy sửa dữ liệu rồi lập lại")
    stale_names = district_names(context, day)
    if "legal_bases" in compiled(context.get("template") or code).variables:  # only a paper that prints căn cứ
        stale_names += stale_grounds(context, day or issued_on or today, school_year=ld.campaign.school_year,
                                     index_sets=plan_service.campaign_index_sets(session, ld.campaign),
                                     known_sets=sorted(cx.texts().get("_legal_bases") or {}))
        if ld.school is None or data.get("legal_bases") or data.get("sections"):  # typed, or the campaign's
            stale_names += _foreign_grounds(session, context, issuer)  # (a school's defaults are its index set)
    if stale_names and numbered:  # an error blocks numbering; a draft shows it as a warning
        refuse(code, _who(ld), stale_names)
    notes = [n for n in (_backdating(session, issuer.id, year, series, number, day) if number and day else "",
                         *stale_names) if n]
    record = GeneratedDocument(
        unit_id=issuer.id, school_id=ld.school.id if ld.school else None, campaign_id=ld.campaign.id,
        doc_type=code, series=series, year=year if number else None, number=number,
        number_line=context.get("header", {}).get("number_line", ""), issued_on=day.isoformat() if day else "",
        template_hash=compiled(context.get("template") or code).sha256, context=context, created_by=actor,
        created_at=datetime.now(UTC), status=ISSUED, note="; ".join(notes),
        replaces_id=replacing.id if replacing else None, reason=vn.nfc(reason) if replacing else "")
    if replacing is not None:
        replacing.status = REPLACED
        _note_chain(session, replacing)
        session.add(replacing)
    session.add(record)
    session.flush()
    return record


# --- public use-cases -----------------------------------------------------------------------------


def generate(engine: Engine, code: str, *, school_code: str | None = None, campaign_id: int | None = None,
             draft: bool = False, issued_on: date | None = None, data: dict[str, Any] | None = None,
             actor: str | ActorRef = "", on_existing: str | None = None, reason: str = "",
             ) -> tuple[GeneratedDocument, bytes]:
    """One paper (for a school, or a campaign-wide paper of the authority): gated, stored, then rendered."""
    _check_code(code)
    if code not in CAMPAIGN_TYPES and code != "ke_hoach" and code not in ap.OWN_UNIT_CODES and not school_code:
        raise InvalidInput(f"Loại «{code}» lập cho từng trường: cần chọn trường", cli="--school")
    with UnitOfWork(engine) as uow:
        ld = load(uow.session, campaign_id, school_code)
    with UnitOfWork(engine) as uow:
        record = issue_document(uow.session, code, ld, draft=draft, issued_on=issued_on, data=data, actor=actor,
                                on_existing=on_existing, reason=reason)
        content = render(code, record.context, expected_hash=record.template_hash)
        record.content_sha256 = hashlib.sha256(content).hexdigest()
        uow.commit()
    return record, content


def findings_before_numbering(engine: Engine, code: str, *, school_code: str | None = None,
                              campaign_id: int | None = None, data: dict[str, Any] | None = None,
                              actor: str | ActorRef = "", on_existing: str | None = None, reason: str = "",
                              issued_on: date | None = None) -> list[str]:
    """What the clerk should read before a number is taken: the paper exactly as it would be numbered
    (built, numbered and rendered in a transaction rolled back), with its register warnings (a date
    before the previous number's) and the findings of `docs check`. An error refuses here as it
    would on numbering (PaperRefused / AlreadyIssued / InvalidInput)."""
    _check_code(code)
    with UnitOfWork(engine) as uow:
        ld = load(uow.session, campaign_id, school_code)
    with UnitOfWork(engine) as uow:  # never committed: the number goes back unused
        try:
            record = issue_document(uow.session, code, ld, issued_on=issued_on, data=data, actor=actor,
                                    on_existing=on_existing, reason=reason)
            content = render(code, record.context, expected_hash=record.template_hash)
            notes = [n for n in record.note.split("; ") if n]
        finally:
            uow.rollback()
    return notes + check_docx(content, code, index_set=ld.campaign.index_set_code)


def section_defaults(engine: Engine, code: str, campaign_id: int, school_code: str | None = None,
                     data: dict[str, Any] | None = None) -> dict[str, str]:
    """Each editable section of `code` as the paper would print it now (documents/paper_sections.py):
    a draft built from stored data and thrown away; refused like the paper itself when data is missing."""
    if code not in paper_sections.PAPERS:
        raise InvalidInput(f"Văn bản «{code}» không có nội dung soạn theo mục",
                           details=["chọn: " + ", ".join([*plan_service.TEXTS, *paper_sections.PAPERS])])
    with UnitOfWork(engine) as uow:
        ld = load(uow.session, campaign_id, school_code)
    with UnitOfWork(engine) as uow:  # never committed: the draft is only read
        record = issue_document(uow.session, code, ld, draft=True, data={**(data or {}), "sections": None},
                                draft_replaces=True)
        out = paper_sections.defaults(code, record.context)
        uow.rollback()
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", vn.nfc(name)) or "x"


def file_name(record: GeneratedDocument, school_code: str | None) -> str:
    number = f"{record.number:02d}" if record.number else "du-thao"
    return f"{_safe(school_code or 'chung')}-{record.doc_type}-{number}-{record.id}.docx"


def _render_job(job: tuple[str, dict[str, Any], str, str]) -> str:
    """Worker: render one stored context to a file; returns the content hash."""
    code, context, template_hash, path = job
    content = render(code, context, expected_hash=template_hash)
    Path(path).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


@dataclass
class BulkResult:
    paths: list[Path]
    skipped: list[tuple[str, str]]  # (school code, why), Vietnamese


def generate_for_campaign(engine: Engine, code: str, campaign_id: int, out_dir: Path, *, draft: bool = False,
                          issued_on: date | None = None, data: dict[str, Any] | None = None,
                          actor: str | ActorRef = "",
                          workers: int = 2, progress: Callable[[int, int], None] | None = None,
                          chunk: int = 500, on_existing: str | None = None, reason: str = "") -> BulkResult:
    """One paper per school that qualifies (or the campaign-wide one), rendered in `workers`
    processes; the schools the gate refuses are skipped and listed with the reason. Numbers and
    contexts are stored first, in chunks of bounded time (services/bulk.py; `chunk` is kept for
    callers and no longer used). A run stopped half way is resumed by the same call: the schools
    it numbered are not numbered again, and their papers are rendered again into `out_dir`."""
    _check_code(code)
    out_dir.mkdir(parents=True, exist_ok=True)
    if code in CAMPAIGN_TYPES or code in AUTHORITY_PLAN_TYPES or code in ap.OWN_UNIT_CODES:  # the authority's own paper
        record, content = generate(engine, code, campaign_id=campaign_id, draft=draft, issued_on=issued_on,
                                   data=data, actor=actor, on_existing=on_existing, reason=reason)
        path = out_dir / file_name(record, None)
        path.write_bytes(content)
        if progress:
            progress(1, 1)
        return BulkResult([path], [])
    name = actor.name if isinstance(actor, ActorRef) else actor
    with UnitOfWork(engine) as uow:
        campaign = _campaign(uow.session, campaign_id)
        codes = [u.code for _, u in _campaign_schools(uow.session, campaign_id)]
        # Numbering runs in chunks (services/bulk.py), each its own commit with one line per
        # school: other writers get the database between them, and a run stopped half way is
        # resumed by the same step again (its schools already numbered are not numbered twice).
        job = bulk.start(uow, PAPERS_KIND, f"campaign:{campaign_id}:{code}", f"{code} — {campaign.title}", codes,
                         lambda c: c, by=name, now=datetime.now(UTC))
        earlier = _run_papers(uow.session, job.run.id) if job.resumed else []
    jobs = [(code, rec.context, rec.template_hash, str(out_dir / file_name(rec, sc))) for sc, rec in earlier]
    ids = [rec.id for _, rec in earlier]

    def number(u: UnitOfWork, part: list[str]) -> list[bulk.ItemResult]:
        loaded = load_many(u.session, campaign_id, part)
        lines = []
        for sc, ld in zip(part, loaded, strict=True):
            try:
                with u.session.begin_nested():  # a refusal rolls back only this school
                    rec = issue_document(u.session, code, ld, draft=draft, issued_on=issued_on, data=data,
                                         actor=actor, on_existing=on_existing, reason=reason)
            except (PaperRefused, AlreadyIssued) as err:
                lines.append(bulk.ItemResult(sc, ld.school.name if ld.school else "", SKIPPED,
                                             "; ".join(getattr(err, "reasons", None) or err.details) or err.message))
                continue
            jobs.append((code, rec.context, rec.template_hash, str(out_dir / file_name(rec, sc))))
            ids.append(rec.id)
            lines.append(bulk.ItemResult(sc, ld.school.name if ld.school else "", NUMBERED, str(rec.id)))
        return lines

    with UnitOfWork(engine) as uow:
        bulk.run_chunks(uow, job, number, progress=progress)  # numbering, then the rendering below
        skipped = [(i.key, i.detail) for i in uow.session.execute(
            select(BulkItem).where(BulkItem.run_id == job.run.id, BulkItem.outcome == SKIPPED)
            .order_by(col(BulkItem.seq))).scalars()]
    hashes: list[str] = []
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for h in pool.map(_render_job, jobs, chunksize=max(1, min(64, len(jobs) // (workers * 4) or 1))):
                hashes.append(h)
                if progress:
                    progress(len(hashes), len(jobs))
    else:
        for one in jobs:
            hashes.append(_render_job(one))
            if progress:
                progress(len(hashes), len(jobs))
    # The files' hashes, a thousand per statement and commit, pausing between on SQLite (as the chunks do).
    pairs = [{"id": doc_id, "content_sha256": h} for doc_id, h in zip(ids, hashes, strict=True)]
    with UnitOfWork(engine) as uow:
        for start in range(0, len(pairs), 1000):
            uow.session.execute(update(GeneratedDocument), pairs[start:start + 1000])
            uow.commit()
            if uow.engine.dialect.name == "sqlite" and start + 1000 < len(pairs):
                time.sleep(bulk.PAUSE_SECONDS)
    return BulkResult([Path(j[3]) for j in jobs], skipped)


PAPERS_KIND = "papers"
NUMBERED, SKIPPED = "numbered", "skipped"
OUTCOME_LABELS = {NUMBERED: "Đã lấy số, lập văn bản", SKIPPED: "Bỏ qua: chưa đủ điều kiện"}


@dataclass
class PaperRunSummary:
    run: Any  # BulkRun: its progress
    numbered: int
    skipped: int
    first_skipped: list[tuple[str, str]]  # (school code, why): the first few, the rest in the details


def campaign_school_count(engine: Engine, campaign_id: int) -> int:
    """The schools a bulk paper run of the campaign goes over (a door picks how to run it)."""
    with UnitOfWork(engine) as uow:
        return len(_campaign_schools(uow.session, campaign_id))


def paper_run(uow: UnitOfWork, campaign_id: int, code: str, *, names: int = 20) -> PaperRunSummary:
    """The last bulk run of paper `code` over the campaign: its progress and what it did so far."""
    run = uow.session.execute(select(BulkRun).where(BulkRun.kind == PAPERS_KIND,
                                                    BulkRun.subject == f"campaign:{campaign_id}:{code}")
                              .order_by(col(BulkRun.id).desc())).scalars().first()
    if run is None:
        raise NotFound(f"Chưa có lần lập văn bản «{code}» hàng loạt nào cho kế hoạch số {campaign_id}")
    counts = dict(uow.session.execute(select(BulkItem.outcome, func.count()).where(BulkItem.run_id == run.id)
                                      .group_by(BulkItem.outcome)).all())
    first = [(i.key, i.detail) for i in bulk.first_items(uow, run.id, SKIPPED, names)]
    return PaperRunSummary(run, counts.get(NUMBERED, 0), counts.get(SKIPPED, 0), first)


def paper_run_details(uow: UnitOfWork, run_id: int) -> tuple[str, Iterator[tuple[int, str, str, str, str]]]:
    """(heading, rows) of a bulk paper run: one row per school (the detail: the paper's register id or why not)."""
    run = bulk.get_run(uow, run_id, PAPERS_KIND)
    return bulk.heading(run), bulk.details_rows(uow, run.id, OUTCOME_LABELS)


def _run_papers(session: Session, run_id: int) -> list[tuple[str, GeneratedDocument]]:
    """(school code, paper) numbered by an earlier attempt of a resumed run and still in force: rendered again.
    (The paper's id is the line's detail; compared as text, which every line's detail is.)"""
    rows = session.execute(select(BulkItem.key, GeneratedDocument)
                           .join(GeneratedDocument, func.cast(col(GeneratedDocument.id), String) == BulkItem.detail)
                           .where(BulkItem.run_id == run_id, BulkItem.outcome == NUMBERED,
                                  GeneratedDocument.status == ISSUED).order_by(col(BulkItem.seq))).all()
    return [(sc, rec) for sc, rec in rows]


def reproduce(engine: Engine, document_id: int) -> bytes:
    """The same bytes as when the paper was generated, from its stored context and template hash."""
    with UnitOfWork(engine) as uow:
        record = uow.session.get(GeneratedDocument, document_id)
        if record is None:
            raise NotFound(f"Không tìm thấy văn bản số {document_id} trong sổ")
        code, context, template_hash = record.doc_type, record.context, record.template_hash
    return render(code, context, expected_hash=template_hash)


# --- what a paper cites, and what becomes of it when the cited paper falls ---------------------


def cites_of(doc: GeneratedDocument) -> list[int]:
    """The register ids of the papers this one cites (its căn cứ), as stored when it was numbered."""
    return [int(i) for i in (doc.context or {}).get("cites") or []]


def needs_action(session: Session, docs: Sequence[GeneratedDocument]) -> dict[int, str]:
    """Paper id → why it needs the clerk (a paper it cites was voided or replaced), for papers in force."""
    wanted = {i for d in docs if d.status == ISSUED for i in cites_of(d)}
    if not wanted:
        return {}
    cited = {d.id: d for d in session.execute(select(GeneratedDocument).where(
        col(GeneratedDocument.id).in_(wanted))).scalars()}
    out: dict[int, str] = {}
    for d in docs:
        fallen = [cited[i] for i in cites_of(d) if d.status == ISSUED and i in cited and cited[i].status != ISSUED]
        if fallen:
            out[d.id] = "Cần xử lý: " + "; ".join(
                f"căn cứ {cite(c)} đã {'bị hủy' if c.status == VOIDED else 'bị thay thế'}" for c in fallen) + (
                " (hủy văn bản này hoặc cấp lại theo quyết định mới)")
    return out


def dependents(session: Session, doc: GeneratedDocument) -> list[GeneratedDocument]:
    """The papers in force that cite `doc` (a certificate citing its decision, …), oldest first."""
    rows = session.execute(select(GeneratedDocument).where(
        col(GeneratedDocument.status) == ISSUED, col(GeneratedDocument.number).is_not(None),
        col(GeneratedDocument.id) != doc.id).order_by(col(GeneratedDocument.id))).scalars()
    return [d for d in rows if doc.id in cites_of(d)]


def dependent_label(d: GeneratedDocument) -> str:
    """`Giấy chứng nhận mức độ chuyển đổi số Số vào sổ: 01 (mã lưu 7)`: a dependent as the clerk finds it."""
    return f"{document_types()[d.doc_type].name} {paper_label(d)} (mã lưu {d.id})"


def _note_chain(session: Session, fallen: GeneratedDocument) -> list[GeneratedDocument]:
    """The register's history of a voided or replaced paper names the papers that cited it (they are
    now «Cần xử lý»), so the chain stays readable after they are reissued."""
    hit = dependents(session, fallen)
    if hit:
        chain = "căn cứ của: " + ", ".join(f"{_kind(d.doc_type)} {register_number(d)}" for d in hit)
        fallen.note = "; ".join(x for x in (fallen.note, chain) if x)
    return hit


@dataclass
class FallPreview:
    """What voiding or replacing a paper would do, shown before the clerk confirms."""

    paper: str  # the paper that falls, as a message names it
    marked: list[str]  # the papers in force citing it, which become «Cần xử lý»


def void_preview(session: Session, doc: GeneratedDocument) -> FallPreview:
    """Before voiding `doc`: the papers that cite it and will need the clerk."""
    return FallPreview(cite(doc) if doc.number else paper_label(doc), [dependent_label(d) for d in dependents(session, doc)])


def replace_preview(engine: Engine, code: str, *, school_code: str | None = None,
                    campaign_id: int | None = None) -> FallPreview | None:
    """Before replacing: the paper in force a new `code` would replace and the papers citing it
    (None: nothing to replace)."""
    _check_code(code)
    with UnitOfWork(engine) as uow:
        ld = load(uow.session, campaign_id, school_code)
        previous = _previous(uow.session, code, ld)
        return void_preview(uow.session, previous) if previous is not None else None


def valid_copy(engine: Engine, document_id: int) -> bytes:
    """The paper's bytes to hand out as valid: refused while a paper it cites is voided or replaced."""
    with UnitOfWork(engine) as uow:
        record = uow.session.get(GeneratedDocument, document_id)
        if record is None:
            raise NotFound(f"Không tìm thấy văn bản số {document_id} trong sổ")
        if why := needs_action(uow.session, [record]).get(record.id):
            raise NeedsAction(f"Không cấp bản có giá trị của {paper_label(record)} ({document_types()[record.doc_type].name}): "
                              f"{why.removeprefix('Cần xử lý: ')}")
    return reproduce(engine, document_id)


def dossier_order(extra: dict[str, Any] | None) -> list[str]:
    """The binding order a calendar asks for (`dossier: [...]` in its extra data), else the default
    of the Hải Phòng seed: bìa, tờ trình, biên bản, báo cáo, quyết định phê duyệt."""
    order = list((extra or {}).get("dossier") or cx.DEFAULT_DOSSIER)
    unknown = [c for c in order if c not in document_types()]
    if unknown:
        raise InvalidInput("Thứ tự hồ sơ có loại văn bản không có trong danh mục", details=unknown)
    return order


def register_listing(engine: Engine, unit_code: str | None = None) -> list[RegisterLine]:
    """The register lines (sổ đăng ký văn bản đi) of one unit, or of every unit."""
    with UnitOfWork(engine) as uow:
        unit_id = _unit_by_code(uow.session, unit_code).id if unit_code else None
        return register_lines(uow.session, unit_id, actions=lambda docs: needs_action(uow.session, docs))


@dataclass
class Voided:
    doc: GeneratedDocument
    needing_action: list[tuple[str, str]]  # (the dependent paper as the register names it, why)


def void_document(engine: Engine, document_id: int, reason: str, actor: str = "") -> GeneratedDocument:
    return void_paper(engine, document_id, reason, actor).doc


def void_paper(engine: Engine, document_id: int, reason: str, actor: str = "") -> Voided:
    """Void an issued paper with a reason: its number stays taken (never reused), the paper stays
    in the register marked voided, and later papers no longer cite it."""
    try:
        reason = clean_text(reason, field="lý do hủy")
    except TextError as exc:
        raise InvalidInput(str(exc)) from None
    if not reason:
        raise InvalidInput("Hủy văn bản cần nêu lý do", cli="--reason")
    with UnitOfWork(engine) as uow:
        doc = uow.session.get(GeneratedDocument, document_id)
        if doc is None or doc.number is None:
            raise NotFound(f"Không tìm thấy văn bản đã cấp số có mã lưu {document_id} trong sổ")
        if doc.status != ISSUED:
            raise InvalidInput(f"Văn bản {doc.number_line} đã {'hủy' if doc.status == VOIDED else 'bị thay thế'}")
        doc.status, doc.reason = VOIDED, reason[:1000]
        doc.note = "; ".join(x for x in (doc.note, f"hủy bởi {actor}" if actor else "") if x)
        uow.session.flush()
        hit = _note_chain(uow.session, doc)
        uow.session.add(doc)
        why = needs_action(uow.session, hit)
        uow.commit()
        uow.session.refresh(doc)
        return Voided(doc, [(dependent_label(d), why.get(d.id, "")) for d in hit])
