"""Accounts that run themselves, through the web as the user meets them: a campaign's school
accounts in one step with their set-password links received by a real SMTP server on 127.0.0.1,
"Quên mật khẩu?" (single use, no enumeration), the administrator's edit / disable / enable /
unlock, one's own password change, and login throttling that never shuts out an office."""
from __future__ import annotations

import re
import socket
from dataclasses import replace
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from cdsflow.app.web.app import create_app
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.services import accounts as account_svc
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.web_tables import Account, PasswordToken
from tests.web_support import PASSWORD, build_world

NEW = "mat-khau-moi-that-dai"
LINK = re.compile(r"(https?://[^\s\"<>]+/login/reset\?token=[\w-]+)")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("accounts")
    engine = make_engine(f"sqlite:///{tmp / 'web.db'}")
    metadata.create_all(engine)
    yield build_world(engine, tmp)
    engine.dispose()


@pytest.fixture(scope="module")
def mail(world):
    """A real SMTP server on 127.0.0.1 and a function that delivers the outbox to it and returns
    what arrived since the last call: [(recipient, subject, text body)]."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    settings = replace(load_settings({}), host="127.0.0.1", port=port, connections=2)
    seen = [0]

    def deliver() -> list[tuple[str, str, str]]:
        drain_outbox_sync(world.engine, settings)
        out = []
        for _from, rcpts, raw in store.messages[seen[0]:]:
            msg = message_from_bytes(raw)
            text = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
            out.append((rcpts[0], str(make_header(decode_header(msg["Subject"]))),
                        text.get_payload(decode=True).decode("utf-8")))
        seen[0] = len(store.messages)
        return out

    yield deliver
    controller.stop()


def _form_client(world, username: str):
    c = world.client(username)
    return c, c.headers.pop("X-CSRF-Token")


def _forgot(world, login: str, **headers):
    c = world.client()
    page = c.get("/login/forgot")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return c.post("/login/forgot", data={"csrf_token": token, "login": login}, headers=headers)


def _login(world, username: str, password: str) -> int:
    return world.client().post("/api/login", json={"username": username, "password": password}).status_code


def test_school_accounts_of_a_campaign_in_one_step_each_sets_its_password_by_link(world, mail):
    admin, token = _form_client(world, "admin")
    assert "Tài khoản cho mọi trường của một kế hoạch" in admin.get("/accounts").text
    ask = admin.post("/accounts/schools", data={"csrf_token": token, "campaign_id": world.campaign_id})
    assert ask.status_code == 200 and "Thư sẽ gửi" in ask.text and "p1s1.hieutruong" in ask.text  # shown first
    with UnitOfWork(world.engine) as uow:
        assert not uow.session.scalars(select(Account).where(Account.username.like("%.thuky"))).all()
    r = admin.post("/accounts/schools", data={"csrf_token": token, "campaign_id": world.campaign_id, "confirm": "1"})
    assert r.status_code == 200, r.text
    assert "Đã tạo" in r.text and "p1s1.hieutruong" in r.text
    with UnitOfWork(world.engine) as uow:
        made = {a.username: a for a in uow.session.scalars(select(Account).where(Account.username.like("%.thuky")))}
        tokens = uow.session.scalars(select(PasswordToken.id)).all()
    # The campaign of Phòng 1: its schools only.
    assert {"p1s1.thuky", "p1s2.thuky"} <= set(made) and "p2s1.thuky" not in made
    assert made["p1s1.thuky"].role == "committee"
    assert all(len(t) == 64 for t in tokens)  # only the SHA-256 of each link is stored
    received = mail()
    to_head = [m for m in received if m[0] == "p1s1@hanoi.edu.vn" and "p1s1.hieutruong" in m[1]]
    assert len(to_head) == 1 and len(received) == 2 * len({m[0] for m in received})
    recipient, subject, body = to_head[0]
    assert "hãy đặt mật khẩu" in subject and "Hiệu trưởng" in body
    link = LINK.search(body).group(1)
    assert link.startswith("http://testserver/login/reset?token=")  # the request's own address
    # Running it again creates nothing and sends nothing.
    again = admin.post("/accounts/schools", data={"csrf_token": token, "campaign_id": world.campaign_id,
                                                  "confirm": "1"})
    assert "Đã tạo 0 tài khoản" in again.text and mail() == []
    # The link: a form, then the password works; the same link a second time is refused.
    c = world.client()
    path = link.removeprefix("http://testserver")
    form = c.get(path)
    assert form.status_code == 200 and "Đặt mật khẩu" in form.text and "p1s1.hieutruong" in form.text
    t = path.split("token=")[1]
    bad = c.post("/login/reset", data={"token": t, "password": NEW, "password2": NEW + "x"})
    assert bad.status_code == 422 and "không khớp" in bad.text
    assert c.post("/login/reset", data={"token": t, "password": NEW, "password2": NEW}).status_code == 303
    assert _login(world, "p1s1.hieutruong", NEW) == 200
    reused = c.post("/login/reset", data={"token": t, "password": "mot-mat-khau-khac", "password2": "mot-mat-khau-khac"})
    assert reused.status_code == 422 and "không còn dùng được" in reused.text
    assert _login(world, "p1s1.hieutruong", "mot-mat-khau-khac") == 401
    # Not yet set: no password opens the secretary's account.
    assert _login(world, "p1s1.thuky", "") == 401


def test_forgotten_password_by_mail_link_without_telling_who_exists(world, mail):
    admin, token = _form_client(world, "admin")
    with UnitOfWork(world.engine) as uow:
        member = account_svc.find_account(uow, "member")
        account_svc.update_account(uow, member.id, full_name=member.full_name, email="lan.vu@hanoi.edu.vn",
                                   role=member.role, unit_code="P1S1")
    known = _forgot(world, "member", host="evil.example")
    unknown = _forgot(world, "khong-ai-ca")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 - the form's token differs
    assert strip(known.text) == strip(unknown.text) and "Nếu thông tin vừa nhập khớp" in known.text
    received = mail()
    assert [m[0] for m in received] == ["lan.vu@hanoi.edu.vn"]
    body = received[0][2]
    link = LINK.search(body).group(1)
    # A visitor's Host header does not make the link: the server's own address does.
    assert "evil.example" not in body and link.startswith("http://testserver/login/reset?token=")
    t = link.split("token=")[1]
    c = world.client()
    assert "Đặt lại mật khẩu" in c.get(f"/login/reset?token={t}").text
    assert c.post("/login/reset", data={"token": t, "password": NEW, "password2": NEW}).status_code == 303
    assert c.cookies.get("cdsflow_device")  # the link proved the owner: this browser is known now
    assert _login(world, "member", PASSWORD) == 401 and _login(world, "member", NEW) == 200
    # By address works too; a disabled account gets nothing.
    _forgot(world, "LAN.VU@hanoi.edu.vn")
    assert [m[0] for m in mail()] == ["lan.vu@hanoi.edu.vn"]


def test_administrator_edits_disables_enables_and_unlocks(world):
    admin, token = _form_client(world, "admin")
    with UnitOfWork(world.engine) as uow:
        clerk_id = account_svc.find_account(uow, "clerk").id
    page = admin.get(f"/accounts/{clerk_id}")
    assert page.status_code == 200 and 'value="P1"' in page.text
    r = admin.post(f"/accounts/{clerk_id}/edit", data={"csrf_token": token, "full_name": "Đỗ Thanh Mai",
                                                         "email": "mai.do@hanoi.edu.vn", "role": "officer",
                                                         "unit_code": "P2"})
    assert r.status_code == 303
    me = world.client("clerk").get("/api/me").json()
    assert me["role"] == "officer"
    bad = admin.post(f"/accounts/{clerk_id}/edit", data={"csrf_token": token, "full_name": "", "email": "khong-phai-thu",
                                                           "role": "school_head", "unit_code": "P2"})
    assert bad.status_code == 422 and "địa chỉ thư không hợp lệ" in bad.text and "thiếu họ và tên" in bad.text
    with UnitOfWork(world.engine) as uow:
        a = account_svc.find_account(uow, "clerk")
        assert (a.role, a.email) == ("officer", "mai.do@hanoi.edu.vn")  # the refused edit changed nothing
    ask = admin.post(f"/accounts/{clerk_id}/active", data={"csrf_token": token, "active": "0"})
    assert "Xác nhận: khóa tài khoản" in ask.text and "Đỗ Thanh Mai (clerk)" in ask.text
    assert _login(world, "clerk", PASSWORD) == 200  # not locked before the second step
    admin.post(f"/accounts/{clerk_id}/active", data={"csrf_token": token, "active": "0", "confirm": "1"})
    assert _login(world, "clerk", PASSWORD) == 401
    admin.post(f"/accounts/{clerk_id}/active", data={"csrf_token": token, "active": "1"})
    assert _login(world, "clerk", PASSWORD) == 200
    # Five wrong passwords lock the account from that address; the page says so; unlock opens it.
    for _ in range(5):
        assert _login(world, "clerk", "sai-mat-khau") == 401
    assert _login(world, "clerk", PASSWORD) == 429
    listing = admin.get("/accounts").text
    assert "Tạm khóa (đăng nhập sai)" in listing
    assert admin.post(f"/accounts/{clerk_id}/unlock", data={"csrf_token": token}).status_code == 303
    assert "Tạm khóa (đăng nhập sai)" not in admin.get("/accounts").text
    assert _login(world, "clerk", PASSWORD) == 200


def test_a_user_changes_their_own_password_with_the_current_one(world):
    c, token = _form_client(world, "reviewer")
    other = world.client("reviewer")
    wrong = c.post("/me/password", data={"csrf_token": token, "current": "khong-dung-dau", "password": NEW,
                                         "password2": NEW})
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng" in wrong.text
    ok = c.post("/me/password", data={"csrf_token": token, "current": PASSWORD, "password": NEW, "password2": NEW})
    assert ok.status_code == 303 and "Đã đổi mật khẩu" in c.get(ok.headers["location"]).text
    assert other.get("/api/me").status_code == 401  # the other session ended, this one goes on
    assert _login(world, "reviewer", PASSWORD) == 401 and _login(world, "reviewer", NEW) == 200


def test_an_office_behind_one_address_is_not_locked_out_by_its_neighbours_typos(world):
    c = world.client()
    for i in range(25):  # a training room: many people, many typos, one router
        c.post("/api/login", json={"username": f"hoc-vien-{i}", "password": "sai"})
    wrong = c.post("/api/login", json={"username": "officer2", "password": "sai"})
    assert wrong.status_code == 429 and "ai nhập đúng mật khẩu vẫn đăng nhập" in wrong.json()["error"]
    assert c.post("/api/login", json={"username": "head2", "password": PASSWORD}).status_code == 200
    assert c.post("/api/login", json={"username": "officer2", "password": PASSWORD}).status_code == 200


def test_guesses_from_many_addresses_never_lock_the_owner_out(world, tmp_path):
    """Design: spaced checks for unknown browsers, none for the owner's known browser (no lock)."""
    from fastapi.testclient import TestClient
    from freezegun import freeze_time

    app = create_app(world.engine, uploads_dir=tmp_path / "u", trusted_proxies="testclient")
    owner = TestClient(app, raise_server_exceptions=False)
    with freeze_time("2026-03-02 08:00:00") as clock:
        # The owner logged in once from their office browser: it is a known device from now on.
        first = owner.post("/api/login", json={"username": "dept", "password": PASSWORD},
                           headers={"X-Forwarded-For": "192.0.2.10"})
        assert first.status_code == 200 and owner.cookies.get("cdsflow_device")
        attacker = TestClient(app, raise_server_exceptions=False)
        codes = []
        for address in range(30):  # 30 wrong passwords, each from a different address
            r = attacker.post("/api/login", json={"username": "dept", "password": f"sai-{address}"},
                              headers={"X-Forwarded-For": f"198.51.100.{address}"})
            codes.append(r.status_code)
        checked = codes.count(401)
        # The spacing holds a distributed guess to the free tries, then one check per open slot.
        assert checked == account_svc.SLOW_AFTER_PER_USER and codes.count(429) == 30 - checked
        spaced = attacker.post("/api/login", json={"username": "dept", "password": PASSWORD},
                               headers={"X-Forwarded-For": "203.0.113.5"})
        assert spaced.status_code == 429 and "thử lại sau" in spaced.json()["error"]
        # The owner's known browser, from a new address, gets in at once with the right password.
        home = owner.post("/api/login", json={"username": "dept", "password": PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.99"})
        assert home.status_code == 200
        # The owner on a new browser waits at most MAX_SPACING, then gets in.
        clock.tick(account_svc.MAX_SPACING.total_seconds() + 1)
        fresh = TestClient(app, raise_server_exceptions=False)
        assert fresh.post("/api/login", json={"username": "dept", "password": PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.50"}).status_code == 200
        # The administrator sees the attempts: how many, from where.
        page = world.client("admin").get(f"/accounts/{_account_id(world, 'dept')}")
        assert "Đăng nhập sai trong 15 phút qua" in page.text and "198.51.100.3" in page.text
        assert f"{checked} lần sai từ máy chưa từng đăng nhập" in page.text
    with UnitOfWork(world.engine) as uow:
        account_svc.unlock(uow, "dept")


def _account_id(world, username: str) -> int:
    with UnitOfWork(world.engine) as uow:
        return account_svc.find_account(uow, username).id
