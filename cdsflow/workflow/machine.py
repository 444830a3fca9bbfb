"""The per-school state machine: built once per process, bound to nothing.

Assessments keep their state in a column; an event is fired on a light object carrying that
state (`transitions` reads and writes `obj.state`), so there is never a Machine per row and never
`add_model` (quadratic over many rows). The one guard asks the rulebook (`rulebook.py`: who may take
the step, in which campaign status, what it requires) and raises `TransitionRefused` with every
reason at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from transitions import EventData, Machine, MachineError

from cdsflow.kernel.errors import TransitionRefused
from cdsflow.kernel.stages import STAGE_ORDER, CampaignStatus, Stage
from cdsflow.workflow.context import MissingFacts, TransitionContext, strict_facts
from cdsflow.workflow.rulebook import CAMPAIGN_ACTIONS, MISSING_TEXT, enforce
from cdsflow.workflow.states import STATE_MODULES


@dataclass(frozen=True)
class Step:
    trigger: str
    source: Stage
    dest: Stage
    label: str  # what the user asked for, in Vietnamese


STEPS: tuple[Step, ...] = (
    Step("form_committee", Stage.PLAN_ISSUED, Stage.COMMITTEE_FORMED, "xác nhận thành lập Hội đồng tự đánh giá"),
    Step("start_self_assessment", Stage.COMMITTEE_FORMED, Stage.SELF_ASSESSMENT, "bắt đầu tự đánh giá"),
    Step("submit_proposal", Stage.SELF_ASSESSMENT, Stage.PROPOSAL, "gửi tờ trình đề nghị đánh giá ngoài"),
    Step("start_review", Stage.PROPOSAL, Stage.EXTERNAL_REVIEW, "tiếp nhận hồ sơ, bắt đầu đánh giá ngoài"),
    Step("return_for_supplement", Stage.EXTERNAL_REVIEW, Stage.SELF_ASSESSMENT, "trả hồ sơ, yêu cầu bổ sung"),
    Step("recognise", Stage.EXTERNAL_REVIEW, Stage.RECOGNITION, "công nhận mức độ chuyển đổi số"),
    Step("publish", Stage.RECOGNITION, Stage.PUBLISHED, "công bố kết quả"),
)
STEP_BY_TRIGGER = {s.trigger: s for s in STEPS}
# The forward step from each stage ("advance"); the return loop is asked for by name.
FORWARD: dict[Stage, Step] = {s.source: s for s in STEPS if s.trigger != "return_for_supplement"}


class _Subject:
    """What `transitions` needs: an attribute named `state`."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _guard(event: EventData) -> bool:
    step = STEP_BY_TRIGGER[event.event.name]
    enforce(step.trigger, event.kwargs["ctx"], step.label)
    return True


@cache
def assessment_machine() -> Machine:
    return Machine(
        model=None,
        states=[s.value for s in STAGE_ORDER],
        transitions=[
            {"trigger": s.trigger, "source": s.source.value, "dest": s.dest.value, "conditions": [_guard]}
            for s in STEPS
        ],
        initial=Stage.PLAN_ISSUED.value,
        send_event=True,
        auto_transitions=False,
    )


# History lines that are not steps of the machine, and their wording.
_OTHER_HISTORY = {"launch": "phát động kế hoạch", "set_committee": "cập nhật Hội đồng tự đánh giá"}


def history_text(trigger: str, reason: str = "") -> str:
    """One history line as a person reads it: the step in Vietnamese, then the reason if any."""
    step = STEP_BY_TRIGGER.get(trigger)
    if step is None:
        text = reason or _OTHER_HISTORY.get(trigger, trigger)
    else:
        text = step.label + (f": {reason}" if reason else "")
    return text[:1].upper() + text[1:]


