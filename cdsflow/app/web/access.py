"""Who may see and do what: the role table (data) and the unit scope checks (a school sees itself,
a bureau its schools). The state machine still checks each step's own rules (acted_by_school…)."""
from __future__ import annotations

from sqlalchemy import select

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign
from cdsflow.workflow.errors import Forbidden, NotFound
from cdsflow.workflow.services.accounts import Principal, Role
from cdsflow.workflow.services.units import supervisor_chain

R = Role
# Action → roles allowed. Scope (which units) is checked separately.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "view_campaigns": frozenset({R.ADMIN, R.OFFICER, R.REVIEWER, R.CLERK}),
    "launch_campaign": frozenset({R.OFFICER}),
    "advance_campaign": frozenset({R.OFFICER}),
    "bulk": frozenset({R.OFFICER}),
    "remind": frozenset({R.OFFICER}),
    "view_assessment": frozenset(Role),
    "set_committee": frozenset({R.SCHOOL_HEAD}),
    "form_committee": frozenset({R.SCHOOL_HEAD}),
    "start_self_assessment": frozenset({R.SCHOOL_HEAD}),
    "submit_proposal": frozenset({R.SCHOOL_HEAD}),
    "start_review": frozenset({R.OFFICER, R.REVIEWER}),
    "return_for_supplement": frozenset({R.OFFICER, R.REVIEWER}),
    "recognise": frozenset({R.OFFICER}),
    "publish": frozenset({R.OFFICER}),
    "manage_accounts": frozenset({R.ADMIN}),
}

DENIED = "Tài khoản của bạn không có quyền thực hiện việc này."
OUT_OF_SCOPE = "Hồ sơ này không thuộc phạm vi đơn vị của bạn."


def allowed(principal: Principal, action: str) -> bool:
    return principal.role in PERMISSIONS[action]


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
    a = uow.session.get(Assessment, assessment_id, populate_existing=True)
    if a is None or not unit_in_scope(uow, principal, a.school_id):
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    return a


def campaign_for(uow: UnitOfWork, principal: Principal, campaign_id: int) -> Campaign:
    require(principal, "view_campaigns")
    c = uow.session.get(Campaign, campaign_id)
    if c is None or not unit_in_scope(uow, principal, c.issuer_id):
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}")
    return c


def visible_campaign_ids(uow: UnitOfWork, principal: Principal) -> list[int]:
    rows = uow.session.execute(select(Campaign.id, Campaign.issuer_id).order_by(Campaign.id.desc())).all()
    chains: dict[int, bool] = {}
    out = []
    for cid, issuer in rows:
        if issuer not in chains:
            chains[issuer] = unit_in_scope(uow, principal, issuer)
        if chains[issuer]:
            out.append(cid)
    return out
