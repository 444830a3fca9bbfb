"""Use-cases on campaigns: launch (one bulk statement per table), list, status, lifecycle."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, false, func, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.calendars.timeutil import TZ as VN_TZ
from cdsflow.calendars.timeutil import local
from cdsflow.kernel.errors import InvalidInput, NotFound, StaleUpdate
from cdsflow.kernel.stages import STAGE_ORDER, CampaignStatus, Stage
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import authorization, deadlines
from cdsflow.services.indexsets import pin_index_set, require_final, resolve_index_set
from cdsflow.services.launch_scope import launch_scope
from cdsflow.services.lookups import family_ids as family_ids  # also this module's interface
from cdsflow.services.units import get_unit
from cdsflow.storage.collation import vi_order
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef, TransitionContext
from cdsflow.workflow.machine import fire_campaign
from cdsflow.workflow.units import UnitKind


@dataclass(frozen=True)
class LaunchResult:
    campaign_id: int
    child_ids: tuple[int, ...]
    assessments: int
    left_out: tuple[tuple[str, str], ...] = ()  # (school name, why) of the units the launch did not cover
    warnings: tuple[str, ...] = ()  # what the officer should know: a school year already over


def past_year_warning(school_year: str, now: datetime) -> str:
    """'' or the warning that the school year has already ended (01/08 of its second year)."""
    try:
        second = int(school_year[5:9])
    except ValueError:
        return ""
    if now.astimezone(VN_TZ).date() > date(second, 7, 31):
        return (f"Năm học {school_year} đã kết thúc (31/07/{second}): kiểm tra lại năm học trước khi gửi thư nhắc "
                "và ban hành văn bản.")
    return ""


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def launch_campaign(
    uow: UnitOfWork,
    *,
    issuer_code: str,
    school_year: str,
    index_set: str = "4725",
    index_set_version: str | None = None,
    calendar: Calendar | None = None,
    title: str | None = None,
    school_codes: list[str] | None = None,
    spawn_children: bool = False,
    actor: str | ActorRef = "hệ thống",
    now: datetime | None = None,
) -> LaunchResult:
    """Create a campaign (and one child per bureau if asked) and open one assessment per school.

    A person given as an `ActorRef` must be an officer of the issuing unit or of a unit above it
    (the rulebook's `launch_campaign`); a name alone is the command line acting for the issuer."""
    session = uow.session
    now = _now(now)
    if isinstance(actor, ActorRef):
        issuer_unit = get_unit(uow, issuer_code)
        ctx = TransitionContext(actor=actor, now=now,
                                issuer_chain=(issuer_unit.id, *authorization.chain_of(session, issuer_unit.id)))
        rulebook.enforce("launch_campaign", ctx)
        actor = actor.name
    if not re.fullmatch(r"(\d{4})-(\d{4})", school_year) or int(school_year[5:]) != int(school_year[:4]) + 1:
        raise InvalidInput(f"Năm học không hợp lệ: «{school_year}» (ví dụ đúng: 2024-2025)")
    issuer = get_unit(uow, issuer_code)
    if issuer.kind == UnitKind.SCHOOL:
        raise InvalidInput(f"«{issuer.name}» là cơ sở giáo dục: chỉ Sở hoặc Phòng mới phát động kế hoạch")
    index_set = resolve_index_set(session, index_set, index_set_version)
    require_final(index_set)
    if calendar is not None and calendar.school_year != school_year:
        raise InvalidInput(f"Lịch là của năm học {calendar.school_year}, không khớp năm học {school_year}")
    if spawn_children and issuer.kind != UnitKind.DEPARTMENT:
        raise InvalidInput("Chỉ kế hoạch của Sở mới tạo được kế hoạch con cho từng Phòng")

    def clash_check() -> None:
        clash = session.execute(
            select(Campaign.id).where(
                Campaign.issuer_id == issuer.id,
                Campaign.school_year == school_year,
                Campaign.index_set_code == index_set.code,
                Campaign.status != CampaignStatus.CLOSED.value,
            )
        ).first()
        if clash:
            raise InvalidInput(
                f"{issuer.name} đã có kế hoạch số {clash[0]} năm học {school_year} theo bộ chỉ số {index_set.code}"
            )

    clash_check()

    # Who is in and who is left out (and why): the same rule the launch page previews.
    scope = launch_scope(uow, issuer, index_set, school_year, school_codes)
    subjects = scope.included
    if not subjects:
        clash_check()  # a launch committed meanwhile took every school: say that, not "no school"
        raise InvalidInput(f"{issuer.name} không có cơ sở giáo dục nào thuộc phạm vi bộ chỉ số {index_set.code}",
                           details=[r.reason for r in scope.left_out][:10])

    try:  # the one text gate (cdsflow/text.py): the title is printed on every paper of the plan
        title = clean_text(title, field="tên kế hoạch")[:500]
    except TextError as err:
        raise InvalidInput(str(err)) from None
    title = title or f"Kế hoạch đánh giá mức độ chuyển đổi số năm học {school_year}"
    status = fire_campaign(CampaignStatus.DRAFT.value, "launch").value
    base = {
        "school_year": school_year, "status": status, "index_set_code": index_set.code,
        "index_set_version": index_set.version, "index_set_hash": index_set.content_hash,
        "calendar_source": str(calendar.source) if calendar and calendar.source else "",
        "calendar_hash": (calendar.content_hash or "") if calendar else "", "created_at": now, "launched_at": now,
        "dossier": list(calendar.dossier) if calendar else [],
        "days_off": [[d.isoformat(), why] for d, why in calendar.days_off] if calendar else [],
        "version": 1,
    }
    # The unique index (issuer, year, index set, while open) decides between concurrent launches:
    # the loser's INSERT fails here and it is told which plan already exists.
    try:
        parent = session.execute(
            insert(Campaign).returning(col(Campaign.id)), [{**base, "issuer_id": issuer.id, "parent_id": None, "title": title}]
        ).scalar_one()
        child_ids: list[int] = []
        if spawn_children:
            branches = sorted({b for b in subjects.values() if b is not None})
            if branches:
                names = dict(session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(branches))).all())
                created = session.execute(
                    insert(Campaign).returning(col(Campaign.id), col(Campaign.issuer_id), sort_by_parameter_order=True),
                    [{**base, "issuer_id": b, "parent_id": parent, "title": f"{title} ({names[b]})"} for b in branches],
                ).all()
                child_ids = [cid for cid, _ in created]
                by_bureau = {bureau: cid for cid, bureau in created}
            owner = {sid: by_bureau.get(branch, parent) if branches else parent for sid, branch in subjects.items()}
        else:
            owner = {sid: parent for sid in subjects}
    except IntegrityError:
        uow.rollback()
        raise _launch_clash(uow, issuer.id, school_year, index_set.code, spawn_children) from None
    campaign_ids = [parent, *child_ids]
    # The campaign keeps the exact version it launched with, whatever ships or is imported later.
    pin_index_set(session, index_set, actor=actor)
    if calendar is not None:
        session.execute(insert(CampaignMilestone), [
            _milestone_values(cid, i, m) for cid in campaign_ids for i, m in enumerate(calendar.milestones)
        ])
    # Core executemany: one statement for every school, no ORM objects.
    session.connection().execute(
        Assessment.__table__.insert(),  # type: ignore[attr-defined]  # SQLModel sets it
        [{"campaign_id": cid, "school_id": sid, "state": Stage.PLAN_ISSUED.value, "version": 1, "locked": False,
          "proposal_count": 0} for sid, cid in owner.items()],
    )
    # The launch is every school's first history line; one INSERT … SELECT, not 54,000 objects.
    session.execute(
        text(
            "INSERT INTO assessment_event (assessment_id, at, actor, trigger, from_state, to_state, reason) "
            "SELECT id, :at, :actor, 'launch', NULL, :state, :reason FROM assessment WHERE campaign_id IN "
            + "(" + ",".join(str(int(c)) for c in campaign_ids) + ")"
        ),
        {"at": _bind_instant(uow, now), "actor": actor, "state": Stage.PLAN_ISSUED.value,
         "reason": f"Phát động: {title}"},
    )
    uow.commit()
    names = dict(session.execute(select(Unit.id, Unit.name).where(
        col(Unit.id).in_([lo.unit_id for lo in scope.left_out]))).all()) if scope.left_out else {}
    left = tuple((names.get(lo.unit_id, str(lo.unit_id)), lo.reason) for lo in scope.left_out)
    warning = past_year_warning(school_year, now)
    return LaunchResult(campaign_id=parent, child_ids=tuple(child_ids), assessments=len(owner), left_out=left,
                        warnings=(warning,) if warning else ())


