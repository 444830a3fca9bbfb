"""Limits before parsing, HTTPS cookies and HSTS, forwarded headers: through the web test client."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from cdsflow.app.web.app import create_app
from cdsflow.app.web.limits import huge_id, route_for
from cdsflow.kernel.safeyaml import AliasRefused, safe_load
from tests.web_support import PASSWORD, build_world


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def _page_token(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_over_https_cookies_are_secure_and_hsts_is_sent(world):
    c = TestClient(world.app, base_url="https://testserver", follow_redirects=False)
    r = c.post("/api/login", json={"username": "officer", "password": PASSWORD})
    assert r.status_code == 200
    assert "secure" in r.headers["set-cookie"].lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")
    plain = TestClient(world.app, follow_redirects=False)
    r = plain.post("/api/login", json={"username": "officer", "password": PASSWORD})
    assert "secure" not in r.headers["set-cookie"].lower() and "strict-transport-security" not in r.headers


def test_https_seen_through_a_trusted_proxy_only(world, tmp_path):
    behind = create_app(world.engine, uploads_dir=tmp_path / "u", trusted_proxies="testclient")
    c = TestClient(behind, follow_redirects=False)
    r = c.post("/api/login", json={"username": "officer", "password": PASSWORD},
               headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"})
    assert "secure" in r.headers["set-cookie"].lower() and "strict-transport-security" in r.headers
    untrusted = TestClient(world.app, follow_redirects=False)  # CDSFLOW_TRUSTED_PROXIES unset
    r = untrusted.post("/api/login", json={"username": "officer", "password": PASSWORD},
                       headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in r.headers["set-cookie"].lower()


def test_multipart_upload_needs_the_csrf_token_first(world):
    c = world.client("officer2")
    c.headers.pop("X-CSRF-Token")
    token = _page_token(c, "/campaigns")
    # Token as the first field (what our forms send): accepted and processed.
    ok = c.post("/campaigns", data={"csrf_token": token, "school_year": "2025-2026"},
                files={"calendar_file": ("lich.exe", b"MZ", "application/octet-stream")})
    assert ok.status_code == 422 and "Loại tệp không được nhận" in ok.text
    # A wrong token: refused before the body is parsed.
    bad = c.post("/campaigns", data={"csrf_token": "sai", "school_year": "2025-2026"},
                 files={"calendar_file": ("lich.yaml", b"a: 1\n", "text/yaml")})
    assert bad.status_code == 403 and "CSRF" in bad.text
    # Multipart where no upload is expected: refused unread.
    r = c.post("/accounts", data={"csrf_token": token}, files={"f": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 415


def test_unauthenticated_writes_are_refused_before_their_body(world):
    c = world.client()
    r = c.put(f"/api/assessments/{world.p1s1}/committee", content=b"{" * 10, headers={"content-type": "application/json"})
    assert r.status_code == 401 and r.json()["error"] == "Bạn cần đăng nhập."


def test_body_over_the_route_limit_is_413_in_vietnamese(world):
    c = world.client("head")
    r = c.put(f"/api/assessments/{world.p1s1}/committee", content=b"x" * (2 * 1024 * 1024),
              headers={"content-type": "application/json"})
    assert r.status_code == 413 and "quá lớn" in r.json()["error"]


def test_route_table_and_id_bounds():
    assert route_for("/assessments/12/evidence").limit > 20 * 1024 * 1024
    assert route_for("/login").public and route_for("/api/login").public
    assert route_for("/assessments/12/committee") is None
    assert huge_id("/campaigns/2147483648") and not huge_id("/campaigns/2147483647")


def test_yaml_anchor_and_alias_are_refused_but_plain_yaml_loads():
    assert safe_load("a: [1, 2]\nb: {c: 'd'}\n") == {"a": [1, 2], "b": {"c": "d"}}
    for text in ("a: &x 1\nb: 2\n", "a: 1\nb: *x\n", "a: &x [1]\nb: *x\n"):
        with pytest.raises(AliasRefused):
            safe_load(text)


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


@pytest.mark.parametrize("path", ["/login", "/login/forgot", "/login/reset", "/api/login", "/logout",
                                  f"/api/assessments/{1}/committee"])
def test_a_chunked_body_without_content_type_is_cut_before_any_route_reads_it(world, path):
    c = world.client()
    c.get("/login")  # the login form's cookie, so /login gets past its first check
    # (The test client sends the whole body; tests/faults/test_web_bodies.py counts what a real server reads.)
    r = c.post(path, content=_chunks(3 * 1024 * 1024))
    assert r.status_code in (401, 413), r.text
    if path.startswith("/login") or path == "/api/login":
        assert r.status_code == 413 and "quá lớn" in r.text


def test_a_get_with_a_large_body_is_cut(world):
    c = world.client("officer")
    r = c.request("GET", "/", content=_chunks(5 * 1024 * 1024))
    assert r.status_code == 413 and "quá lớn" in r.text


def test_a_foreign_origin_is_refused_even_with_a_valid_token(world):
    c = world.client("head")
    body = {"version": 1, "members": []}
    url = f"/api/assessments/{world.p1s1}/committee"
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        r = c.put(url, json=body, headers={"Origin": origin})
        assert r.status_code == 403 and "trang web khác" in r.json()["error"], origin
    r = c.put(url, json=body, headers={"Referer": "https://evil.example/page"})
    assert r.status_code == 403
    # The same origin (and none at all, as scripts send) passes the guard to the route's own checks.
    assert c.put(url, json=body, headers={"Origin": "http://testserver"}).status_code != 403
    assert c.put(url, json=body).status_code != 403
    # A form post with its token, from another site: refused; from this one: done.
    form = world.client("officer")
    token = form.headers.pop("X-CSRF-Token")
    assert form.post("/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
                     ).status_code == 403
    assert form.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://testserver"}
                     ).status_code == 303


def test_api_login_from_a_foreign_origin_gets_no_session(world):
    c = world.client()
    r = c.post("/api/login", json={"username": "officer", "password": PASSWORD},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    ok = c.post("/api/login", json={"username": "officer", "password": PASSWORD},
                headers={"Origin": "http://testserver"})
    assert ok.status_code == 200
