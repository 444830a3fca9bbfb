"""Đã gửi tờ trình: every item scored, evidence where asked, inside the submission window/cap.

From here on the school's data is locked until reviewers return the file.
"""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.context import TransitionContext, needs

STAGE = Stage.PROPOSAL
PRODUCES = ("to_trinh",)
LOCKS = True


@needs("proposal_gaps", "submission_refusal")
def proposal_problems(ctx: TransitionContext) -> list[str]:
    problems = list(ctx.proposal_gaps)
    if ctx.submission_refusal:
        problems.append(ctx.submission_refusal)
    return problems
