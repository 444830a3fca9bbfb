"""Accounts bound to units: create, edit, list, authenticate (argon2, rate-limited), server-side
sessions, unlock, change one's own password. Links by mail live in password_links.py."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from math import ceil
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, case, delete, insert, literal, or_, update
from sqlmodel import col, select

from cdsflow.kernel.errors import CdsError, Forbidden, InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.types import UTCDateTime
from cdsflow.storage.web_tables import Account, KnownDevice, LoginThrottle, PasswordToken, WebSession
from cdsflow.workflow.roles import ROLE_LABELS, Role  # noqa: F401 (re-exported)
from cdsflow.workflow.units import UnitKind

# Which kind of unit each role may belong to (an administrator belongs to none or to any).
ROLE_UNIT_KINDS: dict[Role, set[UnitKind]] = {
    Role.ADMIN: set(UnitKind),
    Role.OFFICER: {UnitKind.DEPARTMENT, UnitKind.BUREAU},
    Role.REVIEWER: {UnitKind.DEPARTMENT, UnitKind.BUREAU},
    Role.SCHOOL_HEAD: {UnitKind.SCHOOL},
    Role.COMMITTEE: {UnitKind.SCHOOL},
    Role.CLERK: set(UnitKind),
}

# Rate limiting (see authenticate): tries counted over a window per (username, address) pair,
# per address, per account from unknown browsers, and per known browser.
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5  # per (username, client address) pair, and per known browser
# Per address: past this, failing tries are slowed down and refused, but a correct password
# still gets in: a training room behind one router must not lock out those who type correctly.
MAX_FAILURES_PER_CLIENT = 20
# Per account, from browsers it never logged in from: past this many failures, such browsers'
# passwords are checked one at a time, spaced by a delay that doubles with each failure up to
# MAX_SPACING. Nobody is ever locked: the owner's own browser skips the spacing, and a new
# browser waits at most MAX_SPACING between two checks.
SLOW_AFTER_PER_USER = 10
MAX_SPACING = timedelta(seconds=30)
CLAIM = timedelta(seconds=5)  # a claimed check slot, while the (slow) password check runs
DEVICE_LIFETIME = timedelta(days=180)
MAX_SLOWDOWN = 2.0  # seconds
WAIT_MINUTES = int(WINDOW.total_seconds() // 60)
PAIR_LOCKED = f"Đăng nhập sai quá nhiều lần. Hãy thử lại sau {WAIT_MINUTES} phút."
ACCOUNT_SPACED = ("Tài khoản này đang bị thử mật khẩu sai nhiều lần từ nơi khác nên mỗi lần thử từ máy lạ phải cách "
                  "nhau; hãy thử lại sau {seconds} giây. Trên máy bạn đã từng đăng nhập, bạn vào được ngay; "
                  "cũng có thể dùng «Quên mật khẩu?».")
ADDRESS_SLOWED = ("Tên đăng nhập hoặc mật khẩu không đúng. Từ địa chỉ mạng này đã có quá nhiều lần đăng nhập sai "
                  "nên mỗi lần sai tiếp theo bị làm chậm; ai nhập đúng mật khẩu vẫn đăng nhập bình thường.")
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10

# Stored for an account whose owner has not set a password yet: no argon2 hash, so nothing
# verifies against it (and 54,000 new accounts cost no hashing).
NO_PASSWORD = "!unset"
log = logging.getLogger(__name__)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both answers take the same time. Hashed on the
# first login, not at import: an argon2 hash costs every CLI command up to a second otherwise.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("cdsflow-không-có-tài-khoản")
    return _DUMMY_HASH


def set_password_hasher(hasher: PasswordHasher) -> None:
    """Tests and benchmarks use cheap argon2 parameters; a hash keeps its own, so old ones still verify."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = None


class TooManyAttempts(CdsError):
    exit_code = 7


class LoginFailed(CdsError):
    exit_code = 8


