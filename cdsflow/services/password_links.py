"""Set-password and reset links sent by mail: issue, check, spend (single use, expiring, stored hashed).

A link carries a random token; the database keeps only its SHA-256, so a leaked table opens
nothing. The mail is raised as an event (`PasswordLinksIssued`), which `services/notices.py` turns
into outbox rows like every other mail, in the same transaction (the worker delivers it).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, func, or_, update
from sqlmodel import col, select

from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import accounts as account_svc
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.web_tables import Account, PasswordToken
from cdsflow.workflow import events
from cdsflow.workflow.events import PasswordLink, PasswordLinksIssued

SETUP = "setup"
RESET = "reset"
LIFETIME = {SETUP: timedelta(days=7), RESET: timedelta(hours=2)}
KIND = {SETUP: "account_setup", RESET: "password_reset"}
# Reset requests that send a mail, per window: per address (a script filling the form) and per
# account (a person's inbox flooded). Past them the page answers the same and sends nothing.
RESETS_PER_ADDRESS = 10
RESETS_PER_ACCOUNT = 3
LINK_PATH = "/login/reset"
DEAD_LINK = ("Liên kết đặt mật khẩu này không còn dùng được (đã dùng, đã hết hạn hoặc đã có liên kết mới hơn). "
             "Hãy dùng «Quên mật khẩu?» ở trang đăng nhập để nhận liên kết mới.")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}?token={token}"


def link_rows(account: Account, purpose: str, *, now: datetime, unit_name: str = "") -> tuple[dict[str, Any], PasswordLink]:
    """(token row, link event) of a new link for `account`: not written. The bulk creation writes
    thousands of them in a few statements and raises one event for them all."""
    token = secrets.token_urlsafe(32)
    expires = now + LIFETIME[purpose]
    token_row: dict[str, Any] = {"id": _token_id(token), "account_id": account.id, "purpose": purpose, "created_at": now,
                 "expires_at": expires, "used_at": None}
    link = PasswordLink(account_id=account.id, username=account.username, full_name=account.full_name,
                        role=account.role, email=account.email, unit_id=account.unit_id, purpose=purpose,
                        token=token, token_id=token_row["id"], expires_at=expires, unit_name=unit_name)
    return token_row, link


def send_link(uow: UnitOfWork, account: Account, purpose: str, *, base_url: str | None = None,
              now: datetime | None = None, unit_name: str = "") -> int:
    """A new link for `account` mailed to its address (older unused links of the account become
    void). Returns the number of mails raised. The caller commits (with what else it wrote)."""
    if not account.email:
        raise InvalidInput(f"Tài khoản «{account.username}» chưa có địa chỉ thư: không gửi được liên kết.")
    now = _now(now)
    uow.session.execute(delete(PasswordToken).where(col(PasswordToken.account_id) == account.id,
                                                    col(PasswordToken.used_at).is_(None)))
    token_row, link = link_rows(account, purpose, now=now, unit_name=unit_name)
    uow.session.add(PasswordToken(**token_row))
    events.publish(uow.session, PasswordLinksIssued((link,), now, base_url))
    return 1


def send_setup_link(uow: UnitOfWork, username: str, *, base_url: str | None = None,
                    now: datetime | None = None) -> int:
    """An administrator's "send the set-password link again" (or for an account made by hand)."""
    account = account_svc.find_account(uow, username)
    n = send_link(uow, account, SETUP, base_url=base_url, now=now)
    uow.commit()
    return n


def request_reset(uow: UnitOfWork, login: str, *, client: str, base_url: str | None = None,
                  now: datetime | None = None) -> None:
    """"Quên mật khẩu?": a username or an address; the answer never tells whether it exists.

    Sends a reset link to each active account that matches and has an address, within the
    per-address and per-account limits; otherwise nothing, silently."""
    now = _now(now)
    login = (login or "").strip()[:320]
    if not login:
        raise InvalidInput("Hãy nhập tên đăng nhập hoặc địa chỉ thư của tài khoản.")
    if account_svc._bump(uow, f"reset:{(client or '?')[:64]}", now) > RESETS_PER_ADDRESS:
        uow.commit()
        return
    matches = uow.session.execute(select(Account).where(
        col(Account.active).is_(True), col(Account.email) != "",
        or_(col(Account.username) == account_svc.normalise_username(login)[:64], func.lower(col(Account.email)) == login.lower()),
    ).order_by(col(Account.id)).limit(5)).scalars().all()
    for account in matches:
        if account_svc._bump(uow, f"resetacct:{account.id}", now) <= RESETS_PER_ACCOUNT:
            send_link(uow, account, RESET, base_url=base_url, now=now)
    uow.commit()


def account_for_link(uow: UnitOfWork, token: str, *, now: datetime | None = None) -> tuple[Account, str]:
    """The account a still-valid link is for, and the link's purpose; else a clear refusal."""
    if not token or len(token) > 200:
        raise InvalidInput(DEAD_LINK)
    row = uow.session.execute(select(PasswordToken, Account).join(Account, col(Account.id) == PasswordToken.account_id)
                              .where(PasswordToken.id == _token_id(token))).first()
    if row is None or row[0].used_at is not None or row[0].expires_at <= _now(now) or not row[1].active:
        raise InvalidInput(DEAD_LINK)
    return row[1], row[0].purpose


def spend_link(uow: UnitOfWork, token: str, password: str, confirm: str, *, now: datetime | None = None) -> Account:
    """Set the password through a link; the link is spent in the same transaction (a second use,
    even a concurrent one, is refused). Ends every session of the account."""
    now = _now(now)
    account, _purpose = account_for_link(uow, token, now=now)
    spent: CursorResult[Any] = uow.session.execute(update(PasswordToken).where(  # type: ignore[assignment]  # an UPDATE
        col(PasswordToken.id) == _token_id(token), col(PasswordToken.used_at).is_(None), col(PasswordToken.expires_at) > now,
    ).values(used_at=now))
    if spent.rowcount != 1:
        uow.rollback()
        raise InvalidInput(DEAD_LINK)
    try:
        account_svc.set_password(uow, account, password, confirm=confirm)
    except InvalidInput:
        uow.rollback()  # the link stays usable for a second try
        raise
    uow.commit()
    return account
