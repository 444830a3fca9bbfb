"""Message building, Vietnamese formatting, templates and settings: pure, no I/O but tmp files."""
from __future__ import annotations

import email
from datetime import UTC, datetime
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cdsflow.calendars.timeutil import days_left_text, vn_datetime
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.notifications.message import (
    OutgoingMail,
    build_message,
    encode_header_value,
)
from cdsflow.notifications.rendering import default_templates
from cdsflow.notifications.sender import _classify, _Permanent, _Temporary
from cdsflow.notifications.settings import load_settings
from cdsflow.services.fanout import earlier_stages, split_emails

VN = ZoneInfo("Asia/Ho_Chi_Minh")
VIETNAMESE = st.text(
    alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáạảãầấậẩẫằắặẳẵèéẹẻẽềếệểễìíịỉĩòóọỏõồốộổỗờớợởỡ"
                                  "ùúụủũừứựửữỳýỵỷỹĐƯƠ –0123456789&<>\"'()[]:/")),
    min_size=1, max_size=300,
).map(str.strip).filter(bool)


@given(VIETNAMESE)
@hsettings(max_examples=200, deadline=None)
def test_encoded_subjects_decode_back_exactly_and_respect_rfc_2047_lengths(subject):
    encoded = encode_header_value(subject)
    assert encoded.isascii()
    assert str(make_header(decode_header(encoded))) == subject
    for line in encoded.split("\r\n"):
        assert len(line.strip()) <= 75


def test_ascii_header_values_are_left_alone():
    assert encode_header_value("Reminder 2025") == "Reminder 2025"


def _mail(**kw) -> OutgoingMail:
    base = dict(id=42, recipient="hieutruong@thhungthang.edu.vn",
                subject="[Nhắc hạn] Gửi tờ trình – hạn 23:59 ngày 31 tháng 3 năm 2025",
                body_text="Kính gửi: Trường Tiểu học Hùng Thắng,\nCòn 3 ngày.\n",
                body_html="<p>Kính gửi: <b>Trường Tiểu học Hùng Thắng</b></p>")
    base.update(kw)
    return OutgoingMail(**base)


def test_built_message_has_the_headers_a_mail_client_needs():
    settings = load_settings({"CDSFLOW_MAIL_REPLY_TO": "pgd@badinh.edu.vn"})
    now = datetime(2025, 3, 28, 0, 0, tzinfo=UTC)
    raw = build_message(_mail(), settings, now)
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    msg = email.message_from_bytes(raw)
    assert str(make_header(decode_header(msg["Subject"]))) == _mail().subject
    assert str(make_header(decode_header(msg["From"]))) == "Hệ thống đánh giá chuyển đổi số <no-reply@cdsflow.local>"
    assert msg["Reply-To"] == "pgd@badinh.edu.vn" and msg["To"] == "hieutruong@thhungthang.edu.vn"
    assert msg["Message-ID"] == "<outbox-42@cdsflow.local>"
    assert email.utils.parsedate_to_datetime(msg["Date"]) == now
    assert msg["Auto-Submitted"] == "auto-generated"
    text, html = msg.get_payload()
    assert text.get_payload(decode=True).decode("utf-8") == _mail().body_text
    assert html.get_content_type() == "text/html" and "Hùng Thắng" in html.get_payload(decode=True).decode("utf-8")


def test_plain_text_only_message():
    msg = email.message_from_bytes(build_message(_mail(body_html=""), load_settings({}), datetime.now(UTC)))
    assert msg.get_content_type() == "text/plain"
    assert "Hùng Thắng" in msg.get_payload(decode=True).decode("utf-8")


