"""A Phòng's officer builds next year's calendar from last year's in a real browser: shifts it,
fixes the deadline that landed on 30/4, fills the online form's fields and a relative deadline
("5 ngày làm việc sau khi trả hồ sơ bổ sung") through their controls, sees the table checked as
they type (no YAML anywhere), saves it, sees who
the launch covers and who it leaves out, and launches on it. The editor's screenshot is kept in
tests/e2e/artifacts/calendar_editor.png."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlalchemy import select

from cdsflow.calendars import timeutil
from cdsflow.calendars.table import draft_from_yaml
from cdsflow.services.calendar_drafts import save_calendar, saved_calendar
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Campaign, CampaignMilestone
from tests.e2e.test_browser_walk import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, _need_browser, login, shot_on_failure
from tests.web_support import build_world

pytestmark = pytest.mark.browser

LAST_YEAR = """issuer: "Phòng Giáo dục và Đào tạo số 1"
school_year: 2024-2025
issued: 2025-03-03
reminders: {before: [3, 1], on_the_day: true, overdue_every: 2}
milestones:
  - key: hoi-dong
    title: "Thành lập Hội đồng tự đánh giá"
    actor: school
    stage: committee_formed
    due: 2025-03-14
  - key: to-trinh
    title: "Tự đánh giá; gửi tờ trình đề nghị đánh giá ngoài"
    actor: school
    stage: proposal
    due: 2025-04-30
    documents: [bien_ban, to_trinh]
  - key: danh-gia-ngoai
    title: "Đánh giá ngoài"
    actor: bureau
    stage: external_review
    window: 2025-05
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    tmp = tmp_path_factory.mktemp("browser-calendar")
    url = f"sqlite:///{tmp / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    build_world(engine, tmp)
    # Last year's calendar of the Phòng, saved with the editor then: its proposal was due 30/4/2025,
    # which moves to 30/4/2026, a public holiday.
    with UnitOfWork(engine) as uow:
        save_calendar(uow, get_unit(uow, "P1").id, draft_from_yaml(LAST_YEAR), actor="Trần Minh Tuấn")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not found:
        proc.kill()
        raise AssertionError(f"cdsflow serve did not start: {line}{proc.stdout.read()}")
    yield found.group(0).rstrip("/"), engine
    proc.terminate()
    proc.wait(timeout=10)
    engine.dispose()


