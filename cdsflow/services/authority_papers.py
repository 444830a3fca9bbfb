"""The papers of the review and of the report upward, gathered from the stored state: Quyết định
thành lập bộ phận chỉ đạo CĐS, Thông báo phân công nhiệm vụ đoàn, Biên bản kiểm tra đánh giá ngoài,
Danh sách đơn vị đề nghị công nhận, Báo cáo tổng hợp kết quả.

The documents service (service.py) hands these codes here for their gate (`gate`) and their context
(`build`); numbering, storing and rendering stay there. Every figure comes from the same use-cases
the pages use (review_teams, results, steering); nothing a person did not record is printed.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from cdsflow.calendars.timeutil import TZ
from cdsflow.documents import contexts_reports as cr
from cdsflow.documents import contexts_review as cv
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.contexts import Issue
from cdsflow.documents.register import kind_word
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.services.campaigns import MilestoneView, family_ids, next_milestones
from cdsflow.services.results import NoResults, SchoolResults, recognised_results, recognition_event, school_results
from cdsflow.services.review_teams import decision_data
from cdsflow.services.steering import steering_members
from cdsflow.storage.documents_tables import ISSUED, GeneratedDocument
from cdsflow.storage.review_tables import ReviewTeam, ReviewTeamMember, ReviewVisit
from cdsflow.storage.tables import Assessment, AssessmentEvent, CampaignMilestone, Unit
from cdsflow.workflow.document_types import document_types
from cdsflow.workflow.paper_gates import CampaignFacts, PaperFacts, campaign_refusals, refusals

if TYPE_CHECKING:  # papers imports this module
    from cdsflow.services.papers import Loaded

CAMPAIGN_CODES = {"thong_bao", "danh_sach_de_nghi", "bao_cao_tong_hop", "danh_sach_ban_chi_dao"}
SCHOOL_AUTHORITY_CODES = {"bien_ban_danh_gia_ngoai"}  # the authority issues it about one school
OWN_UNIT_CODES = {"qd_ban_chi_dao"}  # a school (--school) or the campaign's authority issues its own
CODES = CAMPAIGN_CODES | SCHOOL_AUTHORITY_CODES | OWN_UNIT_CODES
TEAM_SIGNED = {"bien_ban_danh_gia_ngoai"}  # signed by the team and the school, not the unit's signer
RECOGNISED = (Stage.RECOGNITION.value, Stage.PUBLISHED.value)
REVIEWED = (Stage.EXTERNAL_REVIEW.value, *RECOGNISED)


# --- lookups ------------------------------------------------------------------------------------


def _family(session: Session, campaign_id: int) -> list[tuple[Assessment, Unit]]:
    return [(a, u) for a, u in session.execute(
        select(Assessment, Unit).join(Unit, col(Unit.id) == Assessment.school_id)
        .where(col(Assessment.campaign_id).in_(family_ids(session, campaign_id))).order_by(col(Unit.code))).all()]


def _external_complete(session: Session, assessment_id: int) -> bool:
    try:
        return school_results(session, assessment_id, "external").complete
    except NoResults:
        return False


def _visit(session: Session, assessment_id: int) -> ReviewVisit | None:
    return session.execute(select(ReviewVisit).where(ReviewVisit.assessment_id == assessment_id)
                           .order_by(col(ReviewVisit.id).desc())).scalars().first()


def _team_members(session: Session, team_id: int) -> list[dict[str, Any]]:
    return [{"full_name": m.full_name, "position": m.position, "workplace": m.workplace, "role": m.role}
            for m in session.execute(select(ReviewTeamMember).where(ReviewTeamMember.team_id == team_id)
                                     .order_by(col(ReviewTeamMember.position_order))).scalars()]


def _own_paper(session: Session, unit_id: int, code: str, campaign_id: int) -> list[GeneratedDocument]:
    """The unit's own numbered papers of a type in force for the campaign, oldest first."""
    return list(session.execute(select(GeneratedDocument).where(
        GeneratedDocument.unit_id == unit_id, GeneratedDocument.doc_type == code,
        col(GeneratedDocument.campaign_id) == campaign_id, col(GeneratedDocument.school_id).is_(None),
        col(GeneratedDocument.number).is_not(None), col(GeneratedDocument.status) == ISSUED)
        .order_by(col(GeneratedDocument.id))).scalars())


def _ref(doc: GeneratedDocument, kind: str, issuer_name: str) -> str:
    day = date.fromisoformat(doc.issued_on) if doc.issued_on else None
    return vn.reference(kind, doc.number, doc.context.get("document_code", ""), day, issuer_name)


