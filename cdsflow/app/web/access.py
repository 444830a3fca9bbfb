"""The web's view of the rulebook: menus ask `allowed()` (can this role ever do it), and scope
checks (a school sees itself, a bureau its schools). Who may do what is `workflow/rulebook.py`;
the use-cases ask it again with every fact, so a page never decides legality on its own."""
from __future__ import annotations

from cdsflow.kernel.errors import Forbidden, NotFound
from cdsflow.services import assessments as assessment_svc
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services.accounts import Principal, Role
from cdsflow.services.units import supervisor_chain
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef

DENIED = "Tài khoản của bạn không có quyền thực hiện việc này."
OUT_OF_SCOPE = "Hồ sơ này không thuộc phạm vi đơn vị của bạn."


def actor(p: Principal) -> ActorRef:
    """The logged-in person as the rulebook sees them: name, unit, role and login."""
    return ActorRef(p.actor_name, p.unit_id, p.role, p.account_id)


def allowed(principal: Principal, action: str) -> bool:
    return rulebook.role_may(principal.role, action)


def require(principal: Principal, action: str) -> None:
    if not allowed(principal, action):
        raise Forbidden(DENIED)


def unit_in_scope(uow: UnitOfWork, principal: Principal, unit_id: int) -> bool:
    """The principal's own unit or one under it (administrators see everything)."""
    if principal.role == Role.ADMIN and principal.unit_id is None:
        return True
    if principal.unit_id is None:
        return False
    if unit_id == principal.unit_id:
        return True
    if principal.role.school_side:
        return False
    return principal.unit_id in supervisor_chain(uow, unit_id)


def assessment_for(uow: UnitOfWork, principal: Principal, assessment_id: int) -> Assessment:
    """The assessment if the principal may see it. Out of scope reads as not found: ids leak nothing."""
    a = assessment_svc.find_assessment(uow, assessment_id)  # NotFound in the same words as out of scope
    if not unit_in_scope(uow, principal, a.school_id):
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    return a


def campaign_for(uow: UnitOfWork, principal: Principal, campaign_id: int) -> Campaign:
    require(principal, "view_campaigns")
    c = campaign_svc.get_campaign(uow, campaign_id)  # NotFound in the same words as out of scope
    if not unit_in_scope(uow, principal, c.issuer_id):
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return c


def visible_campaign_ids(uow: UnitOfWork, principal: Principal) -> list[int]:
    rows = campaign_svc.campaign_issuers(uow)
    chains: dict[int, bool] = {}
    out = []
    for cid, issuer in rows:
        if issuer not in chains:
            chains[issuer] = unit_in_scope(uow, principal, issuer)
        if chains[issuer]:
            out.append(cid)
    return out
