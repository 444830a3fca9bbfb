"""«Quên mật khẩu?» in a real browser (Debian's Chromium through Playwright) against `cdsflow serve`:
the reset mail is delivered to an SMTP server on 127.0.0.1, its link opens the form, the new
password logs in, and the link does not work twice. Screenshots of the accounts page and the
reset form are left in tests/e2e/artifacts/ for a person to look at."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email import message_from_bytes

import pytest

from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import load_settings
from cdsflow.notifications.sink import MemorySinkStore, start_sink
from cdsflow.services.accounts import find_account, update_account
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from tests.e2e.test_browser_walk import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, _need_browser, shot_on_failure
from tests.web_support import PASSWORD, build_world

pytestmark = pytest.mark.browser
NEW = "mat-khau-moi-that-dai"


@pytest.fixture(scope="module")
def served_world(tmp_path_factory):
    _need_browser()
    tmp = tmp_path_factory.mktemp("reset")
    url = f"sqlite:///{tmp / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    build_world(engine, tmp)
    with UnitOfWork(engine) as uow:
        a = find_account(uow, "member")
        update_account(uow, a.id, full_name=a.full_name, email="lan.vu@hanoi.edu.vn", role=a.role, unit_code="P1S1")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("CDSFLOW_BASE_URL", None)  # links must come from the served address itself
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
    assert found, proc.stdout.read()
    yield found.group(0).rstrip("/"), engine
    proc.terminate()
    proc.wait(timeout=10)
    engine.dispose()


def _deliver(engine) -> list[tuple[str, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MemorySinkStore()
    controller = start_sink(store, port=port)
    settings = replace(load_settings({}), host="127.0.0.1", port=port, connections=1)
    try:
        # Playwright's sync API holds an event loop in this thread: the sender runs in its own.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(drain_outbox_sync, engine, settings).result()
    finally:
        controller.stop()
    out = []
    for _from, rcpts, raw in store.messages:
        text = next(p for p in message_from_bytes(raw).walk() if p.get_content_type() == "text/plain")
        out.append((rcpts[0], text.get_payload(decode=True).decode("utf-8")))
    return out


def test_password_reset_through_the_mail_link(served_world, request):
    from playwright.sync_api import sync_playwright

    base, engine = served_world
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.set_default_timeout(15000)
        with shot_on_failure(page, request.node.name):
            page.goto(f"{base}/login")
            page.get_by_role("link", name="Quên mật khẩu?").click()
            page.get_by_label("Tên đăng nhập hoặc địa chỉ thư").fill("member")
            page.get_by_role("button", name="Gửi liên kết đặt lại mật khẩu").click()
            assert "Nếu thông tin vừa nhập khớp" in page.locator("main").inner_text()

            mails = _deliver(engine)
            assert [r for r, _ in mails] == ["lan.vu@hanoi.edu.vn"]
            link = re.search(r"(http://\S+/login/reset\?token=[\w-]+)", mails[0][1]).group(1)
            assert link.startswith(f"{base}/login/reset?token=")  # the served address, not a default

            page.goto(link)
            assert page.locator("h1").inner_text() == "Đặt lại mật khẩu"
            page.get_by_label("Mật khẩu mới (ít nhất 10 ký tự)").fill(NEW)
            page.get_by_label("Nhập lại mật khẩu mới").fill(NEW)
            page.screenshot(path=str(ARTIFACTS / "password-reset-form.png"), full_page=True)
            page.get_by_role("button", name="Lưu mật khẩu").click()
            page.wait_for_url(re.compile(r".*/login\?done=password_set$"))
            assert "Đã đặt mật khẩu" in page.locator("main").inner_text()

            page.get_by_label("Tên đăng nhập").fill("member")
            page.get_by_label("Mật khẩu", exact=True).fill(NEW)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_load_state()
            assert "Vũ Ngọc Lan" in page.locator("header").inner_text()
            page.get_by_role("button", name="Đăng xuất").click()

            page.goto(link)  # a spent link
            assert "không còn dùng được" in page.locator("main").inner_text()

            page.goto(f"{base}/login")
            page.get_by_label("Tên đăng nhập").fill("admin")
            page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_load_state()
            page.goto(f"{base}/accounts")
            assert "lan.vu@hanoi.edu.vn" in page.locator("table").inner_text()
            page.screenshot(path=str(ARTIFACTS / "accounts.png"), full_page=True)
        browser.close()