def _groups(res: SchoolResults) -> list[dict[str, Any]]:
    return [{"group_code": g.code, "group_name": g.name, "max_points": g.max_points, "points": g.points,
             "level": g.level_or_state} for g in res.groups]


def _return_notes(session: Session, assessment_id: int) -> dict[str, list[str]]:
    """The reviewers' notes per criterion, from each return for supplement in the history."""
    notes: dict[str, list[str]] = defaultdict(list)
    for e in session.execute(select(AssessmentEvent).where(
            AssessmentEvent.assessment_id == assessment_id, AssessmentEvent.trigger == "return_for_supplement")
            .order_by(col(AssessmentEvent.id))).scalars():
        day = vn.short_date(e.at.astimezone(TZ).date()) if e.at else ""
        for code, text in ((e.details or {}).get("criteria") or {}).items():
            notes[code].append(f"{text} (trả hồ sơ ngày {day})" if day else text)
    return notes


# --- the gate -----------------------------------------------------------------------------------


def gate(session: Session, code: str, ld: Loaded, *, draft: bool = False) -> list[str]:
    """Why `code` may not be issued now (document_types.yaml's requirements, with their facts)."""
    if ld.school is not None:
        a = ld.assessment
        assert a is not None  # load() finds the school's file or refuses
        issuer = ld.school if code in OWN_UNIT_CODES else ld.authority
        facts = PaperFacts(stage=a.state,
                           external_complete=code in SCHOOL_AUTHORITY_CODES and _external_complete(session, a.id),
                           visit_scheduled=code in SCHOOL_AUTHORITY_CODES and _visit(session, a.id) is not None,
                           steering_formed=bool(steering_members(session, issuer.id)) if code in OWN_UNIT_CODES
                           else False)
        return refusals(code, facts, draft=draft)
    c = ld.campaign
    family = _family(session, c.id)
    stages = {s.value for s in document_types()[code].stages}
    listed = [(a, u) for a, u in family if not stages or a.state in stages]
    campaign_facts = CampaignFacts(
        schools=len(listed),
        team_formed=bool((decision_data(session, c.id) or {}).get("team")),
        reviewed=sum(1 for a, _ in listed if a.state in REVIEWED and _external_complete(session, a.id))
        if code == "danh_sach_de_nghi" else 0,
        recognised_count=sum(1 for a, _ in family if a.state in RECOGNISED),
        has_superior=bool(ld.authority.supervisor_id),
        steering_formed=bool(steering_members(session, ld.authority.id)),
        steering_units=sum(1 for u in _steering_units(session, ld, family) if u["members"])
        if code == "danh_sach_ban_chi_dao" else 0)
    return campaign_refusals(code, campaign_facts)


def _steering_units(session: Session, ld: Loaded, family: list[tuple[Assessment, Unit]]) -> list[dict[str, Any]]:
    """The issuer, then the campaign's schools in Vietnamese name order, each with its stored group."""
    schools = sorted({u.id: u for _, u in family}.values(), key=lambda u: vn.text_sort_key(u.name))
    return [{"unit_name": u.name, "members": steering_members(session, u.id)} for u in [ld.authority, *schools]]


# --- contexts -----------------------------------------------------------------------------------


def _school_paper_ids(session: Session, unit_id: int, code: str, campaign_id: int,
                      school_ids: list[int]) -> list[int]:
    """Register ids of the numbered papers in force of a type that `unit_id` issued about these schools."""
    if not school_ids:
        return []
    return list(session.execute(select(GeneratedDocument.id).where(
        GeneratedDocument.unit_id == unit_id, GeneratedDocument.doc_type == code,
        col(GeneratedDocument.campaign_id) == campaign_id, col(GeneratedDocument.school_id).in_(school_ids),
        col(GeneratedDocument.number).is_not(None), col(GeneratedDocument.status) == ISSUED)
        .order_by(col(GeneratedDocument.id))).scalars())


