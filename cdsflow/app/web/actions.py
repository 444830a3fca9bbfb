"""The web's use-cases: scope and role checks, then the same service calls the CLI makes.

Pages and the JSON API both call these, so a rule is checked in exactly one place.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cdsflow.app.web.access import allowed, assessment_for, campaign_for, require, visible_campaign_ids
from cdsflow.calendars.catalog import calendar_name, find_calendar, shipped_calendars
from cdsflow.calendars.loader import load_calendar
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, Unit
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.errors import CdsError, Forbidden, InvalidInput, NotFound
from cdsflow.workflow.machine import STEP_BY_TRIGGER, STEPS, forward_trigger, legal_sources
from cdsflow.workflow.services import assessments as assessment_svc
from cdsflow.workflow.services import campaigns as campaign_svc
from cdsflow.workflow.services.accounts import Principal
from cdsflow.workflow.stages import STAGE_ORDER, Stage

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def actor(p: Principal) -> ActorRef:
    return ActorRef(p.actor_name, p.unit_id)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def days_left(due: datetime, now: datetime) -> int:
    """Calendar days until the deadline, counted in Vietnam (due today = 0, past = negative)."""
    return (due.astimezone(VN).date() - now.astimezone(VN).date()).days


# --- campaigns -------------------------------------------------------------------------------


def campaigns(uow: UnitOfWork, p: Principal) -> list[campaign_svc.CampaignRow]:
    require(p, "view_campaigns")
    ids = set(visible_campaign_ids(uow, p))
    return [r for r in campaign_svc.list_campaigns(uow) if r.id in ids]


class StatusCache:
    """The dashboard's figures, reused while nothing they depend on has changed.

    Key: the campaign and its version (status changes), the newest history line of any
    assessment (every stage change, committee change and launch writes one) and the minute
    (a deadline passing moves schools to the late list). Both lookups are primary-key reads, so
    a warm dashboard costs two index probes instead of a GROUP BY over every school. Per process;
    other processes' writes are seen through the same key.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._data: dict[tuple, campaign_svc.CampaignStatusView] = {}
        self._lock = threading.Lock()
        self.enabled = os.environ.get("CDSFLOW_WEB_CACHE", "1") != "0"

    def get(self, uow: UnitOfWork, campaign_id: int, now: datetime, late_limit: int) -> campaign_svc.CampaignStatusView:
        if not self.enabled:
            return campaign_svc.campaign_status(uow, campaign_id, now=now, late_limit=late_limit)
        version, created = uow.session.execute(
            select(Campaign.version, Campaign.created_at).where(Campaign.id == campaign_id)).one()
        last_event = tuple(uow.session.execute(
            select(AssessmentEvent.id, AssessmentEvent.at).order_by(AssessmentEvent.id.desc()).limit(1)).first() or ())
        # Ids alone repeat across databases (or after a restore); instants make the key the data's own.
        key = (str(uow.engine.url), campaign_id, created, version, last_event,
               now.replace(second=0, microsecond=0), late_limit)
        with self._lock:
            hit = self._data.get(key)
        if hit is not None:
            return hit
        view = campaign_svc.campaign_status(uow, campaign_id, now=now, late_limit=late_limit)
        with self._lock:
            if len(self._data) >= self.size:
                self._data.pop(next(iter(self._data)))
            self._data[key] = view
        return view


STATUS_CACHE = StatusCache()


def dashboard(uow: UnitOfWork, p: Principal, campaign_id: int, *, now: datetime | None = None,
              late_limit: int = 20) -> campaign_svc.CampaignStatusView:
    campaign_for(uow, p, campaign_id)
    return STATUS_CACHE.get(uow, campaign_id, _now(now), late_limit)


def calendar_choices() -> list[str]:
    return [calendar_name(p) for p in shipped_calendars()]


