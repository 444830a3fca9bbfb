"""Turn an outbox row into the bytes sent over SMTP.

Measured on this machine under load: composing a multipart/alternative reminder with
`MIMEMultipart`/`MIMEText` and letting the compat32 generator fold every header costs ~750 µs,
more than the whole SMTP exchange; `EmailMessage` with `str` headers costs several ms. Reminders
are plain ASCII structure around two UTF-8 bodies and one Vietnamese subject, so the common case
is assembled directly: base64 bodies (encoded in C), RFC 2047 encoded-words for the subject
(checked against `email.header.decode_header` in the tests), constant headers computed once.
Messages with attachments (rare: a recognition decision) go through `email.mime` with
`email.header.Header`, where correctness of the MIME tree matters more than microseconds.
"""
from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path

from cdsflow.kernel import home
from cdsflow.notifications.settings import MailSettings

# Base64 parts can never contain these boundaries ("=" only pads an end, "_" is not base64).
_ALT_BOUNDARY = "==_cdsflow_part_=="
_MIXED_BOUNDARY = "==_cdsflow_mixed_=="
# 45 bytes of UTF-8 encode to 60 base64 characters: with "=?utf-8?b?" and "?=" each encoded-word
# stays under the 75-character limit of RFC 2047.
_WORD_BYTES = 45


@dataclass(frozen=True)
class OutgoingMail:
    """What the sender needs from an outbox row (detached from the session)."""

    id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str = ""
    headers: dict = field(default_factory=dict)
    attachments: tuple[str, ...] = ()
    dedup_key: str = ""
    attempts: int = 0  # delivery attempts made before this one
    useful_until: datetime | None = None  # not worth sending after this instant


def encode_header_value(value: str) -> str:
    """RFC 2047 base64 encoded-words for a non-ASCII header value; ASCII stays as it is.

    Words are cut between characters, never inside a UTF-8 sequence, and folded onto
    continuation lines.
    """
    if value.isascii():
        return value
    data = value.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # do not split a character
            end -= 1
        words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode("ascii") + "?=")
        start = end
    return "\r\n ".join(words)


@lru_cache(maxsize=8)
def _from_header(from_name: str, from_addr: str) -> str:
    return f"{encode_header_value(from_name)} <{from_addr}>"


def _b64_body(text: str) -> bytes:
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


def build_message(mail: OutgoingMail, settings: MailSettings, now: datetime) -> bytes:
    if mail.attachments:
        return _build_with_attachments(mail, settings, now)
    head = [
        f"From: {_from_header(settings.from_name, settings.from_addr)}",
        f"To: {mail.recipient}",
        f"Subject: {encode_header_value(mail.subject)}",
        f"Date: {format_datetime(now)}",
        # Deterministic per outbox row: a retried delivery carries the same Message-ID, so a
        # receiving server (or a person) can tell a duplicate.
        f"Message-ID: <outbox-{mail.id}@{settings.message_id_domain}>",
    ]
    reply_to = mail.headers.get("Reply-To") or settings.reply_to
    if reply_to:
        head.append(f"Reply-To: {reply_to}")
    head.append("Auto-Submitted: auto-generated")
    for name, value in mail.headers.items():
        if name != "Reply-To":
            head.append(f"{name}: {encode_header_value(str(value))}")
    head.append("MIME-Version: 1.0")
    text_part = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    if not mail.body_html:
        head.append('Content-Type: text/plain; charset="utf-8"')
        head.append("Content-Transfer-Encoding: base64")
        return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + _b64_body(mail.body_text)
    head.append(f'Content-Type: multipart/alternative; boundary="{_ALT_BOUNDARY}"')
    sep = f"--{_ALT_BOUNDARY}\r\n".encode("ascii")
    return b"".join((
        ("\r\n".join(head) + "\r\n\r\n").encode("ascii"),
        sep, text_part, _b64_body(mail.body_text),
        sep, b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        _b64_body(mail.body_html),
        f"--{_ALT_BOUNDARY}--\r\n".encode("ascii"),
    ))


def _build_with_attachments(mail: OutgoingMail, settings: MailSettings, now: datetime) -> bytes:
    body = MIMEMultipart("alternative", boundary=_ALT_BOUNDARY)
    body.attach(MIMEText(mail.body_text, "plain", "utf-8"))
    if mail.body_html:
        body.attach(MIMEText(mail.body_html, "html", "utf-8"))
    msg = MIMEMultipart("mixed", boundary=_MIXED_BOUNDARY)
    msg.attach(body)
    for path in mail.attachments:
        msg.attach(_attachment(home.from_stored(path)))  # stored relative to the data home
    msg["From"] = formataddr((str(Header(settings.from_name, "utf-8")), settings.from_addr))
    msg["To"] = mail.recipient
    msg["Subject"] = Header(mail.subject, "utf-8")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<outbox-{mail.id}@{settings.message_id_domain}>"
    reply_to = mail.headers.get("Reply-To") or settings.reply_to
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in mail.headers.items():
        if name != "Reply-To":
            msg[name] = Header(str(value), "utf-8")
    return msg.as_bytes()


def _attachment(path: Path) -> MIMEApplication:
    ctype, _ = mimetypes.guess_type(path.name)
    maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
    part = MIMEApplication(path.read_bytes(), subtype if maintype == "application" else "octet-stream")
    # RFC 2231 filename: Vietnamese names (Quyết định công nhận.docx) survive.
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", path.name))
    return part