def _cites(session: Session, code: str, ld: Loaded, ctx: dict[str, Any]) -> list[int]:
    """The register ids of the papers this one rests on, so voiding or replacing one of them marks
    it «Cần xử lý» (services/papers.needs_action): a list or a report stops being true with them."""
    c, authority = ld.campaign, ld.authority
    team_decisions = [d.id for d in _own_paper(session, authority.id, "qd_doan_danh_gia", c.id)[-1:]]
    if code in ("thong_bao", "bien_ban_danh_gia_ngoai"):  # the team the decision formed
        return team_decisions
    if code == "danh_sach_de_nghi":  # each listed school's review minutes, and the team's decision
        ids = [u.id for _, u in _family(session, c.id) if u.code in set(ctx.get("school_codes") or [])]
        return team_decisions + _school_paper_ids(session, authority.id, "bien_ban_danh_gia_ngoai", c.id, ids)
    if code == "bao_cao_tong_hop":  # the papers its work lines and intro cite, the lists it sums up
        return [d.id for k in ("ke_hoach", "qd_doan_danh_gia", "thong_bao", "qd_cong_nhan", "danh_sach_de_nghi")
                for d in _own_paper(session, authority.id, k, c.id)]
    if code == "danh_sach_ban_chi_dao":  # each unit's decision forming the group it lists
        units = [authority.id, *(u.id for _, u in _family(session, c.id))]
        return list(session.execute(select(GeneratedDocument.id).where(
            GeneratedDocument.doc_type == "qd_ban_chi_dao", col(GeneratedDocument.unit_id).in_(units),
            col(GeneratedDocument.number).is_not(None), col(GeneratedDocument.status) == ISSUED)
            .order_by(col(GeneratedDocument.id))).scalars())
    return []


def build(session: Session, code: str, ld: Loaded, issue: Issue, data: dict[str, Any]) -> dict[str, Any]:
    ctx = _build(session, code, ld, issue, data)
    return {**ctx, "cites": _cites(session, code, ld, ctx)}


def _build(session: Session, code: str, ld: Loaded, issue: Issue, data: dict[str, Any]) -> dict[str, Any]:
    c, authority = ld.campaign, ld.authority
    if code == "qd_ban_chi_dao":
        issuer = ld.school or authority
        return cr.qd_ban_chi_dao(issuer, c, steering_members(session, issuer.id), issue)
    if code == "thong_bao":
        team = decision_data(session, c.id) or {}
        decisions = _own_paper(session, authority.id, "qd_doan_danh_gia", c.id)
        return cv.thong_bao(authority, c, team.get("team") or [], team.get("visits") or [], issue,
                            team_name=team.get("team_name", ""), period=tuple(team.get("period") or (None, None)),
                            decision_ref=_ref(decisions[-1], "Quyết định", authority.name) if decisions else "",
                            duties=data.get("duties") or {})
    if code == "bien_ban_danh_gia_ngoai":
        return _bien_ban(session, ld, issue)
    if code == "danh_sach_de_nghi":
        rows = []
        for a, u in _family(session, c.id):
            if a.state not in REVIEWED:
                continue
            try:
                ext = school_results(session, a.id, "external")
            except NoResults:
                continue
            if not ext.complete:
                continue
            own = school_results(session, a.id, "self")
            rows.append({"school_name": u.name, "school_code": u.code, "education_level": u.education_level,
                         "commune": u.place_name, "self_groups": _groups(own), "external_groups": _groups(ext),
                         "note": "Đã công nhận" if a.state in RECOGNISED else ""})
        team = decision_data(session, c.id) or {}
        return cv.danh_sach_de_nghi(authority, c, rows, issue, team_name=team.get("team_name")
                                    or f"Đoàn đánh giá ngoài mức độ chuyển đổi số năm học {c.school_year}")
    if code == "bao_cao_tong_hop":
        return _report(session, ld, issue, data)
    if code == "danh_sach_ban_chi_dao":
        return cr.danh_sach_ban_chi_dao(authority, c, _steering_units(session, ld, _family(session, c.id)), issue)
    raise KeyError(code)


def _bien_ban(session: Session, ld: Loaded, issue: Issue) -> dict[str, Any]:
    a, c, school = ld.assessment, ld.campaign, ld.school
    assert a is not None and school is not None  # a school's paper
    visit = _visit(session, a.id)
    if visit is not None:
        team = session.get(ReviewTeam, visit.team_id)
        visit_dict = {"visit_date": visit.visit_date, "session": visit.session}
    else:  # a draft before the visit is scheduled: the campaign's team, the day left blank
        team = session.execute(select(ReviewTeam).where(col(ReviewTeam.campaign_id).in_(family_ids(session, c.id)))
                               ).scalars().first()
        visit_dict = {"visit_date": None, "session": vn.BLANK}
    if team is None:
        raise InvalidInput(f"Chưa có Đoàn đánh giá ngoài cho {school.name}")
    ext = school_results(session, a.id, "external")
    own = school_results(session, a.id, "self")
    notes = _return_notes(session, a.id)
    criteria = [{"code": r.code, "group_code": r.group_code, "name": r.name, "max_points": r.max_points,
                 "self_points": r.self_points, "external_points": r.external_points,
                 "notes": [n for k, v in notes.items() if k == r.code or k.startswith(r.code + ".") for n in v]}
                for r in ext.criteria]
    chair = next((m for m in ld.members if m.role == "chair"), None)
    return cv.bien_ban_danh_gia_ngoai(
        ld.authority, c, school, issue, team_name=team.name, team_members=_team_members(session, team.id),
        visit=visit_dict, criteria=criteria, self_groups=_groups(own), external_groups=_groups(ext),
        mandatory=[{"criterion": m.code, "met": bool(m.met)} for m in ext.mandatory],
        school_head={"full_name": chair.full_name, "position": chair.position} if chair else None,
        levels=ext.level_text, index_set=c.index_set_code)


