"""`cdsflow accounts …`: the same use-cases as the administrator's page, from the command line,
with the set-password mails received by a real SMTP server on 127.0.0.1."""
from __future__ import annotations

import socket
from dataclasses import replace
from email import message_from_bytes

from openpyxl import load_workbook

from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.services.accounts import find_account
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from tests.e2e.cli import Cli
from tests.web_support import PASSWORD, build_world

NEW = "mat-khau-moi-that-dai"


def _received(engine) -> list[tuple[str, str]]:
    """Deliver the outbox to an SMTP server on 127.0.0.1; (recipient, text body) of what arrived."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    try:
        drain_outbox_sync(engine, replace(load_settings({}), host="127.0.0.1", port=port, connections=2))
    finally:
        controller.stop()
    out = []
    for _from, rcpts, raw in store.messages:
        text = next(p for p in message_from_bytes(raw).walk() if p.get_content_type() == "text/plain")
        out.append((rcpts[0], text.get_payload(decode=True).decode("utf-8")))
    return out


def test_accounts_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    cli = Cli(tmp_path, url)
    cli.env["CDSFLOW_BASE_URL"] = "https://cds.badinh.edu.vn"

    out = cli("accounts", "schools", str(world.campaign_id)).stdout
    # A short summary; each school's accounts and addresses are in the details workbook.
    assert "Đã tạo" in out and f"tai-khoan-truong-ke-hoach-{world.campaign_id}.xlsx" in out
    rows = list(load_workbook(tmp_path / f"tai-khoan-truong-ke-hoach-{world.campaign_id}.xlsx").active
                .iter_rows(min_row=3, values_only=True))
    detail = " ".join(str(r[4]) for r in rows)
    assert "p1s1.hieutruong → p1s1@hanoi.edu.vn" in detail
    mails = _received(engine)
    assert ("p1s1@hanoi.edu.vn" in {r for r, _ in mails}) and len(mails) == detail.count("→ ")
    assert all("https://cds.badinh.edu.vn/login/reset?token=" in body for _, body in mails)

    out = cli("accounts", "edit", "clerk", "--email", "mai.do@hanoi.edu.vn", "--role", "officer", "--unit", "P2").stdout
    assert "Đã sửa tài khoản «clerk»" in out and "Chuyên viên Sở/Phòng" in out
    bad = cli("accounts", "edit", "clerk", "--role", "school_head", ok=False)
    assert bad.returncode != 0 and "không thuộc được" in bad.stderr
    with UnitOfWork(engine) as uow:
        a = find_account(uow, "clerk")
        assert (a.role, a.email) == ("officer", "mai.do@hanoi.edu.vn")

    c = world.client()
    for _ in range(5):
        c.post("/api/login", json={"username": "clerk", "password": "sai-mat-khau"})
    assert c.post("/api/login", json={"username": "clerk", "password": PASSWORD}).status_code == 429
    assert "Đã gỡ tạm khóa" in cli("accounts", "unlock", "clerk").stdout
    assert c.post("/api/login", json={"username": "clerk", "password": PASSWORD}).status_code == 200

    wrong = cli("accounts", "password", "reviewer", "--current", "khong-dung-dau", "--new", NEW, ok=False)
    assert wrong.returncode != 0 and "Mật khẩu hiện tại không đúng" in wrong.stderr
    assert "Đã đổi mật khẩu" in cli("accounts", "password", "reviewer", "--current", PASSWORD, "--new", NEW).stdout
    assert c.post("/api/login", json={"username": "reviewer", "password": NEW}).status_code == 200
    # `accounts` and `account` are one group: disable/enable (tests/e2e/test_account_disable.py) too.
    assert "Đã khóa tài khoản «head»" in cli("accounts", "disable", "head").stdout
