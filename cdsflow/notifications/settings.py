"""Mail settings, read from environment variables once and validated with Vietnamese messages.

Without CDSFLOW_SMTP_HOST everything goes to the embedded local sink on 127.0.0.1:8025.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parseaddr

from cdsflow.kernel.errors import InvalidInput

# The address of the web request being served (set by the web app, see app/web/deps.py): mail
# written while serving it links back there when CDSFLOW_BASE_URL is unset.
REQUEST_BASE_URL: ContextVar[str | None] = ContextVar("cdsflow_request_base_url", default=None)
TLS_MODES = ("none", "starttls", "tls")
SINK_HOST = "127.0.0.1"
SINK_PORT = 8025


@dataclass(frozen=True)
class MailSettings:
    host: str = SINK_HOST
    port: int = SINK_PORT
    username: str | None = None
    password: str | None = None
    tls: str = "none"  # none | starttls | tls (implicit, port 465)
    timeout: float = 30.0
    rate: float = 0.0  # messages per second over all connections; 0 = no limit
    connections: int = 10  # pooled, reused SMTP connections (= concurrency)
    # A round lasts about this long: the claim is sized from the measured sending rate, and
    # what is left unsent when the time is up goes back to the queue.
    batch_seconds: float = 30.0
    batch: int = 2000  # upper bound of rows claimed per round
    lease: float = 120.0  # seconds a claim is owned without renewal (renewed every lease/3)
    backoff_base: float = 60.0  # seconds; doubled per attempt
    backoff_max: float = 1800.0  # cap: after an outage the queue moves again within this
    # How long a mail stays worth sending: overdue reminders and digests this long after they
    # are written (earlier reminders until their deadline), state-change notices this long.
    reminder_grace_hours: float = 48.0
    notice_useful_days: float = 7.0
    relay_alert_minutes: float = 30.0  # mailbox page warns when the relay fails this long
    fanout_chunk: int = 2000  # outbox rows per transaction when a reminder fans out
    from_addr: str = "no-reply@cdsflow.local"
    from_name: str = "Hệ thống đánh giá chuyển đổi số"
    reply_to: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    local_hostname: str = "cdsflow.local"  # EHLO name; avoids a DNS lookup per connection
    use_sink: bool = True  # no outside server configured: the worker runs the local sink

    @property
    def message_id_domain(self) -> str:
        return self.from_addr.rpartition("@")[2] or "cdsflow.local"


def _number(env: Mapping[str, str], name: str, default: float, *, integer: bool, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "số nguyên" if integer else "số"
        raise InvalidInput(f"Biến môi trường {name}={raw!r} không phải là {kind}") from None
    if value < minimum:
        raise InvalidInput(f"Biến môi trường {name}={raw!r} phải lớn hơn hoặc bằng {minimum:g}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> MailSettings:
    """Read CDSFLOW_SMTP_* and CDSFLOW_MAIL_* variables (see README, section Thư nhắc hạn)."""
    from_request = REQUEST_BASE_URL.get() if env is None else None
    env = os.environ if env is None else env
    host = (env.get("CDSFLOW_SMTP_HOST") or "").strip()
    tls = (env.get("CDSFLOW_SMTP_TLS") or "none").strip().lower()
    if tls not in TLS_MODES:
        raise InvalidInput(
            f"Biến môi trường CDSFLOW_SMTP_TLS={tls!r} không hợp lệ: chọn một trong {', '.join(TLS_MODES)}"
        )
    default_port = {"none": 25, "starttls": 587, "tls": 465}[tls] if host else SINK_PORT
    from_addr = (env.get("CDSFLOW_MAIL_FROM") or "no-reply@cdsflow.local").strip()
    if "@" not in parseaddr(from_addr)[1]:
        raise InvalidInput(f"Biến môi trường CDSFLOW_MAIL_FROM={from_addr!r} không phải địa chỉ thư")
    reply_to = (env.get("CDSFLOW_MAIL_REPLY_TO") or "").strip() or None
    if reply_to and "@" not in parseaddr(reply_to)[1]:
        raise InvalidInput(f"Biến môi trường CDSFLOW_MAIL_REPLY_TO={reply_to!r} không phải địa chỉ thư")
    user = env.get("CDSFLOW_SMTP_USER") or None
    password = env.get("CDSFLOW_SMTP_PASSWORD") or None
    if bool(user) != bool(password):
        raise InvalidInput("Cần đặt cả CDSFLOW_SMTP_USER và CDSFLOW_SMTP_PASSWORD (hoặc không đặt cả hai)")
    return MailSettings(
        host=host or (env.get("CDSFLOW_SINK_HOST") or SINK_HOST),
        port=int(_number(env, "CDSFLOW_SMTP_PORT", default_port, integer=True, minimum=1)),
        username=user,
        password=password,
        tls=tls,
        timeout=_number(env, "CDSFLOW_SMTP_TIMEOUT", 30.0, integer=False, minimum=0.1),
        rate=_number(env, "CDSFLOW_SMTP_RATE", 0.0, integer=False, minimum=0),
        connections=int(_number(env, "CDSFLOW_SMTP_CONNECTIONS", 10, integer=True, minimum=1)),
        batch_seconds=_number(env, "CDSFLOW_MAIL_BATCH_SECONDS", 30.0, integer=False, minimum=0.1),
        lease=_number(env, "CDSFLOW_MAIL_LEASE", 120.0, integer=False, minimum=1),
        backoff_base=_number(env, "CDSFLOW_MAIL_BACKOFF_BASE", 60.0, integer=False, minimum=0.01),
        backoff_max=_number(env, "CDSFLOW_MAIL_BACKOFF_MAX", 1800.0, integer=False, minimum=0.01),
        reminder_grace_hours=_number(env, "CDSFLOW_REMINDER_GRACE_HOURS", 48.0, integer=False, minimum=0),
        notice_useful_days=_number(env, "CDSFLOW_NOTICE_USEFUL_DAYS", 7.0, integer=False, minimum=0.01),
        relay_alert_minutes=_number(env, "CDSFLOW_RELAY_ALERT_MINUTES", 30.0, integer=False, minimum=0),
        fanout_chunk=int(_number(env, "CDSFLOW_FANOUT_CHUNK", 2000, integer=True, minimum=1)),
        from_addr=from_addr,
        from_name=(env.get("CDSFLOW_MAIL_FROM_NAME") or MailSettings.from_name).strip(),
        reply_to=reply_to,
        base_url=(env.get("CDSFLOW_BASE_URL") or from_request or MailSettings.base_url).rstrip("/"),
        use_sink=not host,
    )