def _report(session: Session, ld: Loaded, issue: Issue, data: dict[str, Any]) -> dict[str, Any]:
    c, authority = ld.campaign, ld.authority
    superior = session.get(Unit, authority.supervisor_id) if authority.supervisor_id else None
    if superior is None:
        raise InvalidInput(f"{authority.name} chưa có cơ quan quản lý cấp trên để gửi báo cáo")
    family = _family(session, c.id)
    now = datetime.combine(issue.issued_on or issue.planned or date.today(), datetime.max.time(), tzinfo=TZ)
    milestones: dict[int, list[MilestoneView]] = defaultdict(list)
    for m in session.execute(select(CampaignMilestone).where(
            col(CampaignMilestone.campaign_id).in_({a.campaign_id for a, _ in family} | {c.id}))).scalars():
        milestones[m.campaign_id].append(MilestoneView(m.key, m.title, Stage(m.stage) if m.stage else None, m.due_at))
    totals = dict.fromkeys(("schools", "self_assessed", "proposed", "reviewed", "recognised", "published"), 0)
    recognitions, pending = [], []
    group_counts: dict[str, dict[str, Any]] = {}
    by_level: dict[str, dict[str, Any]] = {}
    for a, u in family:
        stage = Stage(a.state) if a.state in {s.value for s in Stage} else Stage.SELF_ASSESSMENT
        totals["schools"] += 1
        try:
            totals["self_assessed"] += school_results(session, a.id, "self").complete
        except NoResults:
            pass
        totals["proposed"] += stage.order >= Stage.PROPOSAL.order
        totals["reviewed"] += _external_complete(session, a.id)
        level = by_level.setdefault(u.education_level or "", {"education_level": u.education_level or "",
                                                              "schools": 0, "recognised": 0, "groups": {}})
        level["schools"] += 1
        if a.state in RECOGNISED and recognition_event(session, a.id) is not None:
            res = recognised_results(session, a.id)
            totals["recognised"] += 1
            totals["published"] += a.state == Stage.PUBLISHED.value
            level["recognised"] += 1
            for g in res.groups:
                gc = group_counts.setdefault(g.code, {"group_code": g.code, "group_name": g.name, "levels": {}})
                gc["levels"][g.level] = gc["levels"].get(g.level, 0) + 1
                lg = level["groups"].setdefault(g.code, {})
                lg[g.level] = lg.get(g.level, 0) + 1
            note = f"Công nhận theo kết quả tự đánh giá: {res.override_reason}" if res.override_reason else ""
            recognitions.append({"school_name": u.name, "school_code": u.code, "education_level": u.education_level,
                                 "commune": u.place_name, "group_results": _groups(res), "level": res.overall_level,
                                 "note": note})
        else:
            nxt = next_milestones(milestones.get(a.campaign_id) or milestones.get(c.id) or []).get(stage)
            late = (f"Chậm hạn «{nxt.title}» ({vn.short_date(nxt.due_at.astimezone(TZ).date())})"
                    if nxt is not None and nxt.due_at is not None and nxt.due_at < now else "")  # always dated
            pending.append({"school_name": u.name, "stage": stage.label, "late": late})
    work: list[str] = []
    plans = _own_paper(session, authority.id, "ke_hoach", c.id)
    for code, verb in (("ke_hoach", "Ban hành"), ("qd_doan_danh_gia", "Thành lập Đoàn đánh giá ngoài theo"),
                       ("thong_bao", "Phân công nhiệm vụ thành viên Đoàn theo"),
                       ("qd_cong_nhan", "Công nhận mức độ chuyển đổi số theo")):
        for doc in _own_paper(session, authority.id, code, c.id):
            work.append(f"{verb} {_ref(doc, kind_word(code), authority.name)}.")
    return cr.bao_cao_tong_hop(
        authority, c, issue, superior_name=superior.name, totals=totals,
        group_counts=[group_counts[k] for k in sorted(group_counts)], level_rows=list(by_level.values()),
        pending=pending, recognitions=recognitions, work_lines=work,
        plan_ref=_ref(plans[-1], "Kế hoạch", authority.name) if plans else "", proposals=data.get("proposals") or [])