@dataclass(frozen=True)
class Principal:
    """The logged-in person as every layer above sees them."""

    account_id: int
    username: str
    full_name: str
    role: Role
    unit_id: int | None
    unit_name: str
    unit_kind: UnitKind | None
    csrf_token: str

    @property
    def actor_name(self) -> str:
        # What the history and the "nobody approves what they proposed" guard compare.
        return f"{self.full_name} ({self.username})"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def normalise_username(value: str) -> str:
    return (value or "").strip().lower()


def clean_email(value: str | None, problems: list[str]) -> str:
    """One address or nothing; a wrong one is added to `problems`."""
    value = (value or "").strip()
    if not value:
        return ""
    addr = parseaddr(value)[1]
    if addr != value or "@" not in addr or len(addr) > 320 or any(c.isspace() for c in addr):
        problems.append(f"địa chỉ thư không hợp lệ: «{value}»")
        return ""
    return addr


def _validate_profile(uow: UnitOfWork, problems: list[str], *, full_name: str, role: str,
                      unit_code: str | None) -> tuple[str, Role | None, Unit | None]:
    """Name, role and unit checked together (create and edit share the rules)."""
    try:
        full_name = clean_text(full_name, field="họ và tên")
    except TextError as err:
        problems.append(str(err))
        full_name = ""
    if not full_name:
        problems.append("thiếu họ và tên")
    try:
        parsed: Role | None = Role(role)
    except ValueError:
        parsed = None
        problems.append(f"vai trò không rõ: «{role}» (dùng: {', '.join(r.value for r in Role)})")
    unit = None
    if unit_code:
        try:
            unit = get_unit(uow, unit_code)
        except NotFound as err:
            problems.append(str(err))
    if parsed is not None and parsed != Role.ADMIN and unit is None and not unit_code:
        problems.append(f"vai trò «{parsed.label}» phải gắn với một đơn vị")
    if parsed is not None and unit is not None and UnitKind(unit.kind) not in ROLE_UNIT_KINDS[parsed]:
        problems.append(f"vai trò «{parsed.label}» không thuộc được {UnitKind(unit.kind).label} «{unit.name}»")
    return full_name, parsed, unit


def create_account(
    uow: UnitOfWork,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str | None,
    unit_code: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
    commit: bool = True,
) -> Account:
    """Validate everything first; store nothing when one field is wrong.

    password None: the account gets no usable password; its owner sets one through a link
    (password_links.send_setup_link)."""
    problems: list[str] = []
    username = normalise_username(username)
    if not _USERNAME.match(username):
        problems.append(f"tên đăng nhập không hợp lệ: «{username}» (3–64 ký tự: chữ thường không dấu, số, . _ -)")
    full_name, parsed, unit = _validate_profile(uow, problems, full_name=full_name, role=role, unit_code=unit_code)
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append(f"mật khẩu phải dài ít nhất {MIN_PASSWORD} ký tự")
    email = clean_email(email, problems)
    if password is None and not email:
        problems.append("tài khoản không có mật khẩu cần một địa chỉ thư để nhận liên kết đặt mật khẩu")
    if uow.session.execute(select(Account.id).where(Account.username == username)).first():
        problems.append(f"tên đăng nhập «{username}» đã có")
    if problems:
        raise InvalidInput("Không tạo được tài khoản; chưa lưu gì:", details=problems)
    assert parsed is not None  # no problem: the role was read
    account = Account(username=username, full_name=full_name, role=parsed.value, unit_id=unit.id if unit else None,
                      password_hash=_hasher.hash(password) if password is not None else NO_PASSWORD,
                      created_at=_now(now), email=email)
    uow.session.add(account)
    if commit:
        uow.commit()
    else:
        uow.session.flush()
    return account


def get_account(uow: UnitOfWork, account_id: int) -> Account:
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Không tìm thấy tài khoản số {account_id}")
    return account


def find_account(uow: UnitOfWork, username: str) -> Account:
    account: Account | None = uow.session.execute(
        select(Account).where(Account.username == normalise_username(username))).scalar_one_or_none()
    if account is None:
        raise NotFound(f"Không tìm thấy tài khoản «{username}»")
    return account


