"""A real browser (Debian's Chromium through Playwright) against `cdsflow serve` in a subprocess:
every role logs in, one school goes from the plan to publication. A failing test leaves a screenshot
in tests/e2e/artifacts/."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from tests.web_support import ACCOUNTS, COMMITTEE, PASSWORD, build_world

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _need_browser():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "thiếu gói Python playwright"
    if not Path(CHROMIUM).exists():
        reason = f"thiếu {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI phải chạy kiểm thử trình duyệt: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A database with the test world, and `cdsflow serve` on an ephemeral port of 127.0.0.1
    (one per module: the login test does not depend on how far the walk went)."""
    _need_browser()
    tmp_path = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not found:
        proc.kill()
        raise AssertionError(f"cdsflow serve did not start: {line}{proc.stdout.read()}")
    yield found.group(0).rstrip("/"), world, url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.set_default_timeout(15000)
        yield page
        browser.close()


@contextmanager
def shot_on_failure(page, name: str):
    """Keep what the browser showed when a step failed (tests/e2e/artifacts/<test>.png)."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


@contextmanager
def api_as(base: str, username: str):
    import httpx

    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.post("/api/login", json={"username": username, "password": PASSWORD}).json()["csrf_token"]
        c.headers["X-CSRF-Token"] = token
        yield c


def api_fill(base: str, username: str, db_url: str, aid: int, phase: str = "self") -> None:
    from tests.web_support import fill_external_review, fill_self_assessment

    with api_as(base, username) as c:
        engine = make_engine(db_url)
        try:
            (fill_self_assessment if phase == "self" else fill_external_review)(c, engine, aid)
        finally:
            engine.dispose()


def login(page, base, username):
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def logout(page):
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r".*/login$"))


def click_step(page, label):
    page.get_by_role("button", name=label).click()
    page.wait_for_load_state()


def test_every_role_logs_in_and_sees_its_home(server, browser_page, request):
    with shot_on_failure(browser_page, request.node.name):
        base, world, _ = server
        page = browser_page
        for username, (name, role, _unit) in ACCOUNTS.items():
            login(page, base, username)
            assert name in page.locator("header").inner_text()
            if role in ("school_head", "committee"):
                assert page.locator("h1").inner_text().startswith("Trường Tiểu học")
            else:
                assert page.locator("h1").inner_text() == "Kế hoạch đánh giá"
            logout(page)


def test_one_school_from_plan_to_publication(server, browser_page, request):
    with shot_on_failure(browser_page, request.node.name):
        base, world, db_url = server
        page = browser_page
        school = f"{base}/assessments/{world.p1s1}"

        login(page, base, "head")
        assert page.url == school  # the head's only file opens directly
        assert "Đã ban hành kế hoạch" in page.locator("#stage").inner_text()
        click_step(page, "Xác nhận thành lập Hội đồng tự đánh giá")
        assert "chưa có danh sách Hội đồng" in page.get_by_role("alert").inner_text()  # the core's reason, shown
        for i, m in enumerate(COMMITTEE, start=1):
            page.get_by_label(f"Họ và tên thành viên {i}", exact=True).fill(m["full_name"])
            page.get_by_label(f"Chức vụ thành viên {i}", exact=True).fill(m["position"])
            page.get_by_label(f"Vai trò thành viên {i}", exact=True).select_option(m["role"])
        page.get_by_role("button", name="Lưu Hội đồng").click()
        assert "Đã lưu danh sách Hội đồng" in page.get_by_role("status").inner_text()
        click_step(page, "Xác nhận thành lập Hội đồng tự đánh giá")
        click_step(page, "Bắt đầu tự đánh giá")
        click_step(page, "Gửi tờ trình đề nghị đánh giá ngoài")
        assert "chưa" in page.locator("main").inner_text()  # the confirmation names the unscored items
        page.goto(school)
        page.click("#scores-link")
        assert page.locator("[data-group-total='1']").inner_text() == "0"
        page.locator("[id='item-1.6.2']").fill("100")  # a percentage at its top tier
        from playwright.sync_api import expect

        expect(page.locator("[data-group-total='1']")).not_to_have_text("0")  # follows the form before saving
        page.get_by_role("button", name="Lưu điểm").last.click()
        assert "Đã lưu điểm." in page.get_by_role("status").inner_text()
        api_fill(base, "head", db_url, world.p1s1)  # the remaining items and evidence, through the API
        page.goto(school)
        click_step(page, "Gửi tờ trình đề nghị đánh giá ngoài")
        assert "lần gửi thứ 1" in page.locator("main").inner_text()  # confirmed first, naming the send
        click_step(page, "Xác nhận 1 cơ sở giáo dục")
        assert page.locator("#stage").inner_text() == "Đã gửi tờ trình"
        assert "Đã gửi tờ trình lần 1 lúc" in page.get_by_role("status").inner_text()
        logout(page)

        with api_as(base, "officer") as c:  # the officer forms the review team, the reviewer a member
            members = [{"full_name": ACCOUNTS["reviewer"][0], "role": "head", "username": "reviewer"},
                       {"full_name": ACCOUNTS["officer"][0], "role": "secretary", "username": "officer"}]
            today = date.today()  # the server's clock is today's: the team works from today, not in a period over
            period = {"period_start": today.isoformat(), "period_end": (today + timedelta(days=30)).isoformat()}
            assert c.put(f"/api/campaigns/{world.campaign_id}/team",
                         json={"members": members, **period}).status_code == 200
        login(page, base, "reviewer")
        page.goto(f"{base}/campaigns/{world.campaign_id}")
        assert "Đã nộp 1/3" in page.locator("#progress").inner_text()
        page.goto(school)
        click_step(page, "Tiếp nhận hồ sơ, bắt đầu đánh giá ngoài")
        page.get_by_label("Lý do trả hồ sơ").fill("Thiếu minh chứng")
        page.get_by_text("Ghi chú theo từng tiêu chí").click()
        page.get_by_label("Tiêu chí 1.2:").fill("Chưa có ảnh chụp phần mềm")
        click_step(page, "Trả hồ sơ, yêu cầu bổ sung")
        note = page.locator("p.warning").inner_text()  # a return is confirmed first, saying what it sends
        assert "Lý do: Thiếu minh chứng." in note and "Tiêu chí 1.2: Chưa có ảnh chụp phần mềm." in note
        click_step(page, "Xác nhận 1 cơ sở giáo dục")
        assert page.locator("#stage").inner_text() == "Đang tự đánh giá"
        logout(page)

        login(page, base, "head")
        assert "Tiêu chí 1.2: Chưa có ảnh chụp phần mềm" in page.locator("#history ~ ol").inner_text()
        click_step(page, "Gửi tờ trình đề nghị đánh giá ngoài")
        click_step(page, "Xác nhận 1 cơ sở giáo dục")
        logout(page)

        login(page, base, "officer")
        page.goto(school)
        click_step(page, "Tiếp nhận hồ sơ, bắt đầu đánh giá ngoài")
        api_fill(base, "reviewer", db_url, world.p1s1, phase="external")  # the team's scores, every item
        click_step(page, "Công nhận mức độ chuyển đổi số")
        # Recognition is confirmed on a page that names the school first.
        assert "Trường Tiểu học Số 1.1" in page.locator("main").inner_text()
        click_step(page, "Xác nhận 1 cơ sở giáo dục")
        assert page.locator("#stage").inner_text() == "Đã công nhận"
        click_step(page, "Công bố kết quả")
        assert "chưa có Quyết định công nhận" in page.locator("main").inner_text()  # skipped, with the reason
        with api_as(base, "clerk") as c:  # the văn thư issues the numbered decision
            r = c.post(f"/api/campaigns/{world.campaign_id}/documents", json={"doc_type": "qd_cong_nhan"})
            assert r.status_code == 201, r.text
        page.goto(school)
        click_step(page, "Công bố kết quả")
        click_step(page, "Xác nhận 1 cơ sở giáo dục")
        assert page.locator("#stage").inner_text() == "Đã công bố"
        logout(page)

        page.goto(f"{base}/results/{world.campaign_id}")  # no login needed
        assert "Trường Tiểu học Số 1.1" in page.locator("main").inner_text()
        assert "Đã công bố kết quả của 1/3" in page.locator("main").inner_text()


# Issue 26, item 7: every role's pages at a phone's width and a laptop's, no horizontal scroll of the
# page (a wide table scrolls inside its own box), a screenshot of each kept in tests/e2e/artifacts/screens/.
WIDTHS = (360, 1280)


def _pages(world, parent: int) -> dict[str, list[tuple[str, str]]]:
    cid = world.campaign_id
    return {
        "officer": [("ke-hoach", "/campaigns"), ("bang-theo-doi", f"/campaigns/{cid}"),
                    ("danh-sach-truong", f"/campaigns/{cid}/schools"),
                    ("soan-lich", "/calendars/editor?source=shipped:hanoi/ba-dinh-2024-2025"),
                    ("tai-khoan-truong", "/ward/accounts"), ("van-ban", "/documents")],
        "dept": [("tinh", f"/campaigns/{parent}/province"), ("danh-sach-truong", f"/campaigns/{parent}/schools")],
        "admin": [("tai-khoan", "/accounts"), ("hop-thu", "/mailbox")],
        "reviewer": [("ke-hoach", "/campaigns"), ("doan", f"/campaigns/{cid}/team"),
                     ("danh-gia-ngoai", f"/assessments/{world.p1s1}/scores?phase=external")],
        "head": [("ho-so", f"/assessments/{world.p1s1}"), ("cham-diem", f"/assessments/{world.p1s1}/scores")],
        "clerk": [("van-ban", "/documents")],
    }


def test_each_role_fits_a_phone_and_a_laptop(server, request):
    from playwright.sync_api import sync_playwright

    from cdsflow.storage.tables import Campaign

    base, world, db_url = server
    engine = make_engine(db_url)
    with engine.connect() as conn:
        parent = conn.execute(Campaign.__table__.select().where(Campaign.id == world.campaign_id)).first().parent_id
    engine.dispose()
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    too_wide = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(15000)
            with shot_on_failure(page, f"{request.node.name}-{width}"):
                for username, visits in _pages(world, parent).items():
                    login(page, base, username)
                    for name, path in visits:
                        page.goto(f"{base}{path}")
                        assert page.locator("h1").count() == 1, (username, path, page.content()[:500])
                        page.screenshot(path=str(shots / f"{username}-{name}-{width}.png"), full_page=True)
                        page.screenshot(path=str(shots / f"{username}-{name}-{width}-dau-trang.png"))  # first screen
                        page_width = page.evaluate("document.documentElement.scrollWidth")
                        if page_width > width + 1:
                            too_wide.append(f"{username} {path} at {width}px: the page is {page_width}px wide")
                    logout(page)
            page.close()
        browser.close()
    assert not too_wide, "\n".join(too_wide)
