"""The requirements a paper may declare in document_types.yaml (`requires:`), as pure checks.

Each requirement is a pure function of the facts the documents service gathers (`PaperFacts` per
school, `CampaignFacts` for an authority's campaign-wide paper) returning a Vietnamese reason, or ''
when met. The catalogue (document_types) validates its names against this table; paper_gates asks it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdsflow.kernel.errors import InvalidInput


class PaperRefused(InvalidInput):
    """The paper would say something that is not (yet) true; `reasons` lists why."""

    reasons: list[str] = []


@dataclass(frozen=True)
class PaperFacts:
    """What is stored about one school's file, as far as papers care."""

    stage: str
    has_chair: bool = False
    has_secretary: bool = False
    self_answered: bool = False
    self_unscored: int = 0  # items of the self-assessment still unscored
    meeting_recorded: bool = False
    proposal_count: int = 0
    recognised: bool = False  # a `recognise` step is in the history
    external_answered: bool = False
    override: bool = False  # recognised without external scores, with a written reason
    decision_number: str = ""  # the numbered QĐ công nhận that lists the school ('' if none)
    external_complete: bool = False  # the review team scored every item
    visit_scheduled: bool = False  # the team's visit to the school is in its schedule
    steering_formed: bool = False  # the issuing unit stored its steering group (criterion 2.1)


@dataclass(frozen=True)
class CampaignFacts:
    """What an authority's campaign-wide paper rests on."""

    schools: int = 0  # schools at the stages the paper lists
    team_formed: bool = False
    recognised_without_results: tuple[str, ...] = ()  # listed schools whose recognised results are missing
    reviewed: int = 0  # schools the review team scored in full
    recognised_count: int = 0  # schools with a recognition
    has_superior: bool = False  # the issuer has a unit above it to report to
    steering_formed: bool = False  # the issuing unit stored its steering group
    steering_units: int = 0  # units of the campaign (the issuer included) with a stored steering group
    # the decisions in force that already list every school the paper would list ("Quyết định số …")
    already_decided: tuple[str, ...] = ()
    one_school: bool = False  # the paper is asked for one named school (`--school`), not the campaign


def _committee(f: PaperFacts) -> str:
    if f.has_chair and f.has_secretary:
        return ""
    return "Hội đồng tự đánh giá chưa được thành lập đủ (cần Chủ tịch và Thư ký)"


def _self_scored(f: PaperFacts) -> str:
    if not f.self_answered:
        return "trường chưa có điểm tự đánh giá nào được lưu"
    if f.self_unscored:
        return f"còn {f.self_unscored} mục chưa chấm điểm tự đánh giá"
    return ""


def _meeting(f: PaperFacts) -> str:
    return "" if f.meeting_recorded else ("Hội đồng chưa ghi thông tin cuộc họp (thời gian, địa điểm, thành phần, "
                                          "biểu quyết, kết luận): ghi tại trang hồ sơ của trường hoặc "
                                          "«cdsflow committee meeting»")


def _proposal(f: PaperFacts) -> str:
    return "" if f.proposal_count > 0 else "trường chưa gửi tờ trình đề nghị đánh giá ngoài"


def _recognised(f: PaperFacts) -> str:
    if not f.recognised:
        return "trường chưa được công nhận"
    if not f.external_answered and not f.override:
        return "trường được công nhận nhưng chưa có điểm đánh giá ngoài"
    return ""


def _decision(f: PaperFacts) -> str:
    return "" if f.decision_number else "chưa có Quyết định công nhận đã cấp số có tên trường này"


def _some_school(c: CampaignFacts) -> str:
    if c.schools or c.already_decided:  # already decided: `_not_decided` names the decision
        return ""
    return "trường chưa ở giai đoạn công nhận" if c.one_school else "không có trường nào ở giai đoạn văn bản này nói tới"