def _launch_clash(uow: UnitOfWork, issuer_id: int, school_year: str, code: str, children: bool) -> InvalidInput:
    """The open plans that made a launch fail on the unique index, named for the user."""
    issuers = select(Unit.id).where(Unit.supervisor_id == issuer_id) if children else select(Unit.id).where(false())
    rows = uow.session.execute(
        select(Campaign.id, col(Unit.name)).join(Unit, col(Unit.id) == Campaign.issuer_id).where(
            (col(Campaign.issuer_id) == issuer_id) | col(Campaign.issuer_id).in_(issuers),
            Campaign.school_year == school_year, Campaign.index_set_code == code,
            Campaign.status != CampaignStatus.CLOSED.value,
        ).order_by(col(Campaign.id))
    ).all()
    return InvalidInput(f"Không phát động được: đã có kế hoạch năm học {school_year} theo bộ chỉ số {code} "
                        "(có thể vừa được phát động cùng lúc); không tạo thêm kế hoạch nào.",
                        details=[f"kế hoạch số {cid} của {name}" for cid, name in rows])


def _bind_instant(uow: UnitOfWork, at: datetime) -> datetime:
    # Raw SQL bypasses UTCDateTime; store the same form it would.
    at = at.astimezone(UTC)
    return at.replace(tzinfo=None) if uow.engine.dialect.name == "sqlite" else at


