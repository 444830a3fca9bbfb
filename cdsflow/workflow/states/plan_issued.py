"""Kế hoạch đã ban hành: the state every school starts in when a campaign is launched."""
from __future__ import annotations

from cdsflow.kernel.stages import Stage

STAGE = Stage.PLAN_ISSUED
PRODUCES = ("ke_hoach",)
LOCKS = False
