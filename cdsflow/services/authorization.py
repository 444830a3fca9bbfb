"""Asking the rulebook: gather the facts of one request from storage, then `rulebook.refusals`.

Every use-case that changes something calls `check_*()` (or builds its facts here and fires the
machine, whose guard asks the same table), and every read asks `readable_*()` with its line of the
table (view_assessment, view_campaigns, list_campaigns, export_lists, download_paper, view_unit), so
the web, the API, the CLI, the scheduler and a Python caller meet the same rule with the same
Vietnamese reason. A door only translates the refusal (the web answers a read refused for scope as
"not found", so ids leak nothing).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from cdsflow.assessment.scoring import score
from cdsflow.kernel.errors import Forbidden, NotFound
from cdsflow.kernel.stages import CampaignStatus, Stage
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.long_lists import unit_scope
from cdsflow.services.lookups import family_ids, load_answers
from cdsflow.services.lookups import recognition_decision as decision
from cdsflow.services.units import chain_of as chain_of  # re-exported: campaigns reads it here
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
        select(ReviewTeamMember.account_id).join(ReviewTeam, col(ReviewTeam.id) == ReviewTeamMember.team_id)
        .where(col(ReviewTeam.campaign_id).in_(ids), col(ReviewTeamMember.account_id).is_not(None))
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
            .order_by(col(CommitteeMember.position_order), col(CommitteeMember.id))).scalars())
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
    counts: dict[Stage, int] = {}
    if with_counts:
        for state, n in session.execute(
            select(col(Assessment.state), func.count()).where(col(Assessment.campaign_id).in_(family_ids(session, campaign.id)))
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
    answers = load_answers(session, a.id, "external")
    if not answers:
        return None
    return tuple(score(index_set_for_assessment(session, a.id), answers).unscored)

def recognition_decision(session: Session, a: Assessment) -> str | None:
    """The number line of the Quyết định công nhận in force that names the school, if any."""
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
    ctx = unit_facts(session, actor, unit_id, now=now)
    rulebook.enforce(action, ctx)
    return ctx


def check_role(actor: ActorRef, action: str) -> None:
    """The person's role may take the action somewhere (a menu or a system page: accounts, mailbox,
    index sets); the use-case asks the whole rule again with the facts of the school or campaign.
    For the lines of the system's administrators (relation `any`) this is the whole rule."""
    r = rulebook.rule(action)
    ctx = TransitionContext(actor=actor, now=_now(None))
    if all(rel == rulebook.Relation.ANY for _, rel in r.who):
        rulebook.enforce_who(action, ctx)
    elif not rulebook.role_may(actor.role, action):
        raise Forbidden(f"Không thể {r.label}:", details=[f"tài khoản vai trò «{actor.role.label}» không được {r.label}"
                                                          if actor.role else "không rõ người thực hiện"])


def readable_assessment(session: Session, actor: ActorRef, assessment_id: int, action: str = "view_assessment",
                        *, now: datetime | None = None) -> Assessment:
    """The school's file if the rule table lets this person read it (`Forbidden` otherwise)."""
    a = session.get(Assessment, assessment_id, populate_existing=True)
    if a is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    rulebook.enforce(action, school_facts(session, a, actor, now=now))
    return a


def _campaign_reader(session: Session, actor: ActorRef, issuer_id: int, now: datetime | None) -> TransitionContext:
    ctx = TransitionContext(actor=actor, now=_now(now))
    return ctx.supply(issuer_chain=(issuer_id, *chain_of(session, issuer_id)))


def readable_campaign(session: Session, actor: ActorRef, campaign_id: int, action: str = "view_campaigns",
                      *, now: datetime | None = None) -> Campaign:
    """The campaign if the rule table lets this person read it (`Forbidden` otherwise)."""
    c = _campaign(session, campaign_id)
    rulebook.enforce(action, _campaign_reader(session, actor, c.issuer_id, now))
    return c


def readable_campaign_ids(session: Session, actor: ActorRef, *, now: datetime | None = None) -> list[int]:
    """Ids of the campaigns the person may list, newest first (`list_campaigns`)."""
    check_role(actor, "list_campaigns")
    rows = session.execute(select(Campaign.id, Campaign.issuer_id).order_by(col(Campaign.id).desc())).all()
    seen: dict[int, bool] = {}
    for _, issuer in rows:
        if issuer not in seen:
            seen[issuer] = not rulebook.refusals("list_campaigns", _campaign_reader(session, actor, issuer, now))
    return [cid for cid, issuer in rows if seen[issuer]]


def readable_units(actor: ActorRef, action: str = "download_paper") -> Select[tuple[int]] | None:
    """The units whose records the person may read, as a SELECT of ids (None: every unit), from the
    reach of the table's line (`rulebook.reach`, its `who` part: reading lines name no stage or
    status): for registers and lists paged in SQL."""
    how = rulebook.reach(action, actor.role, actor.unit_id)
    return unit_scope(actor.unit_id if how != "none" else None, everything=how == "all", own_only=how == "own")


def unit_facts(session: Session, actor: ActorRef, unit_id: int, *, now: datetime | None = None) -> TransitionContext:
    """A unit's own data: the unit stands where a school would, its chain above it."""
    ctx = TransitionContext(actor=actor, now=_now(now))
    return ctx.supply(school_id=unit_id, supervisors=tuple(chain_of(session, unit_id)))


def may_read_unit(session: Session, actor: ActorRef, unit_id: int, action: str = "view_unit") -> bool:
    """Whether the person may read this unit's records or papers (`view_unit`, `download_paper`)."""
    return not rulebook.refusals(action, unit_facts(session, actor, unit_id))


def check_read_unit(session: Session, actor: ActorRef, unit_id: int, action: str = "view_unit") -> None:
    rulebook.enforce(action, unit_facts(session, actor, unit_id))


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
