"""Disabling an account (CLI and the administrator's page) ends its sessions at once."""
from __future__ import annotations

import re

from sqlalchemy import select

from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.web_tables import Account
from tests.e2e.cli import Cli
from tests.web_support import PASSWORD, build_world


def _world(tmp_path):
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    return build_world(engine, tmp_path), Cli(tmp_path, url)


def test_cli_disable_ends_sessions_and_enable_lets_the_user_back(tmp_path):
    world, cli = _world(tmp_path)
    head = world.client("head")
    assert head.get("/api/me").status_code == 200
    out = cli("account", "disable", "head").stdout
    assert "Đã khóa tài khoản «head»" in out
    assert head.get("/api/me").status_code == 401  # the open session is gone
    again = world.client()
    assert again.post("/api/login", json={"username": "head", "password": PASSWORD}).status_code == 401
    cli("account", "enable", "head")
    world.client("head")  # logs in (asserts 200)
    missing = cli("account", "disable", "khong-co-ai", ok=False)
    assert missing.returncode == 3 and "Không tìm thấy tài khoản «khong-co-ai»" in missing.stderr


def test_administrator_disables_from_the_accounts_page(tmp_path):
    world, _cli = _world(tmp_path)
    head = world.client("head")
    admin = world.client("admin")
    admin.headers.pop("X-CSRF-Token")
    page = admin.get("/accounts").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with UnitOfWork(world.engine) as uow:
        head_id = uow.session.execute(select(Account.id).where(Account.username == "head")).scalar_one()
    r = admin.post(f"/accounts/{head_id}/active", data={"csrf_token": token, "active": "0", "confirm": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/accounts?done=disabled"
    assert "Đã khóa tài khoản" in admin.get("/accounts?done=disabled").text
    assert head.get("/api/me").status_code == 401
    officer = world.client("officer")
    officer.headers.pop("X-CSRF-Token")
    assert officer.post(f"/accounts/{head_id}/active", data={"csrf_token": token, "active": "1"}).status_code == 403
