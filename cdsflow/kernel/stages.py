"""The seven stages every school goes through, and the campaign's own lifecycle."""
from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    PLAN_ISSUED = "plan_issued"
    COMMITTEE_FORMED = "committee_formed"
    SELF_ASSESSMENT = "self_assessment"
    PROPOSAL = "proposal"
    EXTERNAL_REVIEW = "external_review"
    RECOGNITION = "recognition"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def order(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: list[Stage] = list(Stage)

STAGE_LABELS: dict[Stage, str] = {
    Stage.PLAN_ISSUED: "Đã ban hành kế hoạch",
    Stage.COMMITTEE_FORMED: "Đã thành lập Hội đồng",
    Stage.SELF_ASSESSMENT: "Đang tự đánh giá",
    Stage.PROPOSAL: "Đã gửi tờ trình",
    Stage.EXTERNAL_REVIEW: "Đang đánh giá ngoài",
    Stage.RECOGNITION: "Đã công nhận",
    Stage.PUBLISHED: "Đã công bố",
}


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    LAUNCHED = "launched"
    REVIEWING = "reviewing"
    RECOGNISED = "recognised"
    PUBLISHED = "published"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return CAMPAIGN_STATUS_LABELS[self]


CAMPAIGN_STATUS_LABELS: dict[CampaignStatus, str] = {
    CampaignStatus.DRAFT: "Dự thảo",
    CampaignStatus.LAUNCHED: "Đã phát động",
    CampaignStatus.REVIEWING: "Đang đánh giá ngoài",
    CampaignStatus.RECOGNISED: "Đã công nhận",
    CampaignStatus.PUBLISHED: "Đã công bố",
    CampaignStatus.CLOSED: "Đã kết thúc",
}


class Actor(StrEnum):
    """Who a calendar milestone falls on."""

    SCHOOL = "school"
    BUREAU = "bureau"
    DEPARTMENT = "department"