def test_deadlines_are_written_the_vietnamese_way():
    assert vn_datetime(datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=VN)) == "23:59 ngày 31 tháng 3 năm 2025"
    # The same instant given in UTC is shown in Vietnam's time.
    assert vn_datetime(datetime(2025, 3, 31, 16, 59, tzinfo=UTC)) == "23:59 ngày 31 tháng 3 năm 2025"
    due = datetime(2025, 3, 31, 23, 59, tzinfo=VN)
    assert days_left_text(due, datetime(2025, 3, 28, 7, 0, tzinfo=VN)) == "còn 3 ngày"
    assert days_left_text(due, datetime(2025, 3, 30, 7, 0, tzinfo=VN)).startswith("chỉ còn 1 ngày")
    assert days_left_text(due, datetime(2025, 3, 31, 7, 0, tzinfo=VN)) == "hạn cuối là hôm nay"
    assert days_left_text(due, datetime(2025, 4, 2, 7, 0, tzinfo=VN)) == "đã quá hạn 2 ngày"


def test_every_kind_renders_and_html_escapes_user_text():
    t = default_templates()
    r = t.render("returned", {"school_name": "Trường GD&ĐT <Ba Đình>", "campaign_title": "KH", "reason": "Thiếu <b>",
                              "due_text": "", "link": "http://x", "sender_name": "Hệ thống"})
    assert "Trường GD&ĐT <Ba Đình>" in r.text and "Trường GD&amp;ĐT &lt;Ba Đình&gt;" in r.html
    assert "\n" not in r.subject
    with pytest.raises(InvalidInput, match="Thiếu dữ liệu cho mẫu thư returned"):
        t.render("returned", {"school_name": "x"})
    with pytest.raises(InvalidInput, match="Loại thư không tồn tại"):
        t.render("spam", {})
    assert set(t.next_steps) == {s.value for s in Stage}


def test_settings_default_to_the_local_sink_and_refuse_bad_values():
    s = load_settings({})
    assert (s.host, s.port, s.use_sink, s.tls) == ("127.0.0.1", 8025, True, "none")
    relay = load_settings({"CDSFLOW_SMTP_HOST": "smtp.hanoi.edu.vn", "CDSFLOW_SMTP_TLS": "starttls",
                           "CDSFLOW_SMTP_USER": "cds", "CDSFLOW_SMTP_PASSWORD": "x", "CDSFLOW_SMTP_RATE": "20"})
    assert (relay.port, relay.use_sink, relay.rate) == (587, False, 20.0)
    with pytest.raises(InvalidInput, match="CDSFLOW_SMTP_TLS"):
        load_settings({"CDSFLOW_SMTP_TLS": "ssl3"})
    with pytest.raises(InvalidInput, match="CDSFLOW_SMTP_PORT='hai mươi lăm' không phải là số nguyên"):
        load_settings({"CDSFLOW_SMTP_PORT": "hai mươi lăm"})
    with pytest.raises(InvalidInput, match="cả CDSFLOW_SMTP_USER và CDSFLOW_SMTP_PASSWORD"):
        load_settings({"CDSFLOW_SMTP_USER": "cds"})
    with pytest.raises(InvalidInput, match="CDSFLOW_MAIL_FROM"):
        load_settings({"CDSFLOW_MAIL_FROM": "khong-phai-dia-chi"})


def test_smtp_failures_are_classified_temporary_or_permanent():
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "No such user", "a@b")])
    assert _classify(refused)[0] is _Permanent
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "Try later", "a@b")])
    assert _classify(busy)[0] is _Temporary
    outcome, _, drop = _classify(aiosmtplib.SMTPServerDisconnected("gone"))
    assert outcome is _Temporary and drop
    assert _classify(aiosmtplib.SMTPDataError(554, "rejected"))[0] is _Permanent
    assert _classify(aiosmtplib.SMTPResponseException(421, "closing"))[2] is True
    assert _classify(ConnectionRefusedError())[0] is _Temporary


def test_recipient_lists_and_stage_order():
    assert split_emails(" a@x.vn, b@x.vn;a@x.vn ,, khong-hop-le ") == ["a@x.vn", "b@x.vn"]
    assert earlier_stages(Stage.PROPOSAL) == ["plan_issued", "committee_formed", "self_assessment"]
    assert earlier_stages(Stage.PLAN_ISSUED) == []
