"""Đang đánh giá ngoài: the supervisor's team takes the file; the proposer cannot review it."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext
from cdsflow.workflow.stages import Stage
from cdsflow.workflow.states._rules import acted_by_supervisor, not_the_proposer

STAGE = Stage.EXTERNAL_REVIEW
PRODUCES = ("qd_doan_danh_gia",)
LOCKS = True


def requirements(ctx: TransitionContext) -> list[str]:
    return acted_by_supervisor(ctx) + not_the_proposer(ctx)
