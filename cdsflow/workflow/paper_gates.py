"""When a paper may be issued: pure checks of the gates declared in document_types.yaml.

The documents service gathers the facts (`PaperFacts`, per school, or `CampaignFacts` for an
authority's campaign-wide paper) and asks `refusals`; the CLI, the web and bulk generation all go
through it. Each requirement is a pure function returning a Vietnamese reason, or '' when met.
"""
from __future__ import annotations

from cdsflow.kernel.stages import Stage
from cdsflow.workflow.document_types import document_types

# The facts and the refusal are part of this module's interface (services and web import them here).
from cdsflow.workflow.paper_requirements import CAMPAIGN_VARIANTS as CAMPAIGN_VARIANTS
from cdsflow.workflow.paper_requirements import REQUIREMENTS as REQUIREMENTS
from cdsflow.workflow.paper_requirements import CampaignFacts as CampaignFacts
from cdsflow.workflow.paper_requirements import PaperFacts as PaperFacts
from cdsflow.workflow.paper_requirements import PaperRefused as PaperRefused


def stages_for(code: str) -> tuple[Stage, ...]:
    return document_types()[code].stages


def refusals(code: str, facts: PaperFacts, *, draft: bool = False) -> list[str]:
    """Why `code` may not be issued for this school now (empty: it may)."""
    dtype = document_types()[code]
    out = []
    if not draft and dtype.stages and facts.stage not in {s.value for s in dtype.stages}:
        try:
            label = Stage(facts.stage).label.lower()
        except ValueError:
            label = facts.stage
        out.append(f"hồ sơ đang ở giai đoạn «{label}»; văn bản này chỉ ban hành ở giai đoạn: "
                   + ", ".join(f"«{s.label.lower()}»" for s in dtype.stages))
    for name in dtype.requires:
        req = REQUIREMENTS[name]
        if req.scope != "school" or (draft and req.final_only):
            continue
        reason = req.check(facts)
        if reason:
            out.append(reason)
    return out


def campaign_refusals(code: str, facts: CampaignFacts) -> list[str]:
    """Why the authority's campaign-wide paper `code` may not be issued now."""
    out = []
    for name in document_types()[code].requires:
        check = CAMPAIGN_VARIANTS.get(name) or (REQUIREMENTS[name].check if REQUIREMENTS[name].scope == "campaign"
                                                else None)
        reason = check(facts) if check else ""
        if reason:
            out.append(reason)
    return out


def refuse(code: str, who: str, reasons: list[str], *, cli: str = "") -> None:
    """Raise `PaperRefused` naming the paper and the school/campaign, when there are reasons; `cli`: how
    to fix it at the command line (said by the CLI only)."""
    if not reasons:
        return
    name = document_types()[code].name
    if len(reasons) == 1:  # one reason reads best in the message itself
        err = PaperRefused(f"Chưa ban hành được {name} cho {who}: {reasons[0]}", cli=cli)
    else:
        err = PaperRefused(f"Chưa ban hành được {name} cho {who}", details=reasons, cli=cli)
    err.reasons = list(reasons)
    raise err
