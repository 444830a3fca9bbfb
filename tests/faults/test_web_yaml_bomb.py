"""The 410-byte YAML alias bomb, through every door a person can hand us YAML."""
from __future__ import annotations

import re
import time

import pytest

from tests.e2e.cli import Cli
from tests.web_support import build_world

pytestmark = pytest.mark.faults

BOMB = b"""issuer: P1
school_year: 2025-2026
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""


def page_csrf(client, path) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_bomb_uploaded_as_a_calendar_is_refused_fast_and_stores_nothing(sqlite_engine, tmp_path):
    world = build_world(sqlite_engine, tmp_path)
    c = world.client("officer2")
    c.headers.pop("X-CSRF-Token")
    token = page_csrf(c, "/campaigns")
    started = time.monotonic()
    r = c.post("/campaigns", data={"csrf_token": token, "school_year": "2025-2026"},
               files={"calendar_file": ("lich.yaml", BOMB, "text/yaml")})
    took = time.monotonic() - started
    print(f"\ncalendar bomb refused in {took * 1000:.0f} ms")
    assert r.status_code == 422 and "không nhận neo và bí danh YAML" in r.text
    assert not list((tmp_path / "uploads" / "calendars").glob("*"))
    assert took < 5  # generous: the unprotected loader ran for minutes


@pytest.mark.parametrize("args", [
    ("calendar", "check", "bomb.yaml"),
    ("indexset", "check", "bomb.yaml"),
    ("score", "show", "4725", "bomb.yaml"),
    ("docs", "generate", "qd_hoi_dong", "--school", "X", "--data", "bomb.yaml"),
])
def test_bomb_given_to_the_cli_is_refused_with_a_vietnamese_message(tmp_path, args):
    (tmp_path / "bomb.yaml").write_bytes(BOMB)
    cli = Cli(tmp_path)
    cli("init")
    done = cli(*args, ok=False)
    assert done.returncode != 0
    assert "neo và bí danh YAML" in done.stdout + done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [
    ("indexset", "check", "latin1.yaml"),
    ("score", "show", "4725", "latin1.yaml"),
    ("docs", "generate", "qd_hoi_dong", "--school", "X", "--data", "latin1.yaml"),
])
def test_non_utf8_yaml_gets_a_clear_message(tmp_path, args):
    (tmp_path / "latin1.yaml").write_bytes("ghi_chu: \"Trường\"\n".encode("utf-16"))
    cli = Cli(tmp_path)
    cli("init")
    done = cli(*args, ok=False)
    assert done.returncode != 0
    assert "không phải UTF-8" in done.stdout + done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
