"""The web's translation of the rulebook: who the logged-in person is (`actor`), what a menu may offer
(`allowed`), and reads turned from a refusal into 403 or 404. Who may read or do what is
`workflow/rulebook.py`, asked through `services/authorization.py`; nothing is decided here."""
from __future__ import annotations

from cdsflow.kernel.errors import Forbidden, NotFound
from cdsflow.services import authorization
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign
from cdsflow.workflow import rulebook
from cdsflow.workflow.context import ActorRef

DENIED = "Tài khoản của bạn không có quyền thực hiện việc này."


def actor(p: Principal) -> ActorRef:
    """The logged-in person as the rulebook sees them: name, unit, role and login."""
    return ActorRef(p.actor_name, p.unit_id, p.role, p.account_id)


def allowed(principal: Principal, action: str) -> bool:
    return rulebook.role_may(principal.role, action)


def require(principal: Principal, action: str) -> None:
    """403 unless the table lets this role take the action (the whole rule for system pages)."""
    try:
        authorization.check_role(actor(principal), action)
    except Forbidden:
        raise Forbidden(DENIED) from None


def unit_in_scope(uow: UnitOfWork, principal: Principal, unit_id: int, action: str = "view_unit") -> bool:
    return authorization.may_read_unit(uow.session, actor(principal), unit_id, action)


def assessment_for(uow: UnitOfWork, principal: Principal, assessment_id: int,
                   action: str = "view_assessment") -> Assessment:
    """The assessment if the principal may read it. Refused reads as not found: ids leak nothing."""
    try:
        return authorization.readable_assessment(uow.session, actor(principal), assessment_id, action)
    except Forbidden:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}") from None


def campaign_for(uow: UnitOfWork, principal: Principal, campaign_id: int, action: str = "view_campaigns") -> Campaign:
    require(principal, action)  # a role that never reads campaigns is told so (403)
    try:
        return authorization.readable_campaign(uow.session, actor(principal), campaign_id, action)
    except Forbidden:
        raise NotFound(f"Không tìm thấy kế hoạch số {campaign_id}") from None


def visible_campaign_ids(uow: UnitOfWork, principal: Principal) -> list[int]:
    return authorization.readable_campaign_ids(uow.session, actor(principal))
