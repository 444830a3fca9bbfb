"""Issue 26, item 4: the ward runs its own schools' accounts on the web: create (the mail each school
receives shown first), send a new set-password link, lock; never another ward's schools."""
from __future__ import annotations

import re

from sqlalchemy import select

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.notifications_tables import OutboxMessage
from cdsflow.storage.tables import Unit
from cdsflow.storage.web_tables import Account
from tests.web_support import build_world


def _ids(engine, *codes):
    with UnitOfWork(engine) as uow:
        found = dict(uow.session.execute(select(Unit.code, Unit.id).where(Unit.code.in_(codes))).all())
    return [found[c] for c in codes]


def _account(engine, username):
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(Account).where(Account.username == username)).scalar_one_or_none()


def _mails(engine, to):
    with UnitOfWork(engine) as uow:
        return list(uow.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == to)).scalars())


def test_the_ward_creates_resets_and_locks_its_schools_accounts(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    officer = w.client("officer")  # the officer of P1
    page = officer.get("/ward/accounts")
    assert page.status_code == 200 and "Tài khoản các trường" in page.text
    assert "Trường Tiểu học Số 1.2" in page.text and "Trường Mầm non Hoa Sen" in page.text
    assert "Số 2.1" not in page.text  # P2's schools are not the ward's
    token = officer.headers["X-CSRF-Token"]

    # Create: a page names the accounts and shows the mail; nothing is written before the second step.
    p1s2, p1s3 = _ids(sqlite_engine, "P1S2", "P1S3")
    ask = officer.post("/ward/accounts/create", data={"csrf_token": token, "ids": [str(p1s2), str(p1s3)]})
    assert ask.status_code == 200 and "Thư sẽ gửi" in ask.text and "p1s2@hanoi.edu.vn" in ask.text
    assert "p1s2.hieutruong — Trường Tiểu học Số 1.2 — p1s2@hanoi.edu.vn" in ask.text
    assert "[liên kết riêng của tài khoản]" in ask.text and "Xác nhận 4 tài khoản" in ask.text
    assert _account(sqlite_engine, "p1s2.hieutruong") is None and not _mails(sqlite_engine, "p1s2@hanoi.edu.vn")
    done = officer.post("/ward/accounts/create", data={"csrf_token": token, "ids": [str(p1s2), str(p1s3)],
                                                      "confirm": "1"})
    assert done.status_code == 303 and done.headers["location"] == "/ward/accounts?done=school_accounts"
    made = _account(sqlite_engine, "p1s2.hieutruong")
    assert made is not None and made.role == "school_head" and made.email == "p1s2@hanoi.edu.vn"
    assert len(_mails(sqlite_engine, "p1s2@hanoi.edu.vn")) == 2  # the head and the secretary

    # A new set-password link: the mail shown first, then queued; an account without an address is refused.
    ask = officer.post(f"/ward/accounts/{made.id}/link", data={"csrf_token": token})
    assert ask.status_code == 200 and "Thư sẽ gửi" in ask.text and f"{made.full_name} (p1s2.hieutruong)" in ask.text
    assert len(_mails(sqlite_engine, "p1s2@hanoi.edu.vn")) == 2
    sent = officer.post(f"/ward/accounts/{made.id}/link", data={"csrf_token": token, "confirm": "1"})
    assert sent.status_code == 303 and len(_mails(sqlite_engine, "p1s2@hanoi.edu.vn")) == 3
    head = _account(sqlite_engine, "head")  # made by the administrator without an address
    refused = officer.post(f"/ward/accounts/{head.id}/link", data={"csrf_token": token})
    assert refused.status_code == 422 and "chưa có địa chỉ thư" in refused.text

    # Lock: confirmed first; then the account is locked.
    ask = officer.post(f"/ward/accounts/{made.id}/active", data={"csrf_token": token, "active": "0"})
    assert "Xác nhận: khóa tài khoản" in ask.text and _account(sqlite_engine, "p1s2.hieutruong").active
    officer.post(f"/ward/accounts/{made.id}/active", data={"csrf_token": token, "active": "0", "confirm": "1"})
    assert not _account(sqlite_engine, "p1s2.hieutruong").active

    # Another ward may not touch P1's schools; a school may not run accounts.
    other = w.client("officer2")
    r = other.post(f"/ward/accounts/{made.id}/active", data={"csrf_token": other.headers["X-CSRF-Token"],
                                                             "active": "1"})
    assert r.status_code == 403 and not _account(sqlite_engine, "p1s2.hieutruong").active
    assert re.search("đơn vị quản lý cấp trên", r.text)
    assert w.client("head").get("/ward/accounts").status_code == 403
