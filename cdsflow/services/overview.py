"""What lists, charts and the public page show about a campaign: one use-case each, called by the
web pages, the JSON API and the CLI alike (no entry point runs SQL of its own).

Which score counts for a recognised school is `counted_level()`: the external review's when it
scored every item (recognition requires it), else the school's own, which only happens when the
supervisor recognised it with a written override (kept in the history).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Case, Subquery, case, func
from sqlmodel import Session, col, select

from cdsflow.calendars.timeutil import TZ
from cdsflow.kernel.errors import CdsError, NotFound
from cdsflow.kernel.stages import Stage
from cdsflow.services.campaigns import family_ids
from cdsflow.services.indexsets import index_set_by_hash
from cdsflow.services.lookups import family_select
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.collation import vi_order
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit


def counted_level(external: Subquery, own: Subquery, column: str) -> Case[Any]:
    """SQL for the level that counts, from the external and self score rows (subqueries)."""
    return case((external.c.complete.is_(True), getattr(external.c, column)), else_=getattr(own.c, column))


@dataclass
class PublicResults:
    campaign_id: int
    title: str
    issuer_name: str
    school_year: str
    published: list[tuple[str, str, int | None, int | None]]  # (school, published on, level per group)
    total: int
    group_names: tuple[str, str] = ("Nhóm 1", "Nhóm 2")


def public_results(session: Session, campaign_id: int) -> PublicResults:
    """What anyone may read: only schools whose results are published, with the recognised levels."""
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    ids = family_ids(session, campaign_id)
    issuer = session.get(Unit, c.issuer_id)
    ext = select(AssessmentScore).where(AssessmentScore.phase == "external").subquery()
    own = select(AssessmentScore).where(AssessmentScore.phase == "self").subquery()
    rows = session.execute(
        select(Unit.name, Assessment.updated_at, counted_level(ext, own, "group1_level"),
               counted_level(ext, own, "group2_level"))
        .join(Unit, col(Unit.id) == Assessment.school_id)
        .outerjoin(ext, ext.c.assessment_id == Assessment.id).outerjoin(own, own.c.assessment_id == Assessment.id)
        .where(col(Assessment.campaign_id).in_(ids), col(Assessment.state) == Stage.PUBLISHED.value).order_by(vi_order(Unit.name))
    ).all()
    if not rows:  # nothing published yet: answer exactly as for a campaign that does not exist
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    total = session.execute(
        select(func.count()).select_from(Assessment).where(col(Assessment.campaign_id).in_(ids))
    ).scalar_one()
    return PublicResults(c.id, c.title, issuer.name if issuer else "", c.school_year,
                         [(n, at.astimezone(TZ).strftime("%d/%m/%Y") if at else "", g1, g2) for n, at, g1, g2 in rows],
                         total, _group_names(session, c))


def _group_names(session: Session, c: Campaign) -> tuple[str, str]:
    try:
        names = [g.name for g in index_set_by_hash(session, c.index_set_hash).groups]
    except CdsError:
        names = []
    names += ["Nhóm 1", "Nhóm 2"]
    return names[0], names[1]


@dataclass
class LevelChart:
    phase_label: str
    group_name: str
    counts: list[tuple[str, int]]  # (level label, schools)
    peak: int


def level_charts(session: Session, campaign_id: int) -> list[LevelChart]:
    """Schools per level and group, for the self-assessment and the external review: one GROUP BY."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    rows = session.execute(
        select(AssessmentScore.phase, AssessmentScore.group1_level, AssessmentScore.group2_level, func.count())
        .join(Assessment, col(Assessment.id) == AssessmentScore.assessment_id)
        # Finished scores only: one still being filled in has no level yet, and is not "Chưa đạt mức".
        .where(col(Assessment.campaign_id).in_(family_select(campaign_id)), col(AssessmentScore.complete).is_(True))
        .group_by(col(AssessmentScore.phase), col(AssessmentScore.group1_level), col(AssessmentScore.group2_level))
    ).all()
    if not rows:
        return []
    try:
        index_set = index_set_by_hash(session, campaign.index_set_hash)
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


def milestones(session: Session, campaign_id: int) -> list[tuple[str, str]]:
    """(key, title) of the campaign's milestones, in the calendar's order."""
    return [(k, t) for k, t in session.execute(
        select(CampaignMilestone.key, CampaignMilestone.title).where(CampaignMilestone.campaign_id == campaign_id)
        .order_by(col(CampaignMilestone.position))
    )]


def own_assessments(session: Session, unit_id: int | None) -> list[tuple[int, str, str]]:
    """(assessment id, campaign title, stage label) of one unit's own files, newest first."""
    if unit_id is None:
        return []
    rows = session.execute(
        select(Assessment.id, Campaign.title, Assessment.state).join(Campaign, col(Campaign.id) == Assessment.campaign_id)
        .where(col(Assessment.school_id) == unit_id).order_by(col(Assessment.campaign_id).desc())
    ).all()
    return [(aid, title, Stage(state).label) for aid, title, state in rows]
