"""Đã công bố: the level is on the website and in the sector database (CSDL ngành)."""
from __future__ import annotations

from cdsflow.workflow.context import TransitionContext
from cdsflow.workflow.stages import Stage
from cdsflow.workflow.states._rules import acted_by_supervisor

STAGE = Stage.PUBLISHED
PRODUCES = ()
LOCKS = True


def requirements(ctx: TransitionContext) -> list[str]:
    return acted_by_supervisor(ctx)
