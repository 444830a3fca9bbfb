"""What the campaign's own steps require of its schools (counts per stage, child campaigns included)."""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.context import TransitionContext, needs


def _n(ctx: TransitionContext, *stages: Stage) -> int:
    return sum(ctx.stage_counts.get(s, 0) for s in stages)


@needs("stage_counts")
def no_school_in_review(ctx: TransitionContext) -> list[str]:
    n = _n(ctx, Stage.PROPOSAL, Stage.EXTERNAL_REVIEW)
    if n:
        return [f"còn {n} cơ sở giáo dục đã gửi tờ trình hoặc đang đánh giá ngoài: hãy công nhận hoặc trả lại trước"]
    return []


@needs("stage_counts")
def no_school_awaiting_publication(ctx: TransitionContext) -> list[str]:
    n = _n(ctx, Stage.RECOGNITION)
    if n:
        return [f"còn {n} cơ sở giáo dục đã công nhận nhưng chưa công bố"]
    return []