def fire(state: str, trigger: str, ctx: TransitionContext) -> Stage:
    """Check and perform one step from `state`; returns the new stage or raises TransitionRefused."""
    step = STEP_BY_TRIGGER.get(trigger)
    if step is None:
        raise TransitionRefused(f"Thao tác không tồn tại: {trigger}")
    # transitions treats Enum members by name; hand it the plain value.
    subject = _Subject(Stage(state).value)
    try:
        assessment_machine().events[trigger].trigger(subject, ctx=ctx)
    except MachineError:
        raise TransitionRefused(
            f"Không thể {step.label} khi hồ sơ đang ở giai đoạn «{Stage(state).label}» "
            f"(cần ở giai đoạn «{step.source.label}»)."
        ) from None
    return Stage(subject.state)


def forward_trigger(state: str) -> str:
    step = FORWARD.get(Stage(state))
    if step is None:
        raise TransitionRefused(f"Hồ sơ đã ở giai đoạn cuối («{Stage(state).label}»).")
    return step.trigger


def legal_sources(trigger: str) -> list[str]:
    """States from which `trigger` may fire: what a bulk UPDATE's WHERE clause must say."""
    return [t.source for ts in assessment_machine().events[trigger].transitions.values() for t in ts]


def locks(stage: Stage) -> bool:
    locked: bool = STATE_MODULES[stage].LOCKS
    return locked


# --- the campaign's own, simpler lifecycle -------------------------------------------------------

CAMPAIGN_STEPS: dict[str, tuple[CampaignStatus, CampaignStatus, str]] = {
    "launch": (CampaignStatus.DRAFT, CampaignStatus.LAUNCHED, "phát động kế hoạch"),
    "start_review": (CampaignStatus.LAUNCHED, CampaignStatus.REVIEWING, "chuyển sang đánh giá ngoài"),
    "recognise": (CampaignStatus.REVIEWING, CampaignStatus.RECOGNISED, "công nhận kết quả"),
    "publish": (CampaignStatus.RECOGNISED, CampaignStatus.PUBLISHED, "công bố kết quả"),
    "close": (CampaignStatus.PUBLISHED, CampaignStatus.CLOSED, "kết thúc kế hoạch"),
}


@cache
def campaign_machine() -> Machine:
    return Machine(
        model=None,
        states=[s.value for s in CampaignStatus],
        transitions=[{"trigger": t, "source": a.value, "dest": b.value, "conditions": [_campaign_guard]}
                     for t, (a, b, _) in CAMPAIGN_STEPS.items()],
        initial=CampaignStatus.DRAFT.value,
        auto_transitions=False,
        send_event=True,
    )


def _campaign_guard(event: EventData) -> bool:
    ctx: TransitionContext | None = event.kwargs.get("ctx")
    action = CAMPAIGN_ACTIONS.get(event.event.name)
    if action is None:
        return True
    label = CAMPAIGN_STEPS[event.event.name][2]
    if ctx is None:  # fail closed: a step whose rule reads its schools is never taken blind
        if strict_facts():
            raise MissingFacts(f"campaign step {event.event.name!r} fired without facts")
        raise TransitionRefused(f"Không thể {label}:", details=[MISSING_TEXT.format("trạng thái các hồ sơ")])
    enforce(action, ctx, label)
    return True


def fire_campaign(status: str, trigger: str, ctx: TransitionContext | None = None) -> CampaignStatus:
    """One step of the campaign's lifecycle, checked against the rulebook with `ctx` (the service
    layer always gives it; without it every step but the launch is refused)."""
    if trigger not in CAMPAIGN_STEPS:
        raise TransitionRefused(f"Thao tác không tồn tại: {trigger}")
    source, _, label = CAMPAIGN_STEPS[trigger]
    subject = _Subject(CampaignStatus(status).value)
    try:
        campaign_machine().events[trigger].trigger(subject, ctx=ctx)
    except MachineError:
        raise TransitionRefused(
            f"Không thể {label} khi kế hoạch đang ở trạng thái «{CampaignStatus(status).label}» "
            f"(cần «{source.label}»)."
        ) from None
    return CampaignStatus(subject.state)