def launch(
    uow: UnitOfWork,
    p: Principal,
    *,
    school_year: str,
    index_set_code: str,
    calendar: str | None = None,
    calendar_file: Path | None = None,
    title: str | None = None,
    spawn_children: bool = False,
    now: datetime | None = None,
) -> campaign_svc.LaunchResult:
    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không phát động được kế hoạch.")
    cal = None
    if calendar_file is not None:
        cal = load_calendar(calendar_file)
    elif calendar:
        if calendar not in calendar_choices():  # only shipped names: no path from a request
            raise InvalidInput(f"Không có lịch mẫu «{calendar}»")
        cal = load_calendar(find_calendar(calendar))
    issuer = uow.session.get(Unit, p.unit_id)
    return campaign_svc.launch_campaign(
        uow, issuer_code=issuer.code, school_year=school_year.strip(), index_set=index_set_code, calendar=cal,
        title=title or None, spawn_children=spawn_children, actor=p.actor_name, now=now,
    )


def advance_campaign(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str):
    require(p, "advance_campaign")
    campaign_for(uow, p, campaign_id)
    return campaign_svc.advance_campaign(uow, campaign_id, trigger)


@dataclass
class BulkResult:
    trigger: str
    done: int = 0
    refused: list[str] = field(default_factory=list)


BULK_TRIGGERS = ("start_review", "recognise", "publish")


def bulk_transition(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str, *, limit: int = 2000,
                    now: datetime | None = None) -> BulkResult:
    """The same step for every school of the campaign that stands where the step starts; one
    transaction per school so that one refusal does not undo the others."""
    require(p, "bulk")
    if trigger not in BULK_TRIGGERS:
        raise InvalidInput(f"Không làm hàng loạt được thao tác «{trigger}»")
    require(p, trigger)
    campaign_for(uow, p, campaign_id)
    ids = [campaign_id, *uow.session.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id)).scalars()]
    rows = uow.session.execute(
        select(Assessment.id, Unit.name).join(Unit, Unit.id == Assessment.school_id)
        .where(Assessment.campaign_id.in_(ids), Assessment.state.in_(legal_sources(trigger)))
        .order_by(Assessment.id).limit(limit)
    ).all()
    result = BulkResult(trigger)
    for aid, name in rows:
        try:
            assessment_svc.transition(uow, aid, trigger, actor(p), now=now)
            result.done += 1
        except CdsError as err:
            uow.rollback()
            result.refused.append(f"{name}: {err}")
    return result


# --- one school ------------------------------------------------------------------------------


@dataclass
class SchoolPage:
    view: assessment_svc.AssessmentView
    unit_name: str
    days_left: int | None
    triggers: list[tuple[str, str]]  # (trigger, Vietnamese label) the principal may try now
    can_edit_committee: bool
    history: list[AssessmentEvent]
    criteria: list[tuple[str, str]] = field(default_factory=list)  # for notes when returning the file
    role_labels: dict[str, str] = field(default_factory=lambda: dict(assessment_svc.ROLE_LABELS))


def school_page(uow: UnitOfWork, p: Principal, assessment_id: int, *, now: datetime | None = None) -> SchoolPage:
    a = assessment_for(uow, p, assessment_id)
    view = assessment_svc.show_assessment(uow, a.id)
    left = days_left(view.next_milestone[1], _now(now)) if view.next_milestone else None
    triggers = [(s.trigger, s.label) for s in STEPS if s.source == view.stage and allowed(p, s.trigger)]
    criteria: list[tuple[str, str]] = []
    if any(t == "return_for_supplement" for t, _ in triggers):
        from cdsflow.workflow.services.indexsets import index_set_for_assessment

        criteria = [(c.code, c.label) for c in index_set_for_assessment(uow.session, a.id).criteria.values()]
    return SchoolPage(
        view=view, unit_name=uow.session.get(Unit, a.school_id).name, days_left=left, triggers=triggers,
        can_edit_committee=allowed(p, "set_committee") and not a.locked,
        history=assessment_svc.history(uow, a.id), criteria=criteria,
    )


def my_assessments(uow: UnitOfWork, p: Principal) -> list[tuple[int, str, str]]:
    """(assessment id, campaign title, stage label) of the principal's own unit, newest first."""
    if p.unit_id is None:
        return []
    rows = uow.session.execute(
        select(Assessment.id, Campaign.title, Assessment.state).join(Campaign, Campaign.id == Assessment.campaign_id)
        .where(Assessment.school_id == p.unit_id).order_by(Assessment.campaign_id.desc())
    ).all()
    return [(aid, title, Stage(state).label) for aid, title, state in rows]


