"""Use-cases of the external review team (đoàn đánh giá ngoài): form it, schedule its visits, show it.

Only the campaign's issuing unit or a unit above it forms the team. Everything is validated before
the first write, so a refused request leaves the stored team exactly as it was.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from cdsflow.calendars.timeutil import TZ, day_off_reason
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text, fold
from cdsflow.services import authorization
from cdsflow.services.campaigns import family_ids
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.review_tables import ReviewTeam, ReviewTeamMember, ReviewVisit
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CampaignMilestone, Unit
from cdsflow.storage.web_tables import Account
from cdsflow.workflow.bodies import team_period_problems, team_role_problems
from cdsflow.workflow.context import ActorRef

VN = TZ

TEAM_ROLES = {"head": "Trưởng đoàn", "deputy": "Phó Trưởng đoàn", "secretary": "Thư ký", "member": "Thành viên"}
_ROLE_ALIASES = {fold(v): k for k, v in TEAM_ROLES.items()} | {k: k for k in TEAM_ROLES} | {
    "truongdoan": "head", "photruongdoan": "deputy", "phodoan": "deputy", "thuky": "secretary",
    "thanhvien": "member", "uyvien": "member",
}
SESSIONS = ("sáng", "chiều")
_SESSION_ALIASES = {"sang": "sáng", "chieu": "chiều", "morning": "sáng", "afternoon": "chiều"}
# A school is visited once it has proposed: the proposal and every stage after it.
VISITABLE = frozenset(s for s in Stage if s.order >= Stage.PROPOSAL.order)


@dataclass(frozen=True)
class TeamMemberInput:
    full_name: str
    role: str
    position: str = ""
    workplace: str = ""
    username: str = ""  # optional web login of the member


@dataclass(frozen=True)
class VisitInput:
    school: str | int  # school code, or the assessment id
    visit_date: date | None  # None removes the school's visit
    session: str = "sáng"


@dataclass(frozen=True)
class MemberView:
    full_name: str
    role: str
    role_label: str
    position: str
    workplace: str
    username: str


@dataclass(frozen=True)
class VisitView:
    assessment_id: int
    school_code: str
    school_name: str
    stage: Stage
    visit_date: date | None
    session: str


@dataclass
class TeamView:
    campaign_id: int
    campaign_title: str
    exists: bool
    name: str = ""
    period_start: date | None = None
    period_end: date | None = None
    created_by: str = ""
    created_at: datetime | None = None
    members: list[MemberView] = field(default_factory=list)
    # Every school of the campaign that has proposed, with its visit when one is scheduled.
    schools: list[VisitView] = field(default_factory=list)
    team_id: int | None = None

    @property
    def visits(self) -> list[VisitView]:
        return [s for s in self.schools if s.visit_date is not None]


def parse_team_role(value: str) -> str | None:
    return _ROLE_ALIASES.get(fold(value or ""))


def parse_session(value: str) -> str | None:
    v = (value or "").strip().lower()
    return v if v in SESSIONS else _SESSION_ALIASES.get(fold(v))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    c = uow.session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return c


def _check_actor(uow: UnitOfWork, c: Campaign, actor: ActorRef) -> None:
    """The rulebook's `form_team`; an actor without a unit is the operator at the command line,
    acting for the issuing unit."""
    if actor.unit_id is None:
        actor = ActorRef(actor.name, c.issuer_id, actor.role, actor.account_id)
    authorization.check_campaign(uow.session, actor, "form_team", c.id)


def _team(session: Session, campaign_id: int) -> ReviewTeam | None:
    return session.execute(select(ReviewTeam).where(ReviewTeam.campaign_id == campaign_id)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def _campaign_ids(session: Session, campaign_id: int) -> list[int]:
    """The campaign and its child campaigns (a department's team may visit its bureaus' schools)."""
    return family_ids(session, campaign_id)


def review_period(uow: UnitOfWork, campaign_id: int) -> tuple[date | None, date | None]:
    """The calendar's external-review window (in Vietnam's dates), to pre-fill the team's period."""
    m = uow.session.execute(
        select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id,
                                        CampaignMilestone.stage == Stage.EXTERNAL_REVIEW.value,
                                        col(CampaignMilestone.due_at).is_not(None))
        .order_by(col(CampaignMilestone.due_at))
    ).scalars().first()
    if m is None:
        return None, None
    end = m.due_at.astimezone(VN).date()
    if m.opens_at is not None:
        return m.opens_at.astimezone(VN).date(), end
    # No opening date: the review starts the day after the milestone before it (the proposals' deadline).
    before = uow.session.execute(
        select(CampaignMilestone.due_at).where(CampaignMilestone.campaign_id == campaign_id,
                                               CampaignMilestone.due_at < m.due_at)
        .order_by(col(CampaignMilestone.due_at).desc())
    ).scalars().first()
    return ((before.astimezone(VN).date() + timedelta(days=1)) if before else None), end


