"""Sessions, CSRF, login rate limiting, error pages and uploads (SQLite; the rules are not dialect-bound)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cdsflow.app.web.app import create_app
from cdsflow.calendars.catalog import find_calendar
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.web_tables import WebSession
from tests.web_support import COMMITTEE, PASSWORD, build_world


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def form_login(client, username, password, next_="/"):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": next_})


def page_csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_session_cookie_is_httponly_lax_and_only_its_hash_is_stored(world):
    c = world.client()
    r = form_login(c, "officer", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("cdsflow_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with UnitOfWork(world.engine) as uow:
        ids = list(uow.session.execute(select(WebSession.id)).scalars())
    assert token not in ids and len(ids) == 1


def test_login_redirect_stays_on_this_site(world):
    r = form_login(world.client(), "officer", PASSWORD, next_="//evil.example/x")
    assert r.headers["location"] == "/"
    r = form_login(world.client(), "officer", PASSWORD, next_=f"/campaigns/{world.campaign_id}")
    assert r.headers["location"] == f"/campaigns/{world.campaign_id}"


def test_login_form_without_its_token_is_refused(world):
    r = world.client().post("/login", data={"username": "officer", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403 and "CSRF" in r.text


def test_wrong_password_page_in_vietnamese(world):
    r = form_login(world.client(), "officer", "sai-mat-khau")
    assert r.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng." in r.text


def test_logout_ends_the_session_on_the_server(world):
    c = world.client()
    form_login(c, "officer", PASSWORD)
    stolen = c.cookies.get("cdsflow_session")
    r = c.post("/logout", data={"csrf_token": page_csrf(c, "/campaigns")})
    assert r.status_code == 303
    other = world.client()
    other.cookies.set("cdsflow_session", stolen)
    assert other.get("/api/me").status_code == 401


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": "forged"}])
def test_api_write_without_the_session_csrf_token_is_refused(world, headers):
    c = world.client("head")
    c.headers.pop("X-CSRF-Token")
    r = c.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE}, headers=headers)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    assert world.client("head").get(f"/api/assessments/{world.p1s1}").json()["committee"] == []


def test_form_post_without_csrf_field_is_refused(world):
    c = world.client("head")
    c.headers.pop("X-CSRF-Token")
    r = c.post(f"/assessments/{world.p1s1}/transition", data={"trigger": "form_committee", "version": "1"})
    assert r.status_code == 403 and "<html" in r.text and "CSRF" in r.text


def test_another_sessions_token_does_not_pass(world):
    mine, theirs = world.client("head"), world.client("head")
    mine.headers["X-CSRF-Token"] = theirs.headers["X-CSRF-Token"]
    assert mine.put(f"/api/assessments/{world.p1s1}/committee",
                    json={"version": 1, "members": COMMITTEE}).status_code == 403


def test_five_wrong_passwords_lock_the_username_for_every_process(world, tmp_path):
    c = world.client()
    for _ in range(5):
        assert c.post("/api/login", json={"username": "officer", "password": "sai"}).status_code == 401
    r = c.post("/api/login", json={"username": "officer", "password": PASSWORD})
    assert r.status_code == 429 and "quá nhiều lần" in r.json()["error"]
    # A second app process on the same database agrees (the counter is a table, not memory).
    from fastapi.testclient import TestClient

    second = TestClient(create_app(world.engine, uploads_dir=tmp_path / "u2"))
    assert second.post("/api/login", json={"username": "officer", "password": PASSWORD}).status_code == 429
    # Other users are not locked by it.
    assert c.post("/api/login", json={"username": "head", "password": PASSWORD}).status_code == 200


def test_one_client_address_guessing_many_usernames_is_stopped(world):
    c = world.client()
    for i in range(20):
        c.post("/api/login", json={"username": f"khong-co-{i}", "password": "sai"})
    # Its further wrong guesses are refused; a correct password from the same office still gets in.
    assert c.post("/api/login", json={"username": "member", "password": "sai"}).status_code == 429
    assert c.post("/api/login", json={"username": "head", "password": PASSWORD}).status_code == 200


def test_error_pages_are_vietnamese_and_leak_nothing(world):
    def boom():
        raise RuntimeError("secret detail /etc/shadow")

    world.app.add_api_route("/boom", boom)
    c = world.client("officer")
    r = c.get("/boom")
    assert r.status_code == 500 and "Đã có lỗi ở máy chủ" in r.text
    assert "secret" not in r.text and "Traceback" not in r.text
    r = c.get("/khong-co-trang-nay")
    assert r.status_code == 404 and "Không tìm thấy trang này." in r.text
    r = c.get("/api/assessments/abc")
    assert r.status_code == 422 and r.json()["error"] == "Dữ liệu gửi lên không hợp lệ."
    r = c.get("/assessments/999999")
    assert r.status_code == 404 and "Không tìm thấy hồ sơ đánh giá số 999999" in r.text
    assert c.get("/").headers["x-frame-options"] == "DENY"


def test_calendar_upload_is_checked_and_stored_under_a_generated_name(world, tmp_path):
    c = world.client("officer2")
    c.headers.pop("X-CSRF-Token")
    token = page_csrf(c, "/campaigns")
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2025-2026"},
               files={"calendar_file": ("lich.exe", b"MZ", "application/octet-stream")})
    assert r.status_code == 422 and "Loại tệp không được nhận" in r.text
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2025-2026"},
               files={"calendar_file": ("lich.yaml", b"a: 1\n" * 60000, "text/yaml")})
    assert r.status_code == 422 and "Tệp quá lớn" in r.text
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2025-2026"},
               files={"calendar_file": ("big.yaml", b"x" * (4 * 1024 * 1024), "text/yaml")})
    assert r.status_code == 413
    good = find_calendar("hanoi/ba-dinh-2024-2025").read_bytes()
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2024-2025"},
               files={"calendar_file": ("lich.yaml", good, "text/yaml")})
    assert r.status_code == 422 and "đã có kế hoạch" in r.text  # the bureau's share of the Sở's plan
    assert [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()] == []
    own = c.get("/api/campaigns").json()[0]["id"]
    for trigger in ("start_review", "recognise", "publish", "close"):
        c.post(f"/api/campaigns/{own}/advance", json={"trigger": trigger}, headers={"X-CSRF-Token": token})
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2024-2025"},
               files={"calendar_file": ("../../../evil.yaml", good, "text/yaml")})
    assert r.status_code == 303, r.text
    stored = list((tmp_path / "uploads").rglob("*"))
    files = [p for p in stored if p.is_file()]
    assert len(files) == 1 and files[0].parent.name == "calendars" and re.fullmatch(r"[0-9a-f]{32}\.yaml", files[0].name)
    assert not (tmp_path / "evil.yaml").exists()
    dash = c.get(r.headers["location"])
    assert "Đã phát động kế hoạch." in dash.text


def test_openapi_describes_the_api(world):
    spec = world.client().get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/campaigns", "/api/assessments/{assessment_id}/transitions", "/api/assessments/{assessment_id}/scores",
            "/api/documents", "/api/public/campaigns/{campaign_id}"} <= paths
    assert not any(p.startswith(("/campaigns", "/assessments", "/login")) for p in paths)  # pages stay out
    docs = world.client().get("/api/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert "content-security-policy" in world.client().get("/login").headers
