"""Account administration page and session expiry."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.web_support import PASSWORD, build_world


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def test_admin_creates_an_account_and_bad_input_stores_nothing(world):
    admin = world.client("admin")
    token = admin.headers.pop("X-CSRF-Token")
    r = admin.post("/accounts", data={"csrf_token": token, "username": "Vanthu.P2", "full_name": "Ngô Thị Hạnh",
                                      "role": "clerk", "unit_code": "P2", "password": PASSWORD})
    assert r.status_code == 303
    assert "vanthu.p2" in admin.get("/accounts").text
    r = admin.post("/accounts", data={"csrf_token": token, "username": "gv", "full_name": "Lê A",
                                      "role": "school_head", "unit_code": "P1", "password": "ngan"})
    assert r.status_code == 422
    text = r.text
    assert "tên đăng nhập không hợp lệ" in text and "ít nhất 10 ký tự" in text and "không thuộc được" in text
    assert text.count("<tr>") == admin.get("/accounts").text.count("<tr>")
    clerk2 = world.client()
    assert clerk2.post("/api/login", json={"username": "vanthu.p2", "password": PASSWORD}).json()["role"] == "clerk"


def test_only_the_administrator_manages_accounts(world):
    officer = world.client("officer")
    token = officer.headers["X-CSRF-Token"]
    r = officer.post("/accounts", data={"csrf_token": token, "username": "x.y.z", "full_name": "X", "role": "admin",
                                        "password": PASSWORD})
    assert r.status_code == 403 and "không có quyền" in r.text


def test_a_session_ends_after_its_lifetime(world):
    start = datetime.now(UTC)
    with freeze_time(start) as clock:
        c = world.client("head")
        assert c.get("/api/me").status_code == 200
        clock.tick(timedelta(hours=11))
        assert c.get("/api/me").status_code == 200
        clock.tick(timedelta(hours=2))
        assert c.get("/api/me").status_code == 401
        page = c.get("/assessments/1")
        assert page.status_code == 303 and re.match(r"/login\?next=", page.headers["location"])


def test_administrator_reads_the_local_mail_sink(world):
    from email.message import EmailMessage

    from cdsflow.notifications.sink import DatabaseSinkStore

    msg = EmailMessage()
    msg["Subject"] = "Nhắc hạn: thành lập Hội đồng tự đánh giá"
    msg["From"] = "cdsflow@localhost"
    msg["To"] = "p1s1@hanoi.edu.vn"
    msg.set_content("Kính gửi Trường Tiểu học Số 1.1,\nhạn thành lập Hội đồng là 31/01/2025.")
    msg.add_attachment(b"PK", maintype="application", subtype="zip", filename="qd.docx")
    DatabaseSinkStore(world.engine).save("cdsflow@localhost", ["p1s1@hanoi.edu.vn"], msg.as_bytes())
    admin = world.client("admin")
    listing = admin.get("/mailbox")
    assert "Nhắc hạn: thành lập Hội đồng tự đánh giá" in listing.text
    mid = re.search(r'href="/mailbox/(\d+)"', listing.text).group(1)
    page = admin.get(f"/mailbox/{mid}")
    assert "hạn thành lập Hội đồng là 31/01/2025" in page.text and "qd.docx" in page.text