def _clean(value: str, name: str, problems: list[str], where: str) -> str:
    try:
        return clean_text(value or "", field=name)
    except TextError as err:
        problems.append(f"{where}: {err}")
        return ""


def set_team(
    uow: UnitOfWork,
    campaign_id: int,
    members: Sequence[TeamMemberInput],
    actor: ActorRef,
    *,
    name: str = "",
    period_start: date | None = None,
    period_end: date | None = None,
    now: datetime | None = None,
) -> TeamView:
    """Create the campaign's team or replace its name, period and members (visits are kept).

    Period defaults to the calendar's external-review window. Refused whole, naming every problem.
    """
    session = uow.session
    now = _now(now)
    c = _campaign(uow, campaign_id)
    _check_actor(uow, c, actor)
    problems: list[str] = []
    team_name = (_clean(name, "tên đoàn", problems, "Tên đoàn")
                 or f"Đoàn đánh giá ngoài mức độ chuyển đổi số năm học {c.school_year}")
    default_start, default_end = review_period(uow, c.id)
    start, end = period_start or default_start, period_end or default_end
    if start is None or end is None:
        problems.append("Thiếu thời gian làm việc của đoàn (từ ngày, đến ngày): lịch của kế hoạch không có "
                        "mốc đánh giá ngoài để lấy mặc định")
    elif start > end:
        problems.append(f"Thời gian làm việc không hợp lệ: từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}")
    team = _team(session, c.id)
    if start and end and (team is None or (team.period_start, team.period_end) != (start, end)):
        # formed, or its period changed: never for work already over (members may still be corrected)
        problems += team_period_problems(start, end, now.astimezone(TZ).date())

    rows: list[dict[str, Any]] = []
    usernames: dict[str, int] = {}
    for i, m in enumerate(members, start=1):
        where = f"Thành viên {i}"
        full_name = _clean(m.full_name, "họ và tên", problems, where)
        position = _clean(m.position, "chức vụ", problems, where)
        workplace = _clean(m.workplace, "đơn vị công tác", problems, where)
        if full_name:
            where = f"{where} ({full_name})"
        else:
            problems.append(f"{where}: thiếu họ và tên")
        role = parse_team_role(m.role)
        if role is None:
            problems.append(f"{where}: nhiệm vụ trong đoàn không rõ «{m.role}» (dùng: {', '.join(TEAM_ROLES.values())})")
        account_id = None
        username = (m.username or "").strip().lower()
        if username:
            account_id = session.execute(select(Account.id).where(Account.username == username)).scalar_one_or_none()
            if account_id is None:
                problems.append(f"{where}: không có tài khoản «{username}»")
            elif username in usernames:
                problems.append(f"{where}: tài khoản «{username}» đã gán cho thành viên {usernames[username]}")
            else:
                usernames[username] = i
        rows.append({"position_order": i, "full_name": full_name, "position": position, "workplace": workplace,
                     "role": role, "account_id": account_id})
    problems += team_role_problems([r["role"] for r in rows])

    if team is not None and start and end:
        outside = session.execute(
            select(Unit.name, col(ReviewVisit.visit_date)).join(Assessment, col(Assessment.id) == ReviewVisit.assessment_id)
            .join(Unit, col(Unit.id) == Assessment.school_id)
            .where(ReviewVisit.team_id == team.id, (ReviewVisit.visit_date < start) | (ReviewVisit.visit_date > end))
        ).all()
        problems += [f"Lịch làm việc tại {n} ngày {d:%d/%m/%Y} nằm ngoài thời gian mới của đoàn" for n, d in outside]
    if problems:
        raise InvalidInput("Danh sách Đoàn đánh giá ngoài có lỗi; chưa lưu gì:", details=problems)

    if team is None:
        team_id = session.execute(insert(ReviewTeam).returning(col(ReviewTeam.id)).values(
            campaign_id=c.id, name=team_name, period_start=start, period_end=end, created_by=actor.name,
            created_at=now, updated_by=actor.name, updated_at=now)).scalar_one()
    else:
        team_id = team.id
        session.execute(update(ReviewTeam).where(col(ReviewTeam.id) == team_id).values(
            name=team_name, period_start=start, period_end=end, updated_by=actor.name, updated_at=now)
            .execution_options(synchronize_session=False))
        session.execute(delete(ReviewTeamMember).where(col(ReviewTeamMember.team_id) == team_id))
    session.execute(insert(ReviewTeamMember), [{"team_id": team_id, **r} for r in rows])
    uow.commit()
    return show_team(uow, c.id)