def update_account(uow: UnitOfWork, account_id: int, *, full_name: str, email: str | None, role: str,
                   unit_code: str | None) -> Account:
    """An administrator's edit of name, email, role and unit; nothing changes when one is wrong.
    The new role applies at the account's next request (the session reads the account each time)."""
    account = get_account(uow, account_id)
    problems: list[str] = []
    full_name, parsed, unit = _validate_profile(uow, problems, full_name=full_name, role=role, unit_code=unit_code)
    email = clean_email(email, problems)
    if problems:
        raise InvalidInput(f"Không sửa được tài khoản «{account.username}»; chưa lưu gì:", details=problems)
    assert parsed is not None  # no problem: the role was read
    account.full_name, account.email, account.role = full_name, email, parsed.value
    account.unit_id = unit.id if unit else None
    uow.commit()
    return account


def set_password(uow: UnitOfWork, account: Account, password: str, *, confirm: str | None = None,
                 keep_session: str | None = None) -> None:
    """A new password; every other session of the account ends, its throttle counters, unused
    links and known browsers are cleared. The caller commits (with the token it spent, if any)."""
    problems = []
    if len(password or "") < MIN_PASSWORD:
        problems.append(f"mật khẩu phải dài ít nhất {MIN_PASSWORD} ký tự")
    if confirm is not None and confirm != password:
        problems.append("hai lần nhập mật khẩu mới không khớp")
    if problems:
        raise InvalidInput("Chưa đổi mật khẩu:", details=problems)
    account.password_hash = _hasher.hash(password)
    ended = delete(WebSession).where(col(WebSession.account_id) == account.id)
    if keep_session:
        ended = ended.where(col(WebSession.id) != _token_id(keep_session))
    uow.session.execute(ended)
    uow.session.execute(delete(PasswordToken).where(col(PasswordToken.account_id) == account.id,
                                                    col(PasswordToken.used_at).is_(None)))
    # Browsers known under the old password start over: one that used a stolen password keeps no privilege.
    uow.session.execute(delete(KnownDevice).where(col(KnownDevice.account_id) == account.id))
    _clear_throttle(uow, account.username)


def change_own_password(uow: UnitOfWork, account_id: int, current: str, new: str, confirm: str, *,
                        session_token: str | None = None, now: datetime | None = None) -> None:
    """The logged-in user's own change: the current password is asked (a borrowed open session
    must not be enough) and wrong guesses at it count like failed logins."""
    account = get_account(uow, account_id)
    key = f"pw:{account.id}"
    tries = _bump(uow, key, _now(now))
    uow.commit()
    if tries > MAX_FAILURES_PER_USER:
        raise TooManyAttempts(PAIR_LOCKED)
    try:
        _hasher.verify(account.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise InvalidInput("Mật khẩu hiện tại không đúng; chưa đổi mật khẩu.") from None
    if new == current:
        raise InvalidInput("Mật khẩu mới phải khác mật khẩu hiện tại.")
    set_password(uow, account, new, confirm=confirm, keep_session=session_token)
    uow.session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))
    uow.commit()


def _clear_throttle(uow: UnitOfWork, username: str) -> int:
    done: CursorResult[Any] = uow.session.execute(delete(LoginThrottle).where(or_(  # type: ignore[assignment]  # a DELETE
        col(LoginThrottle.key) == f"user:{username}", col(LoginThrottle.key).startswith(f"pair:{username}|", autoescape=True),
    )))
    return done.rowcount


def unlock(uow: UnitOfWork, username: str) -> int:
    """Forget the failed logins of an account (from every address); returns the counters cleared."""
    account = find_account(uow, username)
    n = _clear_throttle(uow, account.username)
    uow.commit()
    return n


def locked_usernames(uow: UnitOfWork, *, now: datetime | None = None) -> set[str]:
    """Accounts whose logins are held back right now: from some address (pair), or spaced for
    unknown browsers because of many failures from elsewhere."""
    now = _now(now)
    rows = uow.session.execute(select(LoginThrottle.key, LoginThrottle.tries, LoginThrottle.next_at).where(
        col(LoginThrottle.window_start) >= now - WINDOW,
        or_(col(LoginThrottle.key).startswith("user:"), col(LoginThrottle.key).startswith("pair:")),
    ))
    out = set()
    for key, tries, next_at in rows:
        if key.startswith("pair:") and tries > MAX_FAILURES_PER_USER:
            out.add(key[5:].rpartition("|")[0])
        elif key.startswith("user:") and tries >= SLOW_AFTER_PER_USER and next_at is not None and next_at > now:
            out.add(key[5:])
    return out


