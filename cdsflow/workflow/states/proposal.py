"""Đã gửi tờ trình: every item scored, evidence where asked, inside the submission window/cap.

From here on the school's data is locked until reviewers return the file.
"""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext
from cdsflow.workflow.stages import Stage
from cdsflow.workflow.states._rules import acted_by_school

STAGE = Stage.PROPOSAL
PRODUCES = ("to_trinh",)
LOCKS = True


def requirements(ctx: TransitionContext) -> list[str]:
    problems = acted_by_school(ctx) + list(ctx.proposal_gaps)
    if ctx.submission_refusal:
        problems.append(ctx.submission_refusal)
    return problems