# A visit is scheduled for a school that sent its proposal and is not yet decided; a recognised or
# published school is past its review.
SCHEDULABLE = frozenset({Stage.PROPOSAL, Stage.EXTERNAL_REVIEW})


def visit_problems(school: str, stage: Stage, day: date, team: ReviewTeam, decided: date | None = None,
                   days_off: dict[date, str] | None = None) -> list[str]:
    """Why the team may not visit `school` on `day` (each reason names the date); `decided`: the day a
    recognised school was recognised (a visit on or before it is the record of a past visit);
    `days_off`: the unit's own days off in its calendar (a nghỉ bù, a local holiday), with reasons."""
    problems = []
    if stage.order < Stage.PROPOSAL.order:
        problems.append(f"{school} chưa gửi tờ trình đề nghị đánh giá ngoài (đang ở giai đoạn «{stage.label}»): "
                        f"không xếp lịch ngày {day:%d/%m/%Y}")
    elif stage not in SCHEDULABLE and (decided is None or day > decided):  # a past visit stays recordable
        problems.append(f"{school} đã qua đánh giá ngoài (đang ở giai đoạn «{stage.label}»"
                        + (f", công nhận ngày {decided:%d/%m/%Y}" if decided else "")
                        + f"): không xếp lịch ngày {day:%d/%m/%Y}")
    if not team.period_start <= day <= team.period_end:
        problems.append(f"{school}: ngày {day:%d/%m/%Y} nằm ngoài thời gian làm việc của đoàn "
                        f"({team.period_start:%d/%m/%Y} – {team.period_end:%d/%m/%Y})")
    if off := day_off_reason(day) or (f"ngày nghỉ theo lịch của đơn vị ({days_off[day]})"
                                      if days_off and day in days_off else None):
        problems.append(f"{school}: ngày {day:%d/%m/%Y} là {off}, không phải ngày làm việc")
    return problems


def _recognised_on(session: Session, a: Assessment) -> date | None:
    """The day the school was last recognised (None: never)."""
    if Stage(a.state) in SCHEDULABLE:
        return None
    at = session.execute(select(AssessmentEvent.at).where(AssessmentEvent.assessment_id == a.id,
                                                          AssessmentEvent.trigger == "recognise")
                         .order_by(col(AssessmentEvent.at).desc())).scalars().first()
    if at is None:
        return None
    day: date = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(TZ).date()
    return day