@dataclass(frozen=True)
class LoginAttempts:
    """What the administrator sees of the failed logins on one account in the current window."""

    failures_elsewhere: int  # from browsers the account never logged in from
    addresses: list[tuple[str, int]]  # (address, failures) per address, most first
    spaced_until: datetime | None  # unknown browsers wait until then
    last_client: str


def login_attempts(uow: UnitOfWork, username: str, *, now: datetime | None = None) -> LoginAttempts:
    now = _now(now)
    username = normalise_username(username)
    since = now - WINDOW
    user = uow.session.execute(select(LoginThrottle).where(
        LoginThrottle.key == f"user:{username}", LoginThrottle.window_start >= since)).scalar_one_or_none()
    pairs = uow.session.execute(select(LoginThrottle.key, LoginThrottle.tries).where(
        col(LoginThrottle.key).startswith(f"pair:{username}|", autoescape=True), LoginThrottle.window_start >= since,
        LoginThrottle.tries > 0).order_by(col(LoginThrottle.tries).desc())).all()
    spaced = user.next_at if user is not None and user.next_at is not None and user.next_at > now else None
    return LoginAttempts(user.tries if user else 0, [(k.rpartition("|")[2], t) for k, t in pairs], spaced,
                         user.last_client if user else "")


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    full_name: str
    role: Role
    unit_code: str
    unit_name: str
    active: bool
    email: str = ""
    locked: bool = False  # refused for failed logins right now (an administrator may unlock)


def list_accounts(uow: UnitOfWork, *, now: datetime | None = None) -> list[AccountRow]:
    locked = locked_usernames(uow, now=now)
    rows = uow.session.execute(
        select(Account, Unit.code, Unit.name).outerjoin(Unit, col(Unit.id) == Account.unit_id).order_by(Account.username)
    )
    return [AccountRow(a.id, a.username, a.full_name, Role(a.role), code or "", name or "", a.active, a.email or "",
                       a.username in locked)
            for a, code, name in rows]


def _bump(uow: UnitOfWork, key: str, now: datetime, step: int = 1) -> int:
    """Count one try for `key` in one atomic upsert and return the count in the current window.

    INSERT … ON CONFLICT DO UPDATE … RETURNING: concurrent tries each get their own number,
    so forty parallel guesses cannot all read "4 so far" and all go on to a password check.
    """
    if uow.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]  # same API as PostgreSQL's
    at = literal(now, UTCDateTime())
    expired = LoginThrottle.window_start < literal(now - WINDOW, UTCDateTime())
    stmt = upsert(LoginThrottle).values(key=key, tries=max(step, 0), window_start=now)
    counting = stmt.on_conflict_do_update(index_elements=[col(LoginThrottle.key)], set_={
        "tries": case((expired, max(step, 0)), else_=LoginThrottle.tries + step),
        "window_start": case((expired, at), else_=LoginThrottle.window_start),
    }).returning(col(LoginThrottle.tries))
    tries: int = uow.session.execute(counting).scalar_one()
    return tries


def throttle_keys(username: str, client: str) -> tuple[str, str, str]:
    """(pair, address, username) keys of a login try."""
    return f"pair:{username}|{client}", f"addr:{client}", f"user:{username}"


def spacing(failures: int) -> timedelta:
    """How long unknown browsers wait between two checks of an account's password."""
    if failures < SLOW_AFTER_PER_USER:
        return timedelta(0)
    return min(MAX_SPACING, timedelta(seconds=2 ** min(failures - SLOW_AFTER_PER_USER, 10)))


def address_slowdown(addr_tries: int) -> float:
    """Seconds a failing try waits once its address is past MAX_FAILURES_PER_CLIENT."""
    return min(MAX_SLOWDOWN, 0.05 * max(0, addr_tries - MAX_FAILURES_PER_CLIENT))


