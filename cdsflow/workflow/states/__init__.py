"""One module per stage: what entering it requires (Vietnamese reasons when it cannot be entered)."""
from __future__ import annotations

from types import ModuleType

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.states import (
    committee_formed,
    external_review,
    plan_issued,
    proposal,
    published,
    recognition,
    self_assessment,
)

STATE_MODULES: dict[Stage, ModuleType] = {
    m.STAGE: m
    for m in (plan_issued, committee_formed, self_assessment, proposal, external_review, recognition, published)
}
