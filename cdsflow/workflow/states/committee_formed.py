"""Hội đồng tự đánh giá đã thành lập: needs exactly one chair and at least one secretary."""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.context import TransitionContext, needs

STAGE = Stage.COMMITTEE_FORMED
PRODUCES = ("qd_hoi_dong",)
LOCKS = False


@needs("committee")
def committee_problems(ctx: TransitionContext) -> list[str]:
    """The committee rule guards forming the committee, starting the self-assessment and the
    proposal (a committee emptied since must be mended first)."""
    return committee_role_problems([m.role for m in ctx.committee])


def committee_role_problems(roles: list[str]) -> list[str]:
    """The committee rule, written once (papers ask it too): one Chủ tịch, at least one Thư ký."""
    problems = []
    if not roles:
        return ["chưa có danh sách Hội đồng tự đánh giá"]
    if roles.count("chair") == 0:
        problems.append("Hội đồng chưa có Chủ tịch")
    elif roles.count("chair") > 1:
        problems.append("Hội đồng chỉ được có một Chủ tịch")
    if roles.count("secretary") == 0:
        problems.append("Hội đồng chưa có Thư ký")
    return problems
