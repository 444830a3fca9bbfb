"""Đang tự đánh giá: entered from a formed committee, or again when reviewers return the file."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext
from cdsflow.workflow.stages import Stage
from cdsflow.workflow.states._rules import acted_by_school, acted_by_supervisor
from cdsflow.workflow.states.committee_formed import committee_problems

STAGE = Stage.SELF_ASSESSMENT
PRODUCES = ("bien_ban", "bao_cao", "qd_phe_duyet")
LOCKS = False


def requirements(ctx: TransitionContext) -> list[str]:
    return acted_by_school(ctx) + committee_problems(ctx)


def return_requirements(ctx: TransitionContext) -> list[str]:
    """Reviewers send the file back (yêu cầu bổ sung): only the supervisor, always with a reason."""
    problems = acted_by_supervisor(ctx)
    if not ctx.reason.strip():
        problems.append("phải ghi rõ lý do yêu cầu bổ sung")
    return problems
