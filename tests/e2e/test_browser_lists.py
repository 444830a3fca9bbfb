"""A real browser on the officer's list (search, filter, ticks, the bulk confirmation, the Excel
download read back with openpyxl) and, at a phone's width (375 px), every main page without a table
wider than the page. Screenshots of both go to tests/e2e/artifacts/."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from cdsflow.storage.db import make_engine
from tests.e2e.test_browser_walk import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, login, logout, server, shot_on_failure  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def test_officer_finds_ticks_confirms_and_exports(server, browser, request):  # noqa: F811
    base, world, url = server
    engine = make_engine(url)
    with engine.begin() as conn:  # two schools of P1 waiting at their proposal (set up directly)
        conn.execute(text("UPDATE assessment SET state = 'proposal' WHERE id IN (:a, :b)"),
                     {"a": world.p1s1, "b": world.p1s2})
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15000)
    with shot_on_failure(page, request.node.name):
        login(page, base, "officer")
        page.goto(f"{base}/campaigns/{world.campaign_id}/schools")
        page.get_by_label("Tìm theo mã hoặc tên").fill("Số 1.")
        page.get_by_label("Giai đoạn").select_option("proposal")
        page.get_by_role("button", name="Lọc").click()
        page.wait_for_load_state()
        assert page.locator("#count strong").inner_text() == "2"
        page.get_by_label("Chọn Trường Tiểu học Số 1.1").check()
        page.get_by_label("Chọn Trường Tiểu học Số 1.2").check()
        page.get_by_label("Với các cơ sở đã đánh dấu").select_option("start_review")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lists-desktop.png"), full_page=True)
        page.get_by_role("button", name="Xem trước và xác nhận…").click()
        page.wait_for_load_state()
        assert "Sẽ thực hiện cho 2 cơ sở giáo dục" in page.locator("main").inner_text()
        page.get_by_role("button", name="Xác nhận 2 cơ sở giáo dục").click()
        page.wait_for_load_state()
        assert "đã thực hiện cho 2 hồ sơ" in page.get_by_role("status").first.inner_text()
        with engine.connect() as conn:
            moved = conn.execute(text("SELECT state FROM assessment WHERE id IN (:a, :b)"),
                                 {"a": world.p1s1, "b": world.p1s2}).scalars().all()
        assert moved == ["external_review", "external_review"]
        page.goto(f"{base}/campaigns/{world.campaign_id}/schools?stage=external_review")
        with page.expect_download() as download:
            page.click("#export-schools")
        ws = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
        assert ws["A2"].value == "Mã đơn vị" and ws["A2"].font.b
        assert sorted(row[0] for row in ws.iter_rows(min_row=3, values_only=True)) == ["P1S1", "P1S2"]
    engine.dispose()


def test_no_table_is_wider_than_a_phone(server, browser, request):  # noqa: F811
    base, world, url = server
    engine = make_engine(url)
    with engine.connect() as conn:
        parent = conn.execute(text("SELECT parent_id FROM campaign WHERE id = :c"), {"c": world.campaign_id}).scalar()
    engine.dispose()
    pages = {
        "dept": [f"/campaigns/{parent}", f"/campaigns/{parent}/schools", f"/campaigns/{parent}/province", "/campaigns"],
        "officer": [f"/campaigns/{world.campaign_id}/schools", f"/assessments/{world.p1s1}",
                    f"/campaigns/{world.campaign_id}/team", "/documents"],
        "head": [f"/assessments/{world.p1s1}", f"/assessments/{world.p1s1}/scores"],
        "admin": ["/accounts", "/mailbox"],
    }
    page = browser.new_page(viewport={"width": 375, "height": 812})
    page.set_default_timeout(15000)
    too_wide = []
    with shot_on_failure(page, request.node.name):
        for user, paths in pages.items():
            login(page, base, user)
            for path in paths:
                page.goto(base + path)
                assert page.locator("h1").count(), path
                width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                tables = page.evaluate("[...document.querySelectorAll('main table')].filter("
                                       "t => t.getBoundingClientRect().right > window.innerWidth + 1).length")
                if width[0] > width[1] or tables:
                    too_wide.append(f"{path} ({user}): trang rộng {width[0]} px, {tables} bảng tràn")
                if path.endswith("/schools") and user == "dept":
                    page.screenshot(path=str(ARTIFACTS / "lists-phone.png"), full_page=True)
                    page.locator("#schools").scroll_into_view_if_needed()
                    page.screenshot(path=str(ARTIFACTS / "lists-phone-cards.png"))
            logout(page)
    assert not too_wide, too_wide