def _clashes(session: Session, team: ReviewTeam, chosen: dict[int, tuple[date | None, str]],
             names: dict[int, str]) -> list[str]:
    """The team's members go together: one school per day and session (the visits kept included)."""
    slots: dict[tuple[date, str], list[str]] = {}
    kept = session.execute(select(col(ReviewVisit.assessment_id), col(ReviewVisit.visit_date), col(ReviewVisit.session),
                                  col(Unit.name))
                           .join(Assessment, col(Assessment.id) == ReviewVisit.assessment_id)
                           .join(Unit, col(Unit.id) == Assessment.school_id)
                           .where(ReviewVisit.team_id == team.id)).all()
    for aid, day, part, name in kept:
        if aid not in chosen:
            slots.setdefault((day, part), []).append(name)
    for aid, (day, part) in chosen.items():
        if day is not None:
            slots.setdefault((day, part), []).append(names[aid])
    return [f"ngày {day:%d/%m/%Y} buổi {part}: đoàn đã xếp làm việc tại {', '.join(who)}; mỗi thành viên chỉ ở "
            "một nơi một lúc" for (day, part), who in sorted(slots.items()) if len(who) > 1]


def _days_off(session: Session, campaign_ids: list[int]) -> dict[int, dict[date, str]]:
    """Campaign id → its calendar's own days off (kept at launch), with their reasons."""
    return {cid: {date.fromisoformat(d): why for d, why in days or []}
            for cid, days in session.execute(select(col(Campaign.id), col(Campaign.days_off))
                                             .where(col(Campaign.id).in_(campaign_ids))).all()}


def schedule_visits(uow: UnitOfWork, campaign_id: int, visits: Sequence[VisitInput], actor: ActorRef) -> TeamView:
    """Set (or, with no date, remove) the visit of each given school; the others keep theirs."""
    session = uow.session
    c = _campaign(uow, campaign_id)
    _check_actor(uow, c, actor)
    team = _team(session, c.id)
    if team is None:
        raise InvalidInput(f"Kế hoạch số {c.id} chưa có Đoàn đánh giá ngoài: hãy thành lập đoàn trước khi xếp lịch")
    ids = _campaign_ids(session, c.id)
    refs = [str(v.school).strip() for v in visits]
    numbers = [int(r) for r in refs if r.isdigit()]
    codes = [r for r in refs if not r.isdigit()]
    # One lookup for the whole form (a department's schedule may list hundreds of schools).
    found: dict[str, tuple[Assessment, Unit]] = {}
    for chunk in range(0, max(len(numbers), len(codes)), 5000):
        for a, u in session.execute(
            select(Assessment, Unit).join(Unit, col(Unit.id) == Assessment.school_id)
            .where(col(Assessment.campaign_id).in_(ids),
                   col(Assessment.id).in_(numbers[chunk:chunk + 5000]) | col(Unit.code).in_(codes[chunk:chunk + 5000]))
        ).all():
            found[str(a.id)] = found[u.code] = (a, u)
    problems: list[str] = []
    chosen: dict[int, tuple[date | None, str]] = {}
    names: dict[int, str] = {}
    off = _days_off(session, ids)
    for v, ref in zip(visits, refs, strict=True):
        if ref not in found:
            problems.append(f"Không có cơ sở «{ref}» trong kế hoạch số {c.id}")
            continue
        a, school = found[ref]
        session_name = parse_session(v.session)
        if v.visit_date is not None:
            problems += visit_problems(school.name, Stage(a.state), v.visit_date, team, _recognised_on(session, a),
                                       {**off.get(c.id, {}), **off.get(a.campaign_id, {})})
            if session_name is None:
                problems.append(f"{school.name}: buổi không rõ «{v.session}» (dùng: sáng hoặc chiều)")
        chosen[a.id], names[a.id] = (v.visit_date, session_name or ""), school.name
    problems += _clashes(session, team, chosen, names)
    if problems:
        raise InvalidInput("Lịch làm việc của đoàn có lỗi; chưa lưu gì:", details=problems)
    aids = list(chosen)
    for chunk in range(0, len(aids), 5000):
        session.execute(delete(ReviewVisit).where(col(ReviewVisit.team_id) == team.id,
                                                  col(ReviewVisit.assessment_id).in_(aids[chunk:chunk + 5000])))
    rows = [{"team_id": team.id, "assessment_id": aid, "visit_date": day, "session": part}
            for aid, (day, part) in chosen.items() if day is not None]
    if rows:
        session.execute(insert(ReviewVisit), rows)
    uow.commit()
    return show_team(uow, c.id)