def _milestone_values(campaign_id: int, position: int, m: Milestone) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id, "position": position, "key": m.key, "title": m.title, "actor": m.actor.value,
        "stage": m.stage.value if m.stage else None,
        "opens_at": m.opens_at or (m.submission.opens_at if m.submission else None),
        "due_at": m.due_at,
        "closes_at": (m.submission.closes_at or m.due_at) if m.submission else None,
        "max_submissions": m.submission.max_submissions if m.submission else None,
        "counts": m.submission.counts if m.submission else "last",
        "documents": list(m.documents),
        "reminders": m.reminders.to_dict() if m.reminders else {},
        "relative": m.relative.to_dict() if m.relative else None,
        "marker": m.marker,
        "after_return": ({**m.submission.after_return.to_dict(), "beyond_cap": m.submission.beyond_cap}
                         if m.submission and m.submission.after_return else None),
    }


def get_campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    campaign = uow.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return campaign


def find_campaign(uow: UnitOfWork, campaign_id: int) -> Campaign | None:
    return uow.session.get(Campaign, campaign_id)


def campaign_issuers(uow: UnitOfWork) -> list[tuple[int, int]]:
    """(campaign id, issuer unit id) of every campaign, newest first: what a scope filter walks."""
    rows = uow.session.execute(select(Campaign.id, Campaign.issuer_id).order_by(col(Campaign.id).desc())).all()
    return [(cid, issuer) for cid, issuer in rows]