def known_device(uow: UnitOfWork, device: str | None, account: Account | None, *,
                 now: datetime | None = None) -> str | None:
    """The stored id of `device` when this browser logged in to `account` before, else None."""
    if not device or account is None or len(device) > 200:
        return None
    row = uow.session.get(KnownDevice, _token_id(device))
    if row is None or row.account_id != account.id or row.last_used_at < _now(now) - DEVICE_LIFETIME:
        return None
    return row.id


def remember_device(uow: UnitOfWork, account: Account, device: str | None, *, now: datetime | None = None) -> str:
    """After a correct password: the browser's device token (kept, or a new one) for its cookie."""
    now = _now(now)
    if (dev_id := known_device(uow, device, account, now=now)) is not None:
        uow.session.execute(update(KnownDevice).where(col(KnownDevice.id) == dev_id).values(last_used_at=now))
        uow.commit()
        return device or ""
    token = secrets.token_urlsafe(32)
    uow.session.add(KnownDevice(id=_token_id(token), account_id=account.id, created_at=now, last_used_at=now))
    uow.session.execute(delete(KnownDevice).where(col(KnownDevice.last_used_at) < now - DEVICE_LIFETIME))
    uow.commit()
    return token


def _claim_check(uow: UnitOfWork, user_key: str, now: datetime) -> datetime | None:
    """Take the account's next check slot for an unknown browser; None when taken, else when it
    would have opened (the refusal says how long to wait). Atomic: one conditional UPDATE."""
    row = uow.session.execute(select(LoginThrottle.tries, LoginThrottle.next_at, LoginThrottle.window_start)
                              .where(LoginThrottle.key == user_key)).first()
    if row is None or row.window_start < now - WINDOW or row.tries < SLOW_AFTER_PER_USER:
        return None
    taken: CursorResult[Any] = uow.session.execute(update(LoginThrottle).where(  # type: ignore[assignment]  # an UPDATE
        col(LoginThrottle.key) == user_key, or_(col(LoginThrottle.next_at).is_(None), col(LoginThrottle.next_at) <= now),
    ).values(next_at=now + CLAIM))
    if taken.rowcount == 1:
        return None
    return row.next_at or now + CLAIM


def _fail_elsewhere(uow: UnitOfWork, user_key: str, client: str, now: datetime) -> None:
    """Count a failure from an unknown browser and space the account's next check accordingly."""
    failures = _bump(uow, user_key, now)
    uow.session.execute(update(LoginThrottle).where(col(LoginThrottle.key) == user_key).values(
        next_at=now + spacing(failures), last_client=client))


def _verify(account: Account | None, password: str) -> bool:
    try:
        # Unknown name or no password yet: the same slow check against the dummy, then a refusal.
        usable = account is not None and account.password_hash != NO_PASSWORD
        # `usable` implies an account: mypy does not narrow through the flag.
        _hasher.verify(cast(Account, account).password_hash if usable else _dummy_hash(), password or "")
        return usable and cast(Account, account).active
    except (VerificationError, InvalidHashError):
        return False