def _not_decided(c: CampaignFacts) -> str:
    """A school is recognised by one decision in force: a second one waits until it is voided or replaced."""
    if c.schools or not c.already_decided:
        return ""
    whom = "trường này" if c.one_school else "mọi trường đã được công nhận"
    return (f"đã có {'; '.join(c.already_decided)} công nhận {whom}: hủy hoặc thay thế quyết định đó "
            "(--replace kèm --reason) trước khi ban hành quyết định khác")


def _team(c: CampaignFacts) -> str:
    return "" if c.team_formed else ("chưa có Đoàn đánh giá ngoài: hãy thành lập Đoàn đánh giá ngoài (trang "
                                     "«Đoàn đánh giá ngoài» hoặc «cdsflow team set»)")


def _recognised_all(c: CampaignFacts) -> str:
    if not c.recognised_without_results:
        return ""
    return "trường đã công nhận nhưng thiếu kết quả công nhận: " + ", ".join(c.recognised_without_results)


def _external_scored(f: PaperFacts) -> str:
    return "" if f.external_complete else "đoàn đánh giá ngoài chưa chấm đủ điểm đánh giá ngoài mọi mục"


def _visit(f: PaperFacts) -> str:
    return "" if f.visit_scheduled else ("chưa có lịch làm việc của đoàn tại trường (ngày, buổi): xếp lịch tại trang "
                                         "«Đoàn đánh giá ngoài» hoặc «cdsflow team visit»")


_STEERING = ("đơn vị chưa lưu danh sách bộ phận chỉ đạo, phụ trách chuyển đổi số (có một Trưởng ban): "
             "«cdsflow docs steering MÃ_ĐƠN_VỊ tệp.csv»")


def _steering(f: PaperFacts | CampaignFacts) -> str:
    return "" if f.steering_formed else _STEERING


def _some_reviewed(c: CampaignFacts) -> str:
    return "" if c.reviewed else "chưa có trường nào được đoàn chấm đủ điểm đánh giá ngoài"


def _some_recognised(c: CampaignFacts) -> str:
    return "" if c.recognised_count else "chưa có trường nào được công nhận"


def _superior(c: CampaignFacts) -> str:
    return "" if c.has_superior else "đơn vị ban hành chưa có cơ quan quản lý cấp trên để gửi báo cáo"


def _some_steering(c: CampaignFacts) -> str:
    return "" if c.steering_units else "chưa đơn vị nào lưu danh sách bộ phận chỉ đạo, phụ trách chuyển đổi số"


@dataclass(frozen=True)
class Requirement:
    check: Callable[..., str]
    scope: str  # school | campaign
    final_only: bool = False  # a draft may go without it (the draft shows blanks)


REQUIREMENTS: dict[str, Requirement] = {
    "committee_formed": Requirement(_committee, "school"),
    "self_scored": Requirement(_self_scored, "school"),
    "meeting_recorded": Requirement(_meeting, "school", final_only=True),
    "proposal_sent": Requirement(_proposal, "school", final_only=True),
    "recognised": Requirement(_recognised, "school"),
    "recognition_decision": Requirement(_decision, "school", final_only=True),
    "some_school": Requirement(_some_school, "campaign"),
    "not_decided": Requirement(_not_decided, "campaign"),
    "team_formed": Requirement(_team, "campaign"),
    "external_scored": Requirement(_external_scored, "school"),
    "visit_scheduled": Requirement(_visit, "school", final_only=True),
    "steering_formed": Requirement(_steering, "school"),
    "some_reviewed": Requirement(_some_reviewed, "campaign"),
    "some_recognised": Requirement(_some_recognised, "campaign"),
    "has_superior": Requirement(_superior, "campaign"),
    "some_steering": Requirement(_some_steering, "campaign"),
}
# `recognised` of a campaign-wide paper: every school it lists has recognised results.
CAMPAIGN_VARIANTS: dict[str, Callable[..., str]] = {"recognised": _recognised_all}
CAMPAIGN_VARIANTS["steering_formed"] = _steering  # an authority's own steering group
