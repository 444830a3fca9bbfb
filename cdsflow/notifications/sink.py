"""The embedded development mail server: aiosmtpd on 127.0.0.1 that keeps every message.

With no outside SMTP server configured, the worker delivers here, and `cdsflow mail list|show`
reads what arrived (table `mail_sink_message`), so a demo shows real reminders.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from typing import Protocol

from aiosmtpd.controller import Controller
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from cdsflow.notifications.settings import SINK_HOST, SINK_PORT
from cdsflow.storage.notifications_tables import SinkMessage

_HEADERS = BytesHeaderParser()


def decoded_header(value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


class SinkStore(Protocol):
    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None: ...


class DatabaseSinkStore:
    """Keeps every received message in the project's database (one short transaction each)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        headers = _HEADERS.parsebytes(content)
        with self.engine.begin() as conn:
            conn.execute(
                insert(SinkMessage.__table__),
                {
                    "received_at": datetime.now(UTC),
                    "mail_from": mail_from[:320],
                    "rcpt_tos": ",".join(rcpt_tos)[:4000],
                    "subject": decoded_header(headers.get("Subject"))[:1000],
                    "message_id": (headers.get("Message-ID") or "")[:300],
                    "raw": content.decode("utf-8", errors="replace"),
                },
            )


class MemorySinkStore:
    """Keeps messages in a list (tests, and the benchmark's receiving process)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._lock = threading.Lock()

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        with self._lock:
            self.messages.append((mail_from, list(rcpt_tos), content))

    def message_ids(self) -> list[str]:
        return [_HEADERS.parsebytes(c).get("Message-ID", "") for _, _, c in self.messages]


class SinkHandler:
    """aiosmtpd handler; `refuse` lists recipients answered with a permanent 550 (tests)."""

    def __init__(self, store: SinkStore, refuse: Iterable[str] = ()) -> None:
        self.store = store
        self.refuse = {r.lower() for r in refuse}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.store.save(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_sink(store: SinkStore, *, host: str = SINK_HOST, port: int = SINK_PORT, refuse: Iterable[str] = ()) -> Controller:
    """Start the sink in a background thread; call `.stop()` on the result to shut it down."""
    controller = Controller(SinkHandler(store, refuse), hostname=host, port=port)
    controller.start()
    return controller
