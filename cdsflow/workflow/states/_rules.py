"""Guards shared by several stages."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext


def acted_by_school(ctx: TransitionContext) -> list[str]:
    if ctx.actor.unit_id is not None and ctx.actor.unit_id != ctx.school_id:
        return ["chỉ chính cơ sở giáo dục mới thực hiện được bước này"]
    return []


def acted_by_supervisor(ctx: TransitionContext) -> list[str]:
    if ctx.actor.unit_id is None or ctx.actor.unit_id not in ctx.supervisors:
        return ["người thực hiện phải thuộc đơn vị quản lý cấp trên của cơ sở giáo dục"]
    return []


def not_the_proposer(ctx: TransitionContext) -> list[str]:
    if ctx.proposed_by and ctx.actor.name.strip().casefold() == ctx.proposed_by.strip().casefold():
        return [f"người đã gửi tờ trình ({ctx.proposed_by}) không được tự phê duyệt hay công nhận"]
    return []
