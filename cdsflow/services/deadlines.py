"""Each school's own deadlines, read from its stored history (calendars FORMAT.md "Relative deadlines").

The arithmetic is `calendars.relative` (pure); here are the facts: the campaign's milestone
snapshot and, per school, the latest time of each event its relative rules count from.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.model import RELATIVE_EVENTS, RelativeRule, SubmissionPolicy
from cdsflow.calendars.relative import resolve
from cdsflow.calendars.timeutil import local
from cdsflow.kernel.stages import Stage
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, CampaignMilestone

_EVENT_OF_TRIGGER = {t: e for e, t in RELATIVE_EVENTS.items() if t is not None}


@dataclass(frozen=True)
class OwnDeadline:
    """One milestone as it stands for one school."""

    key: str
    title: str
    stage: Stage | None
    due_at: datetime | None  # None: a start marker, or a relative rule whose event has not happened
    relative: RelativeRule | None


def relative_rule(row: CampaignMilestone) -> RelativeRule | None:
    return RelativeRule.from_dict(row.relative) if row.relative else None


def milestones(session: Session, campaign_id: int) -> list[CampaignMilestone]:
    return list(session.scalars(select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id)
                                .order_by(col(CampaignMilestone.position))))


def has_relative(rows: Iterable[CampaignMilestone]) -> bool:
    return any(r.relative for r in rows)


def event_times(session: Session, assessment_ids: list[int]) -> dict[int, dict[str, datetime]]:
    """Per assessment, the latest time of each event a relative rule may count from."""
    out: dict[int, dict[str, datetime]] = defaultdict(dict)
    if not assessment_ids:
        return out
    for chunk_start in range(0, len(assessment_ids), 5000):
        chunk = assessment_ids[chunk_start:chunk_start + 5000]
        for aid, trigger, at in session.execute(
            select(AssessmentEvent.assessment_id, AssessmentEvent.trigger, func.max(AssessmentEvent.at))
            .where(col(AssessmentEvent.assessment_id).in_(chunk), col(AssessmentEvent.trigger).in_(list(_EVENT_OF_TRIGGER)))
            .group_by(col(AssessmentEvent.assessment_id), col(AssessmentEvent.trigger))
        ):
            out[aid][_EVENT_OF_TRIGGER[trigger]] = at
    return out


def resolve_for(rows: list[CampaignMilestone], events: dict[str, datetime],
                launched_at: datetime | None) -> dict[str, datetime | None]:
    rules = {r.key: relative_rule(r) for r in rows}
    fixed = {r.key: r.due_at for r in rows}
    known = dict(events)
    if launched_at is not None:
        known["launched"] = launched_at
    return resolve(rules, fixed, known)


def own_deadlines(session: Session, a: Assessment) -> list[OwnDeadline]:
    """Every milestone of the school's campaign with the school's own deadline, in file order."""
    rows = milestones(session, a.campaign_id)
    campaign = session.get(Campaign, a.campaign_id)
    due = resolve_for(rows, event_times(session, [a.id])[a.id], campaign.launched_at if campaign else None)
    return own_for_rows(rows, due)


def own_for_rows(rows: list[CampaignMilestone], due: dict[str, datetime | None]) -> list[OwnDeadline]:
    return [OwnDeadline(r.key, r.title, Stage(r.stage) if r.stage else None, due.get(r.key), relative_rule(r))
            for r in rows]


def stage_deadlines(deadlines: list[OwnDeadline]) -> dict[Stage, OwnDeadline]:
    """The deadline that holds for each stage: a stage's own (relative) deadline, once its event
    has happened, replaces the stage's fixed ones (a returned file's window replaces the form's
    closing); among fixed ones the earliest holds, among own ones the latest."""
    by_stage: dict[Stage, list[OwnDeadline]] = defaultdict(list)
    for d in deadlines:
        if d.stage is not None and d.due_at is not None:
            by_stage[d.stage].append(d)
    out = {}
    for stage, items in by_stage.items():
        own = [d for d in items if d.relative is not None]
        # every item is dated (filtered above)
        out[stage] = (max(own, key=lambda d: cast(datetime, d.due_at)) if own
                      else min(items, key=lambda d: cast(datetime, d.due_at)))
    return out


def next_own_deadline(deadlines: list[OwnDeadline], reached: Stage) -> OwnDeadline | None:
    """The deadline of the next stage the school has to reach (the first later stage that has one).

    By stage rather than by date: a relative deadline of a further stage may count from an old
    event (the reviewers' 3 days after a send that was since returned) and is not the school's next."""
    pending = sorted((stage.order, d) for stage, d in stage_deadlines(deadlines).items() if stage.order > reached.order)
    return pending[0][1] if pending else None


def superseded(session: Session, campaign_id: int, stage: Stage, assessment_ids: list[int]) -> set[int]:
    """The schools whose own deadline for `stage` replaces the campaign's fixed one (reminders
    of the fixed milestone skip them; their relative milestone reminds them)."""
    rows = milestones(session, campaign_id)
    own_rows = [r for r in rows if r.relative and r.stage == stage.value]
    if not own_rows or not assessment_ids:
        return set()
    campaign = session.get(Campaign, campaign_id)
    events = event_times(session, assessment_ids)
    dues = resolve_many(rows, events, assessment_ids, campaign.launched_at if campaign else None)
    return {aid for aid, due in dues.items() if any(due.get(r.key) is not None for r in own_rows)}


# ---------------------------------------------------------------- the proposal's form


def proposal_policy(session: Session, campaign_id: int) -> SubmissionPolicy | None:
    """The calendar's submission rules for the proposal, if it sets any (Bắc Giang: 3 sends)."""
    return proposal_policies(session, [campaign_id]).get(campaign_id)


