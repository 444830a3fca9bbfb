"""Use-cases on campaigns: launch (one bulk statement per table), list, status, lifecycle."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    CTE,
    ColumnElement,
    CursorResult,
    and_,
    case,
    false,
    func,
    insert,
    literal,
    or_,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlmodel import col, select

from cdsflow.calendars.model import Calendar, Milestone
from cdsflow.calendars.timeutil import TZ as VN_TZ
from cdsflow.calendars.timeutil import local
from cdsflow.kernel.errors import InvalidInput, NotFound, StaleUpdate
from cdsflow.kernel.stages import STAGE_ORDER, CampaignStatus, Stage
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import authorization, bulk, deadlines, planner
from cdsflow.services.indexsets import pin_index_set, require_final, resolve_index_set
from cdsflow.services.launch_scope import launch_scope
from cdsflow.services.lookups import family_ids as family_ids  # also this module's interface
from cdsflow.services.lookups import family_select
from cdsflow.services.units import get_unit
from cdsflow.storage.bulk_tables import BulkRun
from cdsflow.storage.collation import sorts_natively, vi_order, vi_sorting_key
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
    progress: bulk.Progress | None = None,
) -> LaunchResult:
    """Create a campaign (and one child per bureau if asked) and open one assessment per school.

    In chunks (services/bulk.py): the campaigns are drafts until the last chunk's transaction
    launches them all, so no one sees or acts on a half-opened launch; if it stops half way, the
    same launch again (same issuer, year and index set) finishes it with the choices it started
    with (title, calendar, children), opening only the files still missing. `progress(done, total)`
    after each chunk.

    A person given as an `ActorRef` must be an officer of the issuing unit or of a unit above it
    (the rulebook's `launch_campaign`); a name alone is the command line acting for the issuer."""
    job = start_launch(uow, issuer_code=issuer_code, school_year=school_year, index_set=index_set,
                       index_set_version=index_set_version, calendar=calendar, title=title,
                       school_codes=school_codes, spawn_children=spawn_children, actor=actor, now=now)
    return run_launch(uow, job, progress=progress)


@dataclass
class LaunchJob:
    """A launch started (its draft campaigns and run record committed) or resumed: `run_launch`
    opens the files, here or in another thread (the web runs a big one behind a progress page)."""

    job: bulk.Chunked[tuple[int, int]]  # (school id, campaign id) still to open
    campaign_ids: list[int]
    result: LaunchResult  # what `run_launch` returns once the last chunk is in
    actor: str
    now: datetime
    reason: str

    @property
    def run_id(self) -> int:
        return self.job.run.id

    @property
    def to_open(self) -> int:
        return len(self.job.todo)


def start_launch(
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
) -> LaunchJob:
    """Every check of `launch_campaign`, then its draft campaigns and run record (committed), or the
    stopped launch it finishes. Refused, nothing written, as `launch_campaign` refuses."""
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

    stopped = _stopped_launch(uow, issuer, school_year, index_set.code)
    if stopped is None:
        clash_check()
    family: list[int] = family_ids(session, stopped.id) if stopped else []
    opened: set[int] = set(session.execute(select(Assessment.school_id).where(
        col(Assessment.campaign_id).in_(family))).scalars()) if stopped else set()
    if stopped and school_codes:  # the codes still to open: the others are in the stopped launch already
        done_codes = set(session.execute(select(Unit.code).where(col(Unit.id).in_(opened))).scalars())
        school_codes = [c for c in school_codes if c not in done_codes] or None

    # Who is in and who is left out (and why): the same rule the launch page previews.
    scope = launch_scope(uow, issuer, index_set, school_year, school_codes)
    subjects = scope.included
    scope.left_out = [lo for lo in scope.left_out if lo.unit_id not in opened]  # resumed: those are in, not out
    if not subjects and not opened:
        clash_check()  # a launch committed meanwhile took every school: say that, not "no school"
        raise InvalidInput(f"{issuer.name} không có cơ sở giáo dục nào thuộc phạm vi bộ chỉ số {index_set.code}",
                           details=[r.reason for r in scope.left_out][:10])

    try:  # the one text gate (cdsflow/text.py): the title is printed on every paper of the plan
        title = clean_text(title, field="tên kế hoạch")[:500]
    except TextError as err:
        raise InvalidInput(str(err)) from None
    title = title or f"Kế hoạch đánh giá mức độ chuyển đổi số năm học {school_year}"
    if stopped is not None:  # its campaigns are there: open the files it had not opened yet
        parent, title = stopped.id, stopped.title
        child_ids = [c for c in family if c != parent]
        by_issuer = dict(session.execute(select(Campaign.issuer_id, Campaign.id)
                                         .where(col(Campaign.id).in_(child_ids))).all())
        owner = {sid: by_issuer.get(branch, parent) if branch is not None else parent
                 for sid, branch in subjects.items()}
    else:
        parent, child_ids, owner = _launch_campaigns(uow, issuer, index_set, school_year, title, subjects, calendar,
                                                     spawn_children, actor, now)
    campaign_ids = [parent, *child_ids]
    # The files are opened in chunks (services/bulk.py) while the campaigns are still drafts, which
    # nobody may act on and no reminder goes to; the last chunk's transaction makes them launched.
    # So users see the launch whole or not at all, other writers get the database between chunks,
    # and a launch stopped half way (a crash) is finished by launching again with the same choices.
    names = dict(session.execute(select(Unit.id, Unit.name).where(
        col(Unit.id).in_([lo.unit_id for lo in scope.left_out]))).all()) if scope.left_out else {}
    left = tuple((names.get(lo.unit_id, str(lo.unit_id)), lo.reason) for lo in scope.left_out)
    warning = past_year_warning(school_year, now)
    result = LaunchResult(campaign_id=parent, child_ids=tuple(child_ids), assessments=len(owner) + len(opened),
                          left_out=left, warnings=(warning,) if warning else ())
    job = bulk.start(uow, LAUNCH_KIND, f"campaign:{parent}", title, list(owner.items()), lambda it: str(it[0]),
                     by=actor, now=now)
    return LaunchJob(job, campaign_ids, result, actor, now, f"Phát động: {title}")


def run_launch(uow: UnitOfWork, launch: LaunchJob, *, progress: bulk.Progress | None = None) -> LaunchResult:
    """Open a started launch's files in chunks; its last chunk makes its campaigns launched."""
    table = Assessment.__table__  # type: ignore[attr-defined]  # SQLModel sets it
    actor, now, reason, campaign_ids = launch.actor, launch.now, launch.reason, launch.campaign_ids

    def open_files(u: UnitOfWork, part: list[tuple[int, int]]) -> list[bulk.ItemResult]:
        # Core executemany: one statement per chunk, no ORM objects; the new ids come back.
        ids = u.session.connection().execute(
            table.insert().returning(table.c.id),
            [{"campaign_id": cid, "school_id": sid, "state": Stage.PLAN_ISSUED.value, "version": 1, "locked": False,
              "proposal_count": 0} for sid, cid in part],
        ).scalars().all()
        # The launch is every school's first history line; one INSERT … SELECT by primary key, not
        # one object per school (nor a scan of the files already opened).
        u.session.execute(
            text(
                "INSERT INTO assessment_event (assessment_id, at, actor, trigger, from_state, to_state, reason) "
                "SELECT id, :at, :actor, 'launch', NULL, :state, :reason FROM assessment WHERE id IN "
                + "(" + ",".join(str(int(i)) for i in ids) + ")"
            ),
            {"at": _bind_instant(u, now), "actor": actor, "state": Stage.PLAN_ISSUED.value, "reason": reason},
        )
        return []

    def make_visible(u: UnitOfWork) -> None:
        u.session.execute(update(Campaign).where(col(Campaign.id).in_(campaign_ids),
                                                 col(Campaign.status) == CampaignStatus.DRAFT.value)
                          .values(status=fire_campaign(CampaignStatus.DRAFT.value, "launch").value))

    bulk.run_chunks(uow, launch.job, open_files, first_chunk=LAUNCH_FIRST_CHUNK, finish=make_visible,
                    progress=progress)
    return launch.result


def launch_run(uow: UnitOfWork, campaign_id: int) -> BulkRun:
    """The campaign's launch run (a child's is its parent's): its progress while its files are opened."""
    campaign = get_campaign(uow, campaign_id)
    subject = f"campaign:{campaign.parent_id or campaign.id}"
    run: BulkRun | None = uow.session.execute(
        select(BulkRun).where(BulkRun.kind == LAUNCH_KIND, BulkRun.subject == subject)
        .order_by(col(BulkRun.id).desc())).scalars().first()
    if run is None:
        raise NotFound(f"Không có lần phát động nào của kế hoạch số {campaign_id}")
    return run


LAUNCH_KIND = "launch"
LAUNCH_FIRST_CHUNK = 2000  # schools: opening a file costs little, so a small launch is one chunk


def _stopped_launch(uow: UnitOfWork, issuer: Unit, school_year: str, code: str) -> Campaign | None:
    """The issuer's launch of this year and set that stopped half way (its campaign still a draft,
    its run unfinished), to be finished; refused while that launch is running elsewhere."""
    draft: Campaign | None = uow.session.execute(select(Campaign).where(
        Campaign.issuer_id == issuer.id, Campaign.school_year == school_year, Campaign.index_set_code == code,
        Campaign.status == CampaignStatus.DRAFT.value, col(Campaign.parent_id).is_(None))).scalars().first()
    if draft is None:
        return None
    run = bulk.unfinished_run(uow, LAUNCH_KIND, f"campaign:{draft.id}")
    if run is None:
        return None
    if bulk.alive(run):
        raise InvalidInput(f"{issuer.name} đã có kế hoạch số {draft.id} năm học {school_year} theo bộ chỉ số {code} "
                           f"đang được phát động (đã mở {run.done}/{run.total} hồ sơ): chờ xong rồi xem kế hoạch")
    return draft


def _launch_campaigns(uow: UnitOfWork, issuer: Unit, index_set: Any, school_year: str, title: str,
                      subjects: dict[int, int | None], calendar: Calendar | None, spawn_children: bool, actor: str,
                      now: datetime) -> tuple[int, list[int], dict[int, int]]:
    """The campaign and its children, as drafts, with their milestones: (parent, children, school → campaign).
    Written, not committed (the launch's run record commits with them)."""
    session = uow.session
    base = {
        "school_year": school_year, "status": CampaignStatus.DRAFT.value, "index_set_code": index_set.code,
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
    # The campaign keeps the exact version it launched with, whatever ships or is imported later.
    pin_index_set(session, index_set, actor=actor)
    if calendar is not None:
        session.execute(insert(CampaignMilestone), [
            _milestone_values(cid, i, m) for cid in [parent, *child_ids] for i, m in enumerate(calendar.milestones)
        ])
    return parent, child_ids, owner


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
    values = {
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
    # The scheduler reads only what is due: a launch tells it when each milestone first is.
    values["next_reminder_at"] = planner.first_reminder_at(SimpleNamespace(**values))
    return values


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
    # Names are read for the listed few only: a Sở's 54,000 schools are counted, not named.
    schools = session.execute(
        select(col(Assessment.id), col(Assessment.campaign_id), col(Assessment.state))
        .where(col(Assessment.campaign_id).in_(cids), col(Assessment.state) != Stage.PUBLISHED.value)
        .order_by(col(Assessment.id))).all()
    events = deadlines.event_times(session, [row.id for row in schools])
    memo: dict[tuple[Any, ...], deadlines.OwnDeadline | None] = {}
    listed: list[tuple[int, Stage, deadlines.OwnDeadline]] = []
    total = 0
    no_events: dict[str, Any] = {}
    for aid, cid, state in schools:
        own_events = events.get(aid, no_events)
        days = tuple(sorted((e, local(at).date()) for e, at in own_events.items())) if own_events else ()
        key = (shape.get(cid), launched.get(cid), state, days)
        if key not in memo:
            rows = rows_of[cid]
            memo[key] = deadlines.next_own_deadline(
                deadlines.own_for_rows(rows, deadlines.resolve_for(rows, own_events, launched.get(cid))), Stage(state))
        nxt = memo[key]
        if nxt is not None and nxt.due_at is not None and nxt.due_at < now:  # always dated
            total += 1
            if len(listed) < limit:  # all are counted, only the first few are listed
                listed.append((aid, Stage(state), nxt))
    names = {aid: (code, name) for aid, code, name in session.execute(
        select(col(Assessment.id), col(Unit.code), col(Unit.name)).join(Unit, col(Unit.id) == col(Assessment.school_id))
        .where(col(Assessment.id).in_([aid for aid, _, _ in listed])))} if listed else {}
    late = [LateSchool(aid, *names[aid], stage, MilestoneView(nxt.key, nxt.title, nxt.stage, nxt.due_at))
            for aid, stage, nxt in listed]
    return total, late


STAGE_RANK = {s.value: s.order for s in STAGE_ORDER}


def stage_rank(state: Any) -> Any:  # Any: a column or a model attribute
    """SQL: the order of a stage column (NULL for a value that is no stage)."""
    return case(STAGE_RANK, value=state)


# The pieces of `passed_ranks` that do not depend on the campaign or the hour, built once: every
# list, dashboard and status view asks for it, and building these ORM aliases and the seven-way
# CASE on each request cost more Python than the database spends on the CTE's rows.
_FAM = aliased(Campaign, name="fam")
_PASSED_M = aliased(CampaignMilestone, name="passed_m")
_HAS_OWN = select(CampaignMilestone.id).where(col(CampaignMilestone.campaign_id) == col(_FAM.id)).exists()
_RANK = func.max(stage_rank(col(_PASSED_M.stage))).label("rank")
_HAS_RELATIVE = select(CampaignMilestone.id).where(col(CampaignMilestone.campaign_id) == col(_FAM.id),
                                                   col(CampaignMilestone.relative).is_not(None)).exists()
_STATE_RANK = stage_rank(col(Assessment.state))


def passed_ranks(campaign_id: int, now: datetime, *, without_relative: bool = False) -> CTE:
    """SQL (campaign_id, rank) per campaign of the family that has a passed dated milestone: the
    highest stage order such a milestone asks for. A school is late exactly when its stage's order
    is below its campaign's rank: its next milestone (the earliest asking for a later stage,
    `next_milestones`) is then dated before now. A campaign without milestones of its own uses the
    root's. `without_relative`: leave out the campaigns whose calendar has relative deadlines (their
    schools are late on their own deadlines). One CTE for the whole family, however many children."""
    c, m = _FAM, _PASSED_M
    owner = case((_HAS_OWN, col(c.id)), else_=campaign_id)
    stmt: Any = (select(col(c.id).label("campaign_id"), _RANK)
                 .select_from(c).join(m, col(m.campaign_id) == owner)
                 .where(or_(col(c.id) == campaign_id, col(c.parent_id) == campaign_id),
                        col(m.due_at) < now, col(m.stage).is_not(None))
                 .group_by(col(c.id)))
    if without_relative:
        stmt = stmt.where(~_HAS_RELATIVE)
    return cast(CTE, stmt.cte("passed"))


def late_in(passed: CTE, stage: Stage, campaign: Any = None) -> ColumnElement[bool]:
    """SQL: the assessment's campaign is late for `stage` (its rank in `passed_ranks` is above it)."""
    campaign = col(Assessment.campaign_id) if campaign is None else campaign
    return campaign.in_(select(passed.c.campaign_id).where(passed.c.rank > stage.order))


_STATE_IS = {s: col(Assessment.state) == s.value for s in STAGE_ORDER}  # built once, as above


def late_where(passed: CTE, campaign: Any = None) -> ColumnElement[bool]:
    """SQL truth of "this assessment is late": one term per stage (seven), whatever the family's size."""
    return or_(*[and_(_STATE_IS[s], late_in(passed, s, campaign)) for s in STAGE_ORDER])


def _milestone_views(session: Session, cids: list[int]) -> dict[int, list[MilestoneView]]:
    out: dict[int, list[MilestoneView]] = defaultdict(list)
    m = CampaignMilestone
    for cid, key, title, stage, due in session.execute(
            select(m.campaign_id, m.key, m.title, m.stage, m.due_at)  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
            .where(col(m.campaign_id).in_(cids)).order_by(col(m.campaign_id), col(m.position))):
        out[cid].append(MilestoneView(key, title, STAGE_OF.get(stage), due))
    return out


STAGE_OF = {s.value: s for s in STAGE_ORDER}


def campaign_status(uow: UnitOfWork, campaign_id: int, *, now: datetime | None = None,
                    late_limit: int = 20) -> CampaignStatusView:
    """Counts per stage, the late schools and per-child progress: a bounded number of queries over the
    campaign tree, the same for 3 children as for 3,321 (no per-child work outside the database)."""
    session = uow.session
    now = _now(now)
    campaign = get_campaign(uow, campaign_id)
    family = family_select(campaign_id)
    submitted_states = [s.value for s in STAGE_ORDER if s.order >= Stage.PROPOSAL.order]
    # One GROUP BY over the children, each read from the (campaign, state) index.
    children = (select(col(Campaign.id), col(Unit.name), func.count(col(Assessment.id)),
                       func.coalesce(func.sum(case((col(Assessment.state).in_(submitted_states), 1), else_=0)), 0))
                .join(Unit, col(Unit.id) == Campaign.issuer_id)
                .outerjoin(Assessment, col(Assessment.campaign_id) == Campaign.id)
                .where(Campaign.parent_id == campaign_id).group_by(col(Campaign.id), col(Unit.name)))
    native = sorts_natively(session)  # ICU on PostgreSQL; on SQLite the same order sorted here
    child_lines = [(cid, name, int(n), int(sub)) for cid, name, n, sub in session.execute(
        children.order_by(vi_order(Unit.name), col(Campaign.id)) if native else children)]
    if not native:
        child_lines.sort(key=lambda line: (vi_sorting_key(line[1]), line[0]))
    counts = dict(session.execute(select(Assessment.state, func.count())
                                  .where(col(Assessment.campaign_id).in_(family)).group_by(col(Assessment.state))).all())
    totals = {s: counts.get(s.value, 0) for s in STAGE_ORDER}
    # The campaign's own calendar heads the stage lines (a child's when it has none, as before).
    shown = _milestone_views(session, [campaign_id])
    if not shown:
        head = session.execute(select(func.min(CampaignMilestone.campaign_id)).where(
            col(CampaignMilestone.campaign_id).in_(family))).scalar()
        shown = _milestone_views(session, [head]) if head is not None else {}
    own_next = next_milestones(next(iter(shown.values()), []))
    stages = [StageLine(s, totals[s], own_next[s], _passed(own_next[s], now)) for s in STAGE_ORDER]
    # Late on dated milestones: the campaigns whose calendar has relative deadlines are read school by
    # school below (each school has its own), the others by SQL through `passed_ranks`.
    passed = passed_ranks(campaign_id, now, without_relative=True)
    late_total = session.execute(select(func.count()).select_from(Assessment).join(
        passed, passed.c.campaign_id == Assessment.campaign_id).where(
        _STATE_RANK < passed.c.rank)).scalar_one()
    # Stage by stage, earliest first; within a stage in launch order: one statement whose branch per
    # stage walks the primary key and stops after `late_limit` rows, instead of sorting every late school.
    found: list[tuple[int, int, str, str, Stage]] = []
    if late_limit > 0:
        branches = [select(literal(stage.order).label("rank"), col(Assessment.id).label("aid"),  # type: ignore[call-overload]  # five columns
                           col(Assessment.campaign_id).label("cid"), col(Unit.code).label("code"),
                           col(Unit.name).label("name"))
                    .join(Unit, col(Unit.id) == Assessment.school_id)
                    .where(col(Assessment.state) == stage.value, late_in(passed, stage))
                    .order_by(col(Assessment.id)).limit(late_limit).subquery() for stage in STAGE_ORDER]
        firsts = union_all(*[select(*b.c) for b in branches]).subquery()
        by_order = {s.order: s for s in STAGE_ORDER}
        found = [(aid, cid, code, name, by_order[rank]) for rank, aid, cid, code, name in session.execute(
            select(*firsts.c).order_by(firsts.c.rank, firsts.c.aid).limit(late_limit))]
    late: list[LateSchool] = []
    if found:  # the passed milestone of each listed school: its campaign's calendar (at most late_limit)
        views = _milestone_views(session, sorted({cid for _, cid, *_ in found} | {campaign_id}))
        nexts = {cid: next_milestones(views.get(cid) or views.get(campaign_id) or []) for cid in views}
        late = [LateSchool(aid, code, name, stage,
                           cast(MilestoneView, (nexts.get(cid) or nexts[campaign_id])[stage]))
                for aid, cid, code, name, stage in found]
    relative = list(session.scalars(select(CampaignMilestone.campaign_id).distinct().where(
        col(CampaignMilestone.campaign_id).in_(family), col(CampaignMilestone.relative).is_not(None))
        .order_by(col(CampaignMilestone.campaign_id))))
    own_total, own_late = _late_on_own_deadlines(session, relative, now, late_limit)
    late_total += own_total
    late += own_late[: max(0, late_limit - len(late))]
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