def issued_campaigns(uow: UnitOfWork, unit_id: int, *, limit: int = 20) -> list[tuple[int, str]]:
    """(id, title) of the campaigns the unit launched (drafts left out), newest first."""
    rows = uow.session.execute(select(Campaign.id, Campaign.title).where(Campaign.issuer_id == unit_id,
                                                                         Campaign.status != "draft")
                               .order_by(col(Campaign.id).desc()).limit(limit)).all()
    return [(cid, title) for cid, title in rows]


@dataclass(frozen=True)
class CampaignRow:
    id: int
    parent_id: int | None
    issuer_name: str
    school_year: str
    title: str
    status: CampaignStatus
    index_set_code: str
    assessments: int


def list_campaigns(uow: UnitOfWork, *, issuer_code: str | None = None) -> list[CampaignRow]:
    counts = (
        select(col(Assessment.campaign_id), func.count().label("n")).group_by(col(Assessment.campaign_id)).subquery()
    )
    query = (
        select(Campaign, Unit.name, func.coalesce(counts.c.n, 0))
        .join(Unit, col(Unit.id) == Campaign.issuer_id)
        .outerjoin(counts, counts.c.campaign_id == Campaign.id)
        .order_by(col(Campaign.id))
    )
    if issuer_code:
        query = query.where(Campaign.issuer_id == get_unit(uow, issuer_code).id)
    return [
        CampaignRow(c.id, c.parent_id, name, c.school_year, c.title, CampaignStatus(c.status), c.index_set_code, n)
        for c, name, n in uow.session.execute(query)
    ]


def advance_campaign(uow: UnitOfWork, campaign_id: int, trigger: str, actor: ActorRef | None = None,
                     *, now: datetime | None = None) -> CampaignStatus:
    """One step of the campaign's lifecycle, refused with the rulebook's reasons (who may, and what
    the step requires of the campaign's schools, e.g. none left in review before closing). Without
    `actor` the step is taken for the issuing unit (the command line's default)."""
    campaign = get_campaign(uow, campaign_id)
    actor = actor or ActorRef("cán bộ phụ trách", campaign.issuer_id)
    ctx = authorization.campaign_facts(uow.session, campaign, actor, now=now, with_counts=True)
    if trigger in rulebook.CAMPAIGN_ACTIONS:
        rulebook.enforce_who(rulebook.CAMPAIGN_ACTIONS[trigger], ctx)
    new = fire_campaign(campaign.status, trigger, ctx)
    done: CursorResult[Any] = uow.session.execute(  # type: ignore[assignment]  # an UPDATE's result
        update(Campaign)
        .where(col(Campaign.id) == campaign_id, col(Campaign.version) == campaign.version)
        .values(status=new.value, version=campaign.version + 1)
    )
    if done.rowcount != 1:
        raise StaleUpdate("Kế hoạch vừa được người khác cập nhật; hãy tải lại rồi thực hiện lại.")
    uow.commit()
    return new


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneView:
    key: str
    title: str
    stage: Stage | None
    due_at: datetime | None  # None on a campaign's view of a relative milestone (each school has its own)


@dataclass
class StageLine:
    stage: Stage
    count: int
    next_milestone: MilestoneView | None
    late: bool


@dataclass(frozen=True)
class LateSchool:
    assessment_id: int
    school_code: str
    school_name: str
    stage: Stage
    milestone: MilestoneView


@dataclass
class CampaignStatusView:
    campaign_id: int
    title: str
    issuer_name: str
    school_year: str
    status: CampaignStatus
    index_set: str
    total: int
    submitted: int  # reached the proposal stage or later: "đã nộp 3/14"
    stages: list[StageLine]
    late_total: int
    late: list[LateSchool] = field(default_factory=list)
    children: list[tuple[int, str, int, int]] = field(default_factory=list)  # id, issuer, total, submitted


def _passed(m: MilestoneView | None, now: datetime) -> bool:
    """A dated milestone whose deadline has passed (next_milestones gives dated ones only)."""
    return m is not None and m.due_at is not None and m.due_at < now