def show_team(uow: UnitOfWork, campaign_id: int, *, with_schools: bool = True) -> TeamView:
    """The team (or that there is none yet) and every proposed school with its visit (`with_schools`
    False: the caller pages them with `long_lists.visits_page`)."""
    session = uow.session
    c = _campaign(uow, campaign_id)
    team = _team(session, c.id)
    view = TeamView(campaign_id=c.id, campaign_title=c.title, exists=team is not None)
    visits: dict[int, ReviewVisit] = {}
    if team is not None:
        view.name, view.period_start, view.period_end = team.name, team.period_start, team.period_end
        view.created_by, view.created_at = team.created_by, team.created_at
        view.members = [
            MemberView(m.full_name, m.role, TEAM_ROLES[m.role], m.position, m.workplace, username or "")
            for m, username in session.execute(
                select(ReviewTeamMember, col(Account.username)).outerjoin(Account, col(Account.id) == ReviewTeamMember.account_id)
                .where(col(ReviewTeamMember.team_id) == team.id).order_by(col(ReviewTeamMember.position_order))
            ).all()
        ]
        view.team_id = team.id
        visits = {v.assessment_id: v for v in session.execute(
            select(ReviewVisit).where(ReviewVisit.team_id == team.id)).scalars()}
    if not with_schools:
        return view
    rows = session.execute(
        select(Assessment.id, Unit.code, Unit.name, Assessment.state).join(Unit, col(Unit.id) == Assessment.school_id)
        .where(col(Assessment.campaign_id).in_(_campaign_ids(session, c.id)),
               (col(Assessment.state).in_([s.value for s in VISITABLE])) | (col(Assessment.id).in_(list(visits))))
        .order_by(Unit.code)
    ).all()
    for aid, code, name, state in rows:
        v = visits.get(aid)
        view.schools.append(VisitView(aid, code, name, Stage(state), v.visit_date if v else None, v.session if v else ""))
    view.schools.sort(key=lambda s: (s.visit_date or date.max, s.session != "sáng", s.school_code))
    return view


def decision_data(session: Session, campaign_id: int) -> dict[str, Any] | None:
    """What the decision forming the team (qd_doan_danh_gia) takes from the stored team, or None.

    Keys as in the documents' `--data`: team, period, visits (every proposed school, dated when scheduled).
    """
    team = _team(session, campaign_id)
    if team is None:
        return None
    members = session.execute(select(ReviewTeamMember).where(ReviewTeamMember.team_id == team.id)
                              .order_by(col(ReviewTeamMember.position_order))).scalars()
    visits = {v.assessment_id: v for v in session.execute(select(ReviewVisit).where(ReviewVisit.team_id == team.id)).scalars()}
    schools = session.execute(
        select(Assessment.id, col(Unit.name)).join(Unit, col(Unit.id) == Assessment.school_id)
        .where(col(Assessment.campaign_id).in_(_campaign_ids(session, campaign_id)),
               (col(Assessment.state).in_([s.value for s in VISITABLE])) | (col(Assessment.id).in_(list(visits))))
        .order_by(Unit.code)
    ).all()
    return {
        "team_name": team.name,
        "team": [{"full_name": m.full_name, "position": m.position, "workplace": m.workplace, "role": m.role}
                 for m in members],
        "period": [team.period_start, team.period_end],
        "visits": [{"name": name, "visit_date": visits[aid].visit_date if aid in visits else None,
                    "session": visits[aid].session.capitalize() if aid in visits else ""} for aid, name in schools],
    }
