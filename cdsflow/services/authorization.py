"""Asking the rulebook: gather the facts of one request from storage, then `rulebook.refusals`.

Every use-case that changes something calls `check()` (or builds its facts here and fires the
machine, whose guard asks the same table), so the web, the API, the CLI, the scheduler and a
Python caller meet the same rule with the same Vietnamese reason.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cdsflow.kernel.errors import NotFound
from cdsflow.kernel.stages import CampaignStatus, Stage
from cdsflow.services.units import chain_of
from cdsflow.storage.review_tables import ReviewTeam, ReviewTeamMember
from cdsflow.storage.tables import Assessment, Campaign, CommitteeMember
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef, MemberView, TransitionContext


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)

def _team_accounts(session: Session, campaign: Campaign) -> frozenset[int]:
    """Logins of the review team the campaign (or, for a child campaign, its parent) has formed."""
    ids = [campaign.id] + ([campaign.parent_id] if campaign.parent_id else [])
    rows = session.execute(
        select(ReviewTeamMember.account_id).join(ReviewTeam, ReviewTeam.id == ReviewTeamMember.team_id)
        .where(ReviewTeam.campaign_id.in_(ids), ReviewTeamMember.account_id.is_not(None))
    ).scalars()
    return frozenset(rows)

def _issuer_chain(session: Session, campaign: Campaign) -> tuple[int, ...]:
    return (campaign.issuer_id, *chain_of(session, campaign.issuer_id))

def _campaign(session: Session, campaign_id: int) -> Campaign:
    c = session.get(Campaign, campaign_id)
    if c is None:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return c

def school_facts(session: Session, a: Assessment, actor: ActorRef, *, now: datetime | None = None,
                 with_committee: bool = False) -> TransitionContext:
    """The facts about one school's file that every rule may look at."""
    campaign = _campaign(session, a.campaign_id)
    committee: tuple[MemberView, ...] = ()
    if with_committee:
        committee = tuple(MemberView(m.full_name, m.role) for m in session.execute(
            select(CommitteeMember).where(CommitteeMember.assessment_id == a.id)
            .order_by(CommitteeMember.position_order, CommitteeMember.id)).scalars())
    ctx = TransitionContext(actor=actor, now=_now(now))
    ctx.supply(school_id=a.school_id, supervisors=chain_of(session, a.school_id),
               issuer_chain=_issuer_chain(session, campaign), team_accounts=_team_accounts(session, campaign),
               stage=Stage(a.state), locked=a.locked, campaign_status=CampaignStatus(campaign.status),
               proposed_by=a.proposed_by)
    if with_committee:
        ctx.supply(committee=committee)
    return ctx

def campaign_facts(session: Session, campaign: Campaign, actor: ActorRef, *, now: datetime | None = None,
                   with_counts: bool = False) -> TransitionContext:
    from cdsflow.services.campaigns import family_ids

    counts: dict[Stage, int] = {}
    if with_counts:
        for state, n in session.execute(
            select(Assessment.state, func.count()).where(Assessment.campaign_id.in_(family_ids(session, campaign.id)))
            .group_by(Assessment.state)
        ):
            counts[Stage(state)] = n
    ctx = TransitionContext(actor=actor, now=_now(now))
    ctx.supply(issuer_chain=_issuer_chain(session, campaign), campaign_status=CampaignStatus(campaign.status))
    if with_counts:
        ctx.supply(stage_counts=counts)
    return ctx

def external_unscored(session: Session, a: Assessment) -> tuple[str, ...] | None:
    """Items the review has not scored; None when it has scored nothing at all."""
    from cdsflow.assessment.scoring import score
    from cdsflow.services.indexsets import index_set_for_assessment
    from cdsflow.services.scoring import load_answers

    answers = load_answers(session, a.id, "external")
    if not answers:
        return None
    return tuple(score(index_set_for_assessment(session, a.id), answers).unscored)

def recognition_decision(session: Session, a: Assessment) -> str | None:
    """The number line of the Quyết định công nhận in force that names the school, if any."""
    from cdsflow.services.results import recognition_decision as decision

    doc = decision(session, a)
    return (doc.number_line or f"số {doc.number}") if doc is not None else None


def check_school(session: Session, actor: ActorRef, action: str, a: Assessment, *,
                 now: datetime | None = None) -> TransitionContext:
    """Refuse `action` on this school's file with every reason, or return the facts it was allowed on."""
    ctx = school_facts(session, a, actor, now=now)
    rulebook.enforce(action, ctx)
    return ctx

def check_campaign(session: Session, actor: ActorRef, action: str, campaign_id: int, *,
                   now: datetime | None = None) -> TransitionContext:
    ctx = campaign_facts(session, _campaign(session, campaign_id), actor, now=now, with_counts=action.startswith("campaign_"))
    rulebook.enforce(action, ctx)
    return ctx

def check_unit(session: Session, actor: ActorRef, action: str, unit_id: int, *,
               now: datetime | None = None) -> TransitionContext:
    """A unit's own data (its steering group): the unit stands where a school would, its chain above it."""
    ctx = TransitionContext(actor=actor, now=_now(now), school_id=unit_id, supervisors=tuple(chain_of(session, unit_id)))
    rulebook.enforce(action, ctx)
    return ctx


def may_school(session: Session, actor: ActorRef, action: str, a: Assessment, *, now: datetime | None = None) -> bool:
    return not rulebook.refusals(action, school_facts(session, a, actor, now=now))

def allowed_steps(session: Session, actor: ActorRef, a: Assessment, triggers: Iterable[str]) -> list[str]:
    """The steps whose who/stage/campaign conditions hold for this person now (what a page offers);
    requirements on data are left to the step itself, which names what is missing."""
    ctx = school_facts(session, a, actor)
    out = []
    for t in triggers:
        r = rulebook.rule(t)
        if rulebook.who_refusal(r, ctx):
            continue
        if r.stages is not None and ctx.stage not in r.stages:
            continue
        if r.campaign is not None and ctx.campaign_status not in r.campaign:
            continue
        out.append(t)
    return out

def acting_unit_for(session: Session, a: Assessment, action: str) -> int:
    """The unit a person at the command line acts for when they give no `--unit`: the school for
    the actions the rulebook gives to the school, else the campaign's issuer."""
    if any(rel == rulebook.Relation.SCHOOL for _, rel in rulebook.rule(action).who):
        return a.school_id
    return _campaign(session, a.campaign_id).issuer_id