def next_milestones(milestones: list[MilestoneView]) -> dict[Stage, MilestoneView | None]:
    """For each stage, the first milestone (by deadline) that asks for a later stage."""
    ordered = sorted((m for m in milestones if m.stage is not None and m.due_at is not None),
                     key=lambda m: cast(datetime, m.due_at))  # dated (filtered)
    out: dict[Stage, MilestoneView | None] = {}
    for stage in STAGE_ORDER:
        out[stage] = next((m for m in ordered if m.stage is not None and m.stage.order > stage.order), None)
    return out


def _late_on_own_deadlines(session: Session, cids: list[int], now: datetime,
                           limit: int) -> tuple[int, list[LateSchool]]:
    """Schools late in campaigns whose calendar has relative deadlines: each school against the
    deadlines that hold for it, from its own history (calendars FORMAT.md "Relative deadlines").

    A school's deadlines depend only on its stage and the days of its events, so schools sharing
    them share one computation; three queries for all the campaigns."""
    if not cids:
        return 0, []
    # Plain rows: a Sở's child campaigns repeat one calendar, so they share one fingerprint.
    m = CampaignMilestone.__table__.c  # type: ignore[attr-defined]  # SQLModel sets it
    rows_of: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(select(m.campaign_id, m.key, m.title, m.stage, m.due_at, m.relative)  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
                               .where(m.campaign_id.in_(cids)).order_by(m.campaign_id, m.position)):
        rows_of[row.campaign_id].append(row)
    shape = {cid: tuple((r.key, r.stage, r.due_at, repr(r.relative)) for r in rows) for cid, rows in rows_of.items()}
    launched = dict(session.execute(select(col(Campaign.id), col(Campaign.launched_at)).where(col(Campaign.id).in_(cids))).all())
    schools = session.execute(
        select(col(Assessment.id), col(Assessment.campaign_id), col(Assessment.state), col(Unit.code), col(Unit.name))  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
        .join(Unit, Unit.id == Assessment.school_id)
        .where(col(Assessment.campaign_id).in_(cids), col(Assessment.state) != Stage.PUBLISHED.value)
        .order_by(Assessment.id)).all()
    events = deadlines.event_times(session, [row.id for row in schools])
    memo: dict[tuple[Any, ...], deadlines.OwnDeadline | None] = {}
    late: list[LateSchool] = []
    total = 0
    for aid, cid, state, code, name in schools:
        own_events = events.get(aid, {})
        key = (shape.get(cid), launched.get(cid), state, tuple(sorted((e, local(at).date()) for e, at in own_events.items())))
        if key not in memo:
            rows = rows_of[cid]
            memo[key] = deadlines.next_own_deadline(
                deadlines.own_for_rows(rows, deadlines.resolve_for(rows, own_events, launched.get(cid))), Stage(state))
        nxt = memo[key]
        if nxt is not None and nxt.due_at is not None and nxt.due_at < now:  # always dated
            total += 1
            if len(late) < limit:  # all are counted, only the first few are listed
                late.append(LateSchool(aid, code, name, Stage(state),
                                       MilestoneView(nxt.key, nxt.title, nxt.stage, nxt.due_at)))
    return total, late


