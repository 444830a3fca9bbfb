"""Lookups that several use-cases and the rule facts share: a campaign's family, a file's stored
answers, the recognition decision in force.

Below authorization.py and the use-case modules (which all ask the rulebook through authorization),
so that each of them and the facts can import these without a cycle.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage.assessment_tables import AssessmentAnswer
from cdsflow.storage.documents_tables import ISSUED, GeneratedDocument
from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit

PHASES = ("self", "external")


def phase_code(phase: str) -> str:
    if phase not in PHASES:
        raise InvalidInput(f"Giai đoạn chấm điểm không hợp lệ: '{phase}' (dùng: self = tự đánh giá, external = đánh giá ngoài)")
    return phase


def family_ids(session: Session, campaign_id: int) -> list[int]:
    """The campaign and its child campaigns (a Sở campaign spawns one per Phòng): the one home of
    this lookup, used by lists, counts, results and papers."""
    return [campaign_id, *session.execute(
        select(Campaign.id).where(Campaign.parent_id == campaign_id).order_by(col(Campaign.id))).scalars()]


def family_select(campaign_id: int) -> SelectOfScalar[int]:
    """The same family as a SELECT of ids, for `IN (…)`: the database reads the campaign tree from
    its indexes, so a query costs no more to write for 3,321 children than for 3."""
    return select(col(Campaign.id)).where(or_(col(Campaign.id) == campaign_id, col(Campaign.parent_id) == campaign_id))


def load_answers(session: Session, assessment_id: int, phase: str = "self") -> dict[str, Any]:
    rows = session.exec(
        select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id,
                                       AssessmentAnswer.phase == phase_code(phase))
    ).all()
    return {r.item_code: r.value for r in rows if r.value is not None}


def recognition_decision(session: Session, a: Assessment) -> GeneratedDocument | None:
    """The Quyết định công nhận in force (numbered, neither voided nor replaced) that names the school:
    of its campaign or the one above it. The one lookup of it: publication requires it (rulebook),
    the certificate cites it, the recognition mail attaches it."""
    campaign = session.get(Campaign, a.campaign_id)
    school = session.get(Unit, a.school_id)
    ids = [a.campaign_id] + ([campaign.parent_id] if campaign is not None and campaign.parent_id else [])
    for doc in session.exec(select(GeneratedDocument).where(
            GeneratedDocument.doc_type == "qd_cong_nhan", col(GeneratedDocument.campaign_id).in_(ids),
            col(GeneratedDocument.number).is_not(None), GeneratedDocument.status == ISSUED)
            .order_by(col(GeneratedDocument.id).desc())).all():
        if school is not None and school.code in (doc.context.get("school_codes") or []):
            return doc
    return None


def campaign_milestones(session: Session, campaign_id: int) -> list[CampaignMilestone]:
    """A campaign's milestones in calendar order (papers print them; the plan's own papers too)."""
    return list(session.exec(select(CampaignMilestone).where(CampaignMilestone.campaign_id == campaign_id)
                             .order_by(col(CampaignMilestone.position))).all())
