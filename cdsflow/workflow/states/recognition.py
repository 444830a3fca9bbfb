"""Đã công nhận: decided by the supervisor, never by the person who proposed."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext
from cdsflow.workflow.stages import Stage
from cdsflow.workflow.states._rules import acted_by_supervisor, not_the_proposer

STAGE = Stage.RECOGNITION
PRODUCES = ("qd_cong_nhan", "giay_chung_nhan")
LOCKS = True


def requirements(ctx: TransitionContext) -> list[str]:
    return acted_by_supervisor(ctx) + not_the_proposer(ctx)