def campaign_status(uow: UnitOfWork, campaign_id: int, *, now: datetime | None = None,
                    late_limit: int = 20) -> CampaignStatusView:
    """Counts per stage, the late schools and per-child progress: a few GROUP BY queries."""
    session = uow.session
    now = _now(now)
    campaign = get_campaign(uow, campaign_id)
    children = list(session.execute(select(Campaign.id, col(Unit.name)).join(Unit, col(Unit.id) == Campaign.issuer_id)
                                    .where(Campaign.parent_id == campaign_id)
                                    .order_by(vi_order(Unit.name))))
    ids = [campaign_id, *[c for c, _ in children]]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, state, n in session.execute(
        select(Assessment.campaign_id, Assessment.state, func.count())
        .where(col(Assessment.campaign_id).in_(ids)).group_by(col(Assessment.campaign_id), col(Assessment.state))
    ):
        counts[cid][state] = n
    milestones: dict[int, list[MilestoneView]] = defaultdict(list)
    stage_of = {s.value: s for s in STAGE_ORDER}
    for m in session.execute(select(CampaignMilestone).where(col(CampaignMilestone.campaign_id).in_(ids))).scalars():
        milestones[m.campaign_id].append(MilestoneView(m.key, m.title, stage_of.get(m.stage), m.due_at))

    totals = {s: sum(c.get(s.value, 0) for c in counts.values()) for s in STAGE_ORDER}
    own_next = next_milestones(milestones[campaign_id] or next(iter(milestones.values()), []))
    stages = [
        StageLine(s, totals[s], own_next[s], _passed(own_next[s], now)) for s in STAGE_ORDER
    ]
    # Late: per campaign, the stages whose next milestone has passed.
    late_stages: dict[int, dict[str, MilestoneView]] = {}
    late_total = 0
    cache: dict[tuple[Any, ...], dict[Stage, MilestoneView | None]] = {}
    # A calendar with relative deadlines: each school has its own, so those campaigns are read
    # school by school (the others keep the few GROUP BY queries).
    relative_cids = set(session.scalars(select(CampaignMilestone.campaign_id).where(
        col(CampaignMilestone.campaign_id).in_(ids), col(CampaignMilestone.relative).is_not(None))))
    per_school = [cid for cid in ids if cid in relative_cids]
    for cid in ids:
        if cid in relative_cids:
            late_stages[cid] = {}
            continue
        ms = milestones[cid] or milestones[campaign_id]
        key = tuple((m.key, m.stage, m.due_at) for m in ms)
        nxt = cache.get(key) or cache.setdefault(key, next_milestones(ms))
        late_stages[cid] = {s.value: m for s, m in nxt.items() if m is not None and _passed(m, now)}
        late_total += sum(counts[cid].get(s, 0) for s in late_stages[cid])
    late: list[LateSchool] = []
    # Stage by stage, earliest first; within a stage in launch order, so the primary key gives the
    # order and LIMIT stops early instead of sorting every late school.
    for stage in STAGE_ORDER:
        remaining = late_limit - len(late)
        late_cids = [cid for cid, st in late_stages.items() if stage.value in st]
        if remaining <= 0 or not late_cids:
            continue
        rows = session.execute(
            select(Assessment.id, Assessment.campaign_id, Unit.code, Unit.name)
            .join(Unit, col(Unit.id) == Assessment.school_id)
            .where(col(Assessment.campaign_id).in_(late_cids), col(Assessment.state) == stage.value)
            .order_by(col(Assessment.id))
            .limit(remaining)
        )
        late += [LateSchool(aid, code, name, stage, late_stages[cid][stage.value]) for aid, cid, code, name in rows]
    own_total, own_late = _late_on_own_deadlines(session, per_school, now, late_limit)
    late_total += own_total
    late += own_late[: max(0, late_limit - len(late))]
    submitted_states = {s.value for s in STAGE_ORDER if s.order >= Stage.PROPOSAL.order}
    child_lines = [
        (cid, name, sum(counts[cid].values()), sum(n for s, n in counts[cid].items() if s in submitted_states))
        for cid, name in children
    ]
    issuer = session.get(Unit, campaign.issuer_id)
    return CampaignStatusView(
        campaign_id=campaign.id,
        title=campaign.title,
        issuer_name=issuer.name if issuer else "",
        school_year=campaign.school_year,
        status=CampaignStatus(campaign.status),
        index_set=f"{campaign.index_set_code} ({campaign.index_set_version})",
        total=sum(totals.values()),
        submitted=sum(n for s, n in totals.items() if s.value in submitted_states),
        stages=stages,
        late_total=late_total,
        late=late,
        children=child_lines,
    )


