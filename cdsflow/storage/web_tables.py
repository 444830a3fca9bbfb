"""Web tables: accounts bound to units, server-side sessions, login throttling, password links."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from cdsflow.storage.types import UTCDateTime


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class Account(SQLModel, table=True):
    __tablename__ = "web_account"
    id: int = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=24)  # see workflow/services/accounts.Role
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime | None = _ts()
    # Where set-password and reset links go; empty: the administrator gives the password by hand.
    email: str = Field(default="", max_length=320)


class WebSession(SQLModel, table=True):
    """The cookie carries a random token; only its SHA-256 is stored, so a leaked table opens nothing."""

    __tablename__ = "web_session"
    id: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)


class LoginThrottle(SQLModel, table=True):
    """Login tries per key in the current window, updated in one atomic statement per try.

    Keys: "pair:<username>|<address>" (locks that pair only), "addr:<address>" (one address
    guessing many names), "user:<username>" (failures from browsers the account never logged
    in from: spaces their password checks out, see services/accounts.authenticate),
    "dev:<device hash>" (a known browser's own typos). Kept in the database so every server
    process counts the same tries.
    """

    __tablename__ = "web_login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    tries: int = 0
    window_start: datetime = _ts(nullable=False)
    # "user:" rows: the earliest moment an unknown browser's password is checked for this account.
    next_at: datetime | None = _ts()
    last_client: str = Field(default="", max_length=64)  # shown to the administrator


class KnownDevice(SQLModel, table=True):
    """A browser that logged in to an account with the right password: its cookie carries a random
    token, only the SHA-256 is stored. Guesses from elsewhere never slow it down."""

    __tablename__ = "web_known_device"
    id: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    created_at: datetime = _ts(nullable=False)
    last_used_at: datetime = _ts(nullable=False)


class PasswordToken(SQLModel, table=True):
    """A set-password or reset link: only the SHA-256 of its random token is stored; it works once,
    until `expires_at`, and a newer link or a new password makes the older ones void."""

    __tablename__ = "web_password_token"
    id: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    purpose: str = Field(max_length=16)  # "setup" (new account) | "reset" (forgotten password)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    used_at: datetime | None = _ts()