def authenticate(uow: UnitOfWork, username: str, password: str, *, client: str, device: str | None = None,
                 now: datetime | None = None) -> Account:
    """The account, or LoginFailed / TooManyAttempts. Throttles the guesser, never the owner.

    - A browser that logged in to this account before (its `device` cookie) is throttled on its
      own only: MAX_FAILURES_PER_USER failures stop that browser; guesses from elsewhere never
      touch it, so the owner at their usual browser gets in at once, from any address.
    - Any other browser: a (username, address) pair stops after MAX_FAILURES_PER_USER tries.
      Past SLOW_AFTER_PER_USER failures on the account from such browsers, their password
      checks are taken one at a time, spaced by a delay doubling up to MAX_SPACING: a guess
      spread over thousands of addresses gets ~2 checks a minute, and the owner on a new
      browser waits at most MAX_SPACING between tries (or uses «Quên mật khẩu?»). No lock.
    - An address past MAX_FAILURES_PER_CLIENT has its failing tries slowed and refused, while a
      correct password still gets in (one office behind one router).
    Every try is counted (and committed) before the slow password check.
    """
    now = _now(now)
    username = normalise_username(username)[:64]
    client = (client or "?")[:64]
    pair_key, addr_key, user_key = throttle_keys(username, client)
    uow.session.execute(delete(LoginThrottle).where(col(LoginThrottle.window_start) < now - 4 * WINDOW))
    account = uow.session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()
    dev_id = known_device(uow, device, account, now=now)
    if dev_id is not None:
        assert account is not None  # known_device finds nothing without an account
        return _authenticate_known(uow, account, password, f"dev:{dev_id}", now)
    pair, addr = (_bump(uow, k, now) for k in (pair_key, addr_key))
    if pair > MAX_FAILURES_PER_USER:
        uow.commit()
        raise TooManyAttempts(PAIR_LOCKED)
    if (opens := _claim_check(uow, user_key, now)) is not None:
        _bump(uow, pair_key, now, step=-1)  # a refused try is no guess: the owner's retries cost nothing
        uow.commit()
        raise TooManyAttempts(ACCOUNT_SPACED.format(seconds=max(1, ceil((opens - now).total_seconds()))))
    # Commit now: the try is counted for everyone, and no database connection is held during
    # the slow password check (a burst of logins must not starve the pool).
    uow.commit()
    if not _verify(account, password):
        _fail_elsewhere(uow, user_key, client, now)
        uow.commit()
        log.warning("Đăng nhập sai: tài khoản «%s» từ %s", username, client)
        if addr > MAX_FAILURES_PER_CLIENT:
            time.sleep(address_slowdown(addr))
            raise TooManyAttempts(ADDRESS_SLOWED)
        raise LoginFailed("Tên đăng nhập hoặc mật khẩu không đúng.")
    uow.session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == pair_key))
    _bump(uow, addr_key, now, step=-1)
    # The slot claimed for this check opens again for the next unknown browser.
    uow.session.execute(update(LoginThrottle).where(col(LoginThrottle.key) == user_key).values(next_at=now))
    assert account is not None  # _verify refuses an unknown name
    return _logged_in(uow, account, password)


def _authenticate_known(uow: UnitOfWork, account: Account, password: str, dev_key: str, now: datetime) -> Account:
    tries = _bump(uow, dev_key, now)
    uow.commit()
    if tries > MAX_FAILURES_PER_USER:
        raise TooManyAttempts(PAIR_LOCKED)
    if not _verify(account, password):
        log.warning("Đăng nhập sai: tài khoản «%s» từ máy đã từng đăng nhập", account.username)
        raise LoginFailed("Tên đăng nhập hoặc mật khẩu không đúng.")
    uow.session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == dev_key))
    return _logged_in(uow, account, password)


def _logged_in(uow: UnitOfWork, account: Account, password: str) -> Account:
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    uow.commit()
    return account


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(uow: UnitOfWork, account: Account, *, now: datetime | None = None) -> str:
    """A new session; returns the random token for the cookie (only its hash is stored)."""
    now = _now(now)
    token = secrets.token_urlsafe(32)
    uow.session.execute(insert(WebSession).values(
        id=_token_id(token), account_id=account.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, expires_at=now + SESSION_LIFETIME,
    ))
    uow.session.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
    uow.commit()
    return token


def principal_for(uow: UnitOfWork, token: str | None, *, now: datetime | None = None) -> Principal | None:
    """Who holds this cookie, or None (unknown, expired, or account disabled). One query."""
    if not token or len(token) > 200:
        return None
    row = uow.session.execute(
        select(col(WebSession.csrf_token), col(WebSession.expires_at), Account, col(Unit.name), col(Unit.kind))  # type: ignore[call-overload]  # sqlmodel types select() up to 4 columns
        .join(Account, Account.id == WebSession.account_id)
        .outerjoin(Unit, Unit.id == Account.unit_id)
        .where(WebSession.id == _token_id(token))
    ).first()
    if row is None:
        return None
    csrf, expires, account, unit_name, unit_kind = row
    if expires <= _now(now) or not account.active:
        return None
    return Principal(account.id, account.username, account.full_name, Role(account.role), account.unit_id,
                     unit_name or "", UnitKind(unit_kind) if unit_kind else None, csrf)


