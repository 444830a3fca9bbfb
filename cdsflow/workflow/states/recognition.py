"""Đã công nhận: the level recognised is the external review's.

Recognition rests on the review: every item of the index set scored by the review team, or the
supervising unit's explicit override with a written reason (kept in the history and printed in
the decision's annex), never silently the school's own self-assessment.
"""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.context import TransitionContext, needs

STAGE = Stage.RECOGNITION
PRODUCES = ("qd_cong_nhan", "giay_chung_nhan")
LOCKS = True


@needs("external_unscored", "override_reason")
def review_complete_or_override(ctx: TransitionContext) -> list[str]:
    if ctx.external_unscored == () or ctx.override_reason.strip():
        return []
    if ctx.external_unscored is None:
        missing = "đoàn đánh giá ngoài chưa nhập điểm mục nào"
    else:
        shown = ", ".join(ctx.external_unscored[:8]) + (" …" if len(ctx.external_unscored) > 8 else "")
        missing = f"đoàn đánh giá ngoài chưa chấm {len(ctx.external_unscored)} mục ({shown})"
    return [f"{missing}; công nhận cần kết quả đánh giá ngoài đủ mọi mục, hoặc đơn vị quản lý ghi rõ lý do "
            "công nhận không qua đánh giá ngoài đầy đủ"]