def proposal_policies(session: Session, campaign_ids: list[int]) -> dict[int, SubmissionPolicy]:
    """`proposal_policy` of many campaigns in one query per 5,000 (the scheduler asks for a Sở's
    3,321 ward plans at once); campaigns whose calendar sets no rules are absent."""
    out: dict[int, SubmissionPolicy] = {}
    for start in range(0, len(campaign_ids), 5000):
        for row in session.execute(
            select(CampaignMilestone).where(
                col(CampaignMilestone.campaign_id).in_(campaign_ids[start:start + 5000]),
                CampaignMilestone.stage == Stage.PROPOSAL.value,
                (col(CampaignMilestone.closes_at).is_not(None)) | (col(CampaignMilestone.max_submissions).is_not(None))
                | (col(CampaignMilestone.after_return).is_not(None)),
            ).order_by(col(CampaignMilestone.campaign_id), col(CampaignMilestone.position))
        ).scalars():
            if row.campaign_id in out:
                continue  # the first such milestone of the campaign sets the rules
            back = row.after_return or None
            out[row.campaign_id] = SubmissionPolicy(
                opens_at=row.opens_at, closes_at=row.closes_at, max_submissions=row.max_submissions,
                counts=row.counts, after_return=RelativeRule.from_dict(back) if back else None,
                beyond_cap=bool(back.get("beyond_cap", True)) if back else True)
    return out


def pending_return(session: Session, a: Assessment) -> datetime | None:
    """The latest return for supplement when the file is back with the school after it (no send since)."""
    events = event_times(session, [a.id])[a.id]
    returned, sent = events.get("returned"), events.get("proposal_sent")
    if returned is None or a.state != Stage.SELF_ASSESSMENT.value:
        return None
    return returned if sent is None or sent < returned else None



Anchors = tuple[tuple[str, date], ...]


def resolve_many(rows: list[Any], events: Mapping[int, Mapping[str, datetime]], ids: Iterable[int],
                 launched_at: datetime | None,
                 memo: dict[Anchors, dict[str, datetime | None]] | None = None) -> dict[int, dict[str, datetime | None]]:
    """`resolve_for` for many schools of one campaign, computed once per set of anchor dates.

    A relative deadline depends only on the local day of the event it counts from
    (`timeutil.due_after`), so schools whose events fell on the same days share one result
    (a few hundred distinct anchors for 54,000 schools). `memo` may be shared by campaigns with
    the same milestones and launch instant."""
    memo = {} if memo is None else memo
    out: dict[int, dict[str, datetime | None]] = {}
    for aid in ids:
        own = events.get(aid, {})
        key = tuple(sorted((e, local(at).date()) for e, at in own.items()))
        due = memo.get(key)
        if due is None:
            due = memo[key] = resolve_for(rows, dict(own), launched_at)
        out[aid] = due
    return out


def deadlines_of(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, datetime | None]]:
    """Every school's own deadline per milestone key, for the schools of `campaign_ids` (the
    same values as `resolve_for` school by school): three queries, one resolution per campaign
    shape and anchor dates."""
    out: dict[int, dict[str, datetime | None]] = {}
    if not campaign_ids:
        return out
    m = CampaignMilestone.__table__.c  # type: ignore[attr-defined]  # SQLModel sets it
    rows_of: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(campaign_ids), 5000):
        part = campaign_ids[start:start + 5000]
        for row in session.execute(select(m.campaign_id, m.key, m.due_at, m.relative)
                                   .where(m.campaign_id.in_(part)).order_by(m.campaign_id, m.position)):
            rows_of[row.campaign_id].append(row)
    launched: dict[int, datetime | None] = {}
    schools: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(campaign_ids), 5000):
        part = campaign_ids[start:start + 5000]
        launched.update(session.execute(select(col(Campaign.id), col(Campaign.launched_at))
                                        .where(col(Campaign.id).in_(part))).all())
        for aid, cid in session.execute(select(col(Assessment.id), col(Assessment.campaign_id))
                                        .where(col(Assessment.campaign_id).in_(part)).order_by(col(Assessment.id))):
            schools[cid].append(aid)
    relative = [aid for cid, aids in schools.items() if has_relative(rows_of.get(cid, [])) for aid in aids]
    events = event_times(session, relative)
    # Campaigns that repeat one calendar (a Sở's ward plans) share their resolutions too.
    shared: dict[tuple[Any, ...], dict[Anchors, dict[str, datetime | None]]] = {}
    for cid, aids in schools.items():
        rows = rows_of.get(cid, [])
        memo = shared.setdefault((tuple((r.key, r.due_at, repr(r.relative)) for r in rows), launched.get(cid)), {})
        out.update(resolve_many(rows, events, aids, launched.get(cid), memo))
    return out
