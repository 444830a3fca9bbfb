"""A real browser on the ward picker at a province's shape (60 wards): typing «ba dinh» in the late
list's ward filter offers «Phường Ba Đình» from the server, choosing it filters the list; the
dashboard and the province view show one page of wards and fit a phone (360 px). Screenshots at
1280 and 360 px go to tests/e2e/artifacts/."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cdsflow.storage.db import make_engine
from tests.e2e.test_browser_walk import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, _need_browser, shot_on_failure
from tests.integration.test_ward_pages import build_wards
from tests.web_support import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _need_browser()
    tmp = tmp_path_factory.mktemp("browser-wards")
    url = f"sqlite:///{tmp / 'web.db'}"
    engine = make_engine(url)
    cid = build_wards(engine)
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
    if not found:
        proc.kill()
        raise AssertionError(f"cdsflow serve did not start: {proc.stdout.read()}")
    yield found.group(0).rstrip("/"), cid
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _login(page, base):
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill("dept")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("width", [1280, 360])
def test_the_picker_offers_a_ward_by_its_name_without_marks(served, browser, request, width):
    base, cid = served
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(15000)
    with shot_on_failure(page, request.node.name):
        _login(page, base)
        page.goto(f"{base}/campaigns/{cid}/schools?late=1")
        page.locator("#bureau-q").fill("ba dinh")
        page.get_by_text("1 đơn vị khớp.").wait_for()  # the answer to «ba dinh», not to the empty box
        option = page.get_by_role("option", name="Phường Ba Đình")
        assert page.locator("#bureau-options [role=option]").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"wards-picker-{width}.png"), full_page=False)
        option.click()
        assert page.locator("#bureau-q").input_value() == "Phường Ba Đình"
        page.get_by_role("button", name="Lọc").click()
        page.wait_for_load_state()
        assert page.locator("#count strong").inner_text() == "4"
        assert page.locator("#bureau-q").input_value() == "Phường Ba Đình" and "bureau=" in page.url
        assert _fits(page)
        for path, name in ((f"/campaigns/{cid}", "dashboard"), (f"/campaigns/{cid}/province", "province")):
            page.goto(f"{base}{path}")
            page.get_by_role("link", name="Trang sau →").first.wait_for()
            assert _fits(page), f"{name} is wider than {width} px"
            page.locator("#ward-search").evaluate("e => e.scrollIntoView()")
            page.screenshot(path=str(ARTIFACTS / f"wards-{name}-{width}.png"))
