"""The sends of a school's proposal and the one that counts (calendars FORMAT.md "The send that counts").

Every `submit_proposal` freezes what was sent (answers and points per item, evidence list,
committee) in `proposal_send`; the calendar's `counts: first | last` picks the snapshot the
reviewers and the papers read. Rows are only ever inserted.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session
from sqlmodel import col, select

from cdsflow.calendars.submission import in_return_window
from cdsflow.kernel.stages import Stage
from cdsflow.services import deadlines
from cdsflow.storage.assessment_tables import AssessmentAnswer, AssessmentScore, EvidenceEntry
from cdsflow.storage.sends_tables import ProposalSend
from cdsflow.storage.tables import Assessment, CommitteeMember


def record_send(session: Session, a: Assessment, actor: str, at: datetime) -> ProposalSend:
    """Freeze what is being sent, in the caller's transaction (the step commits)."""
    answers = {r.item_code: r.value for r in session.scalars(
        select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == a.id, AssessmentAnswer.phase == "self"))
        if r.value is not None}
    score = session.scalars(select(AssessmentScore).where(AssessmentScore.assessment_id == a.id,
                                                          AssessmentScore.phase == "self")).first()
    evidence = [{"criterion_code": e.criterion_code, "title": e.title, "document_number": e.document_number,
                 "link": e.link} for e in session.scalars(
        select(EvidenceEntry).where(EvidenceEntry.assessment_id == a.id).order_by(EvidenceEntry.criterion_code,
                                                                                   col(EvidenceEntry.id)))]
    committee = [{"full_name": m.full_name, "role": m.role, "position": m.position} for m in session.scalars(
        select(CommitteeMember).where(CommitteeMember.assessment_id == a.id)
        .order_by(col(CommitteeMember.position_order), col(CommitteeMember.id)))]
    policy = deadlines.proposal_policy(session, a.campaign_id)
    after_return = bool(policy and in_return_window(policy, at, deadlines.pending_return(session, a)))
    number = (session.scalar(select(func.max(ProposalSend.number)).where(ProposalSend.assessment_id == a.id)) or 0) + 1
    row = ProposalSend(assessment_id=a.id, number=number, sent_at=at, sent_by=actor, after_return=after_return,
                       answers=answers, item_points=dict(score.item_points) if score else {},
                       total=score.total if score else 0.0, evidence=evidence, committee=committee)
    session.add(row)
    session.flush()
    return row


def list_sends(session: Session, assessment_id: int) -> list[ProposalSend]:
    return list(session.scalars(select(ProposalSend).where(ProposalSend.assessment_id == assessment_id)
                                .order_by(col(ProposalSend.number))))


def sends_against_cap(session: Session, a: Assessment) -> int:
    """The sends the form's cap counts: all of them, minus those made in a return window that
    `beyond_cap` puts outside it (older files without snapshots: the stored count)."""
    sends = list_sends(session, a.id)
    if not sends:
        return a.proposal_count
    policy = deadlines.proposal_policy(session, a.campaign_id)
    beyond = policy is not None and policy.beyond_cap
    return sum(1 for s in sends if not (beyond and s.after_return))


def counted_send(session: Session, a: Assessment) -> ProposalSend | None:
    """The snapshot that counts: the first or the last send, as the calendar says."""
    sends = list_sends(session, a.id)
    if not sends:
        return None
    policy = deadlines.proposal_policy(session, a.campaign_id)
    return sends[0] if policy is not None and policy.counts == "first" else sends[-1]


def sent_self_answers(session: Session, a: Assessment) -> tuple[dict[str, Any], ProposalSend] | None:
    """The self-assessment answers reviewers and papers use once the file is sent: the counted
    snapshot's. None while the school still works on its file (never sent, or back after a
    return): then the live answers are the ones to show."""
    if Stage(a.state).order < Stage.PROPOSAL.order:
        return None
    send = counted_send(session, a)
    return (dict(send.answers), send) if send is not None else None