def test_officer_builds_next_years_calendar_fixes_a_holiday_and_launches_on_it(server):
    from playwright.sync_api import expect, sync_playwright

    base, engine = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15000)
        with shot_on_failure(page, "calendar_editor_failure"):
            login(page, base, "officer")
            page.goto(f"{base}/campaigns")
            page.get_by_role("link", name="Soạn lịch").last.click()
            page.get_by_label("Bắt đầu từ lịch").select_option(
                label="Phòng Giáo dục và Đào tạo số 1 – năm học 2024-2025 – phiên bản 1")
            page.get_by_label("Dời sang năm học").fill("2025-2026")
            page.get_by_role("button", name="Mở lịch").click()

            flag = page.locator(".flag", has_text="Dòng 2: ngày 30/04/2026 rơi vào ngày nghỉ lễ")
            expect(flag).to_contain_text("đề xuất ngày làm việc 29/04/2026")
            due = page.get_by_label("Dòng 2 – Hạn", exact=True)
            expect(due).to_have_value("30/04/2026")  # dates as officers write them
            checked = lambda: int(page.locator("#calendar-form").get_attribute("data-checked") or 0)  # noqa: E731

            before = checked()
            flag.get_by_role("button", name="Dùng ngày 29/04/2026").click()
            expect(due).to_have_value("29/04/2026")
            # Not wait_for_function: its polling evaluates a string, which the page's CSP forbids.
            expect(page.locator("#calendar-form")).not_to_have_attribute("data-checked", str(before))
            expect(page.locator("#flags")).not_to_contain_text("30/04/2026")
            expect(page.locator("#problems")).not_to_contain_text("30/04/2026")

            # Enumerations are Vietnamese choices, not codes.
            expect(page.get_by_label("Dòng 2 – Giai đoạn", exact=True)).to_have_value("Đã gửi tờ trình")
            expect(page.get_by_label("Dòng 3 – Đối tượng", exact=True)).to_have_value("Phòng")

            # The online form of row 2 through its own controls: opens, closes, sends, the send that counts.
            page.get_by_label("Dòng 2 – Biểu mẫu: mở", exact=True).fill("2026-04-01")
            page.get_by_label("Dòng 2 – Biểu mẫu: đóng", exact=True).fill("2026-04-29 17:00")
            page.get_by_label("Dòng 2 – Biểu mẫu: số lần gửi tối đa", exact=True).fill("1")
            page.get_by_label("Dòng 2 – Biểu mẫu: lần gửi được tính", exact=True).select_option("đầu tiên")
            page.get_by_label("Dòng 2 – Gửi lại sau khi bị trả: số ngày", exact=True).fill("5")

            # A new row with a relative rule in plain parts, checked as they type: the missing number
            # is named by row and column at once, then given.
            page.get_by_role("button", name="Thêm dòng").click()
            page.get_by_label("Dòng 4 – Mã mốc", exact=True).fill("nop-lai")
            page.get_by_label("Dòng 4 – Nội dung", exact=True).fill("Bổ sung hồ sơ và gửi lại")
            page.get_by_label("Dòng 4 – Đối tượng", exact=True).select_option("Trường")
            page.get_by_label("Dòng 4 – Giai đoạn", exact=True).select_option("Đã gửi tờ trình")
            page.get_by_label("Dòng 4 – Hạn tương đối: sau khi", exact=True).fill("trả hồ sơ bổ sung")
            expect(page.locator("#problems")).to_contain_text("Lỗi: Dòng 4, cột «Hạn tương đối: sau khi»")
            page.get_by_label("Dòng 4 – Hạn tương đối: số ngày", exact=True).fill("5")
            page.get_by_label("Dòng 4 – Hạn tương đối: loại ngày", exact=True).select_option("ngày làm việc")
            expect(page.locator("#problems")).not_to_contain_text("Lỗi:")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "calendar_editor.png"), full_page=True)
            # The whole milestone table, unscrolled, for a reader of the artifacts.
            page.evaluate("document.querySelector('.calendar-wide').style.overflow = 'visible'")
            page.locator("#milestones").screenshot(path=str(ARTIFACTS / "calendar_editor_table.png"))
            page.evaluate("document.querySelector('.calendar-wide').style.overflow = ''")

            page.get_by_role("button", name="Lưu thành phiên bản mới", exact=True).click()
            expect(page.locator(".notice")).to_have_text("Đã lưu lịch thành phiên bản mới.")
            expect(page.get_by_label("Năm học (ví dụ 2024-2025)")).to_have_value("2025-2026")
            expect(page.get_by_label("Lịch triển khai").locator("option:checked")).to_have_text(
                "Phòng Giáo dục và Đào tạo số 1 – năm học 2025-2026 – phiên bản 1")
            page.get_by_role("button", name="Xem phạm vi trước khi phát động").click()

            expect(page.locator("h2#trong-pham-vi")).to_have_text("Các đơn vị được đánh giá (3)")
            expect(page.locator("table").last).to_contain_text(
                "Mầm non: đánh giá theo bộ chỉ số 3276, bộ này còn là khung tạm thời")
            page.get_by_role("button", name="Xác nhận phát động").click()
            expect(page.locator(".notice")).to_have_text("Đã phát động kế hoạch.")
            campaign_id = int(re.search(r"/campaigns/(\d+)", page.url).group(1))
        browser.close()

    with UnitOfWork(engine) as uow:
        assert uow.session.get(Campaign, campaign_id).school_year == "2025-2026"
        due_at = uow.session.execute(select(CampaignMilestone.due_at).where(
            CampaignMilestone.campaign_id == campaign_id, CampaignMilestone.key == "to-trinh")).scalar_one()
    assert timeutil.local(due_at).date().isoformat() == "2026-04-29"
    with UnitOfWork(engine) as uow:
        source = uow.session.get(Campaign, campaign_id).calendar_source
        cal = saved_calendar(uow, None, int(source.rsplit("/", 1)[1]))
    by_key = {m.key: m for m in cal.milestones}
    rule = by_key["nop-lai"].relative
    assert (rule.event, rule.count, rule.working) == ("returned", 5, True)
    form = by_key["to-trinh"].submission
    assert form.max_submissions == 1 and form.counts == "first" and form.after_return.count == 5
    assert timeutil.local(form.opens_at).date().isoformat() == "2026-04-01"