def transition(uow: UnitOfWork, p: Principal, assessment_id: int, trigger: str, *, version: int | None,
               reason: str = "", criteria_notes: dict[str, str] | None = None,
               now: datetime | None = None) -> Stage:
    a = assessment_for(uow, p, assessment_id)
    if trigger == "advance":
        trigger = forward_trigger(a.state)
    if trigger not in STEP_BY_TRIGGER:
        raise InvalidInput(f"Thao tác không tồn tại: «{trigger}»")
    require(p, trigger)
    return assessment_svc.transition(uow, a.id, trigger, actor(p), reason=reason, criteria_notes=criteria_notes,
                                     expected_version=version, now=now)


def set_committee(uow: UnitOfWork, p: Principal, assessment_id: int, members: list[assessment_svc.MemberInput],
                  *, version: int | None, now: datetime | None = None) -> int:
    a = assessment_for(uow, p, assessment_id)
    require(p, "set_committee")
    return assessment_svc.set_committee(uow, a.id, members, actor(p), expected_version=version, now=now)


def parse_criteria_notes(text: str) -> dict[str, str]:
    """'1.2: thiếu minh chứng' per line → {'1.2': 'thiếu minh chứng'}; a line without ':' is refused."""
    notes: dict[str, str] = {}
    bad = []
    for i, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        code, sep, note = line.partition(":")
        if not sep or not code.strip() or not note.strip():
            bad.append(f"dòng {i}: cần dạng «mã tiêu chí: ghi chú» («{line.strip()[:60]}»)")
            continue
        notes[code.strip()] = note.strip()
    if bad:
        raise InvalidInput("Ghi chú theo tiêu chí có lỗi; chưa lưu gì:", details=bad)
    return notes


# --- public ----------------------------------------------------------------------------------


@dataclass
class PublicResults:
    campaign_id: int
    title: str
    issuer_name: str
    school_year: str
    published: list[tuple[str, str, int | None, int | None]]  # (school, published on, level per group)
    total: int
    group_names: tuple[str, str] = ("Nhóm 1", "Nhóm 2")


def public_results(uow: UnitOfWork, campaign_id: int) -> PublicResults:
    """What anyone may read: only schools whose results are published, nothing else."""
    c = uow.session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    ids = [campaign_id, *uow.session.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id)).scalars()]
    issuer = uow.session.get(Unit, c.issuer_id)
    from cdsflow.storage.assessment_tables import AssessmentScore

    # The recognised result is the review team's; a file reviewed without external scores shows the school's.
    ext = select(AssessmentScore).where(AssessmentScore.phase == "external").subquery()
    own = select(AssessmentScore).where(AssessmentScore.phase == "self").subquery()
    rows = uow.session.execute(
        select(Unit.name, Assessment.updated_at, func.coalesce(ext.c.group1_level, own.c.group1_level),
               func.coalesce(ext.c.group2_level, own.c.group2_level))
        .join(Unit, Unit.id == Assessment.school_id)
        .outerjoin(ext, ext.c.assessment_id == Assessment.id).outerjoin(own, own.c.assessment_id == Assessment.id)
        .where(Assessment.campaign_id.in_(ids), Assessment.state == Stage.PUBLISHED.value).order_by(Unit.name)
    ).all()
    if not rows:  # nothing published yet: answer exactly as for a campaign that does not exist
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    total = uow.session.execute(
        select(func.count()).select_from(Assessment).where(Assessment.campaign_id.in_(ids))
    ).scalar_one()
    return PublicResults(c.id, c.title, issuer.name if issuer else "", c.school_year,
                         [(n, at.astimezone(VN).strftime("%d/%m/%Y") if at else "", g1, g2) for n, at, g1, g2 in rows],
                         total, _group_names(uow, c))


def _group_names(uow: UnitOfWork, c: Campaign) -> tuple[str, str]:
    from cdsflow.workflow.services.indexsets import index_set_by_hash

    try:
        names = [g.name for g in index_set_by_hash(uow.session, c.index_set_hash).groups]
    except CdsError:
        names = []
    names += ["Nhóm 1", "Nhóm 2"]
    return names[0], names[1]


def stage_labels() -> list[tuple[str, str]]:
    return [(s.value, s.label) for s in STAGE_ORDER]


def require_accounts(p: Principal) -> None:
    require(p, "manage_accounts")


