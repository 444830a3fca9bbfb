"""Pure checks shared by several steps (who may act is the rulebook's: `workflow/rulebook.py`)."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext, needs


@needs("return_refusal", "extra_send")
def resend_possible(ctx: TransitionContext) -> list[str]:
    """A return asks the school to send again: refused when it could not, unless the officer grants
    one more send explicitly."""
    if ctx.return_refusal and not ctx.extra_send:
        return [f"trả hồ sơ thì trường không gửi lại được: {ctx.return_refusal} Muốn trả hồ sơ, cán bộ cho phép "
                "gửi thêm một lần (ghi vào lịch sử hồ sơ)"]
    return []


@needs("proposed_by")
def not_the_proposer(ctx: TransitionContext) -> list[str]:
    if ctx.proposed_by and ctx.actor.name.strip().casefold() == ctx.proposed_by.strip().casefold():
        return [f"người đã gửi tờ trình ({ctx.proposed_by}) không được tự phê duyệt hay công nhận"]
    return []


@needs("reason")
def reason_given(ctx: TransitionContext) -> list[str]:
    """Reviewers send a file back (yêu cầu bổ sung) always with a written reason."""
    if not ctx.reason.strip():
        return ["phải ghi rõ lý do yêu cầu bổ sung"]
    return []
