"""Đã công bố: the level is on the website and in the sector database (CSDL ngành).

Publication rests on a recognition decision: a numbered Quyết định công nhận that names the school.
"""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.context import TransitionContext, needs

STAGE = Stage.PUBLISHED
PRODUCES = ()
LOCKS = True


@needs("recognition_decision")
def recognition_decision_issued(ctx: TransitionContext) -> list[str]:
    if ctx.recognition_decision:
        return []
    return ["chưa có Quyết định công nhận (đã cấp số) cho cơ sở giáo dục này: hãy ban hành quyết định trước khi công bố"]