PAGE_SIZE = 50


def school_list(uow: UnitOfWork, p: Principal, campaign_id: int, *, stage: str | None = None,
                page: int = 1) -> tuple[list[tuple[int, str, str, str]], bool]:
    """(assessment id, school code, school name, stage label) one page at a time, in the principal's scope."""
    campaign_for(uow, p, campaign_id)
    ids = [campaign_id, *uow.session.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id)).scalars()]
    query = (select(Assessment.id, Unit.code, Unit.name, Assessment.state, Assessment.school_id)
             .join(Unit, Unit.id == Assessment.school_id).where(Assessment.campaign_id.in_(ids)))
    if stage:
        if stage not in {s.value for s in STAGE_ORDER}:
            raise InvalidInput(f"Giai đoạn không rõ: «{stage}»")
        query = query.where(Assessment.state == stage)
    rows = uow.session.execute(query.order_by(Unit.code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    out = [(aid, code, name, Stage(state).label) for aid, code, name, state, sid in rows[:PAGE_SIZE]]
    return out, len(rows) > PAGE_SIZE


@dataclass
class LevelChart:
    phase_label: str
    group_name: str
    counts: list[tuple[str, int]]  # (level label, schools)
    peak: int


def level_charts(uow: UnitOfWork, campaign_id: int) -> list[LevelChart]:
    """Schools per level and group, for the self-assessment and the external review: one GROUP BY."""
    from cdsflow.storage.assessment_tables import AssessmentScore
    from cdsflow.workflow.services.indexsets import index_set_by_hash

    campaign = uow.session.get(Campaign, campaign_id)
    ids = [campaign_id, *uow.session.execute(select(Campaign.id).where(Campaign.parent_id == campaign_id)).scalars()]
    rows = uow.session.execute(
        select(AssessmentScore.phase, AssessmentScore.group1_level, AssessmentScore.group2_level, func.count())
        .join(Assessment, Assessment.id == AssessmentScore.assessment_id)
        .where(Assessment.campaign_id.in_(ids))
        .group_by(AssessmentScore.phase, AssessmentScore.group1_level, AssessmentScore.group2_level)
    ).all()
    if not rows:
        return []
    try:
        index_set = index_set_by_hash(uow.session, campaign.index_set_hash)
        groups = [g.name for g in index_set.groups][:2]
        levels = [(b.level, b.name) for b in index_set.levels]
    except CdsError:
        groups, levels = ["Nhóm 1", "Nhóm 2"], [(1, ""), (2, ""), (3, "")]
    charts = []
    for phase, label in (("self", "Tự đánh giá"), ("external", "Đánh giá ngoài")):
        for gi, name in enumerate(groups):
            tally: dict[int | None, int] = {}
            for ph, g1, g2, n in rows:
                if ph == phase:
                    key = (g1, g2)[gi]
                    tally[key] = tally.get(key, 0) + n
            if not tally:
                continue
            counts = [("Chưa đạt mức", tally.get(None, 0))] + [
                (f"Mức {lv}" + (f" ({nm})" if nm else ""), tally.get(lv, 0)) for lv, nm in levels]
            charts.append(LevelChart(label, name, counts, max([n for _, n in counts] + [1])))
    return charts


def milestones(uow: UnitOfWork, campaign_id: int) -> list[tuple[str, str]]:
    from cdsflow.storage.tables import CampaignMilestone

    return [(k, t) for k, t in uow.session.execute(
        select(CampaignMilestone.key, CampaignMilestone.title).where(CampaignMilestone.campaign_id == campaign_id)
        .order_by(CampaignMilestone.position)
    )]


def remind_now(uow: UnitOfWork, p: Principal, campaign_id: int, milestone_key: str, *, now: datetime | None = None):
    """The officer's manual nudge of the schools late for one milestone (at most once a day)."""
    from cdsflow.notifications.services import remind_now as nudge

    require(p, "remind")
    campaign_for(uow, p, campaign_id)
    if milestone_key not in {k for k, _ in milestones(uow, campaign_id)}:
        raise InvalidInput(f"Kế hoạch số {campaign_id} không có mốc «{milestone_key}»")
    return nudge(uow.engine, campaign_id, milestone_key, _now(now))