def close_session(uow: UnitOfWork, token: str | None) -> None:
    if token:
        uow.session.execute(delete(WebSession).where(col(WebSession.id) == _token_id(token)))
        uow.commit()


def set_active(uow: UnitOfWork, username: str, active: bool) -> None:
    """Enable or disable an account; disabling ends every session it has, in the same transaction."""
    account_id = uow.session.execute(
        select(Account.id).where(Account.username == normalise_username(username))).scalar_one_or_none()
    if account_id is None:
        raise NotFound(f"Không tìm thấy tài khoản «{username}»")
    set_active_by_id(uow, account_id, active)


def set_active_by_id(uow: UnitOfWork, account_id: int, active: bool) -> int:
    """As set_active; returns the number of sessions ended."""
    done: CursorResult[Any] = uow.session.execute(  # type: ignore[assignment]  # an UPDATE's result
        update(Account).where(col(Account.id) == account_id).values(active=active))
    if done.rowcount != 1:
        raise NotFound(f"Không tìm thấy tài khoản số {account_id}")
    ended = 0
    if not active:
        gone: CursorResult[Any] = uow.session.execute(  # type: ignore[assignment]  # a DELETE's result
            delete(WebSession).where(col(WebSession.account_id) == account_id))
        ended = gone.rowcount
    uow.commit()
    return ended


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden("Tài khoản của bạn không có quyền thực hiện việc này.")


# --- demo ------------------------------------------------------------------------------------

# One account per role on the demo units; the passwords are printed by run.sh (demo data only).
DEMO_ACCOUNTS: list[tuple[str, str, Role, str | None, str]] = [
    ("admin", "Quản trị hệ thống", Role.ADMIN, None, "demo-admin-2024"),
    ("chuyenvien", "Trần Minh Tuấn", Role.OFFICER, "DEMO-PGD-BD", "demo-chuyenvien"),
    ("chuyenvien.so", "Lê Thu Hà", Role.OFFICER, "DEMO-SGD-HN", "demo-chuyenvien-so"),
    ("doandanhgia", "Phạm Quang Hùng", Role.REVIEWER, "DEMO-PGD-BD", "demo-doandanhgia"),
    ("hieutruong", "Nguyễn Thị Hoa", Role.SCHOOL_HEAD, None, "demo-hieutruong"),
    ("hoidong", "Vũ Ngọc Lan", Role.COMMITTEE, None, "demo-hoidong"),
    ("vanthu", "Đỗ Thanh Mai", Role.CLERK, "DEMO-PGD-BD", "demo-vanthu"),
]


def demo_school_code(uow: UnitOfWork) -> str:
    """The demo school the head and committee accounts belong to: the first one still self-assessing."""
    bureau = get_unit(uow, "DEMO-PGD-BD")
    row = uow.session.execute(
        select(Unit.code).join(Assessment, col(Assessment.school_id) == Unit.id)
        .where(col(Unit.supervisor_id) == bureau.id).order_by(col(Assessment.state) != "self_assessment", col(Unit.code)).limit(1)
    ).first()
    if row is None:
        raise NotFound("Chưa có dữ liệu mẫu: hãy chạy «cdsflow demo» trước.")
    code: str = row[0]
    return code


def create_demo_accounts(uow: UnitOfWork, school_code: str | None = None) -> list[tuple[str, str, str]]:
    """(username, password, role label) for each demo account; already present ones are kept."""
    school_code = school_code or demo_school_code(uow)
    out = []
    for username, name, role, unit, password in DEMO_ACCOUNTS:
        unit = unit or (school_code if role.school_side else None)
        if not uow.session.execute(select(Account.id).where(Account.username == username)).first():
            create_account(uow, username=username, full_name=name, role=role.value, password=password, unit_code=unit)
        out.append((username, password, role.label))
    return out
