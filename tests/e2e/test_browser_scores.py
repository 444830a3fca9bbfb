"""The school's scoring page in a real browser: tiers and caps in view, a rate typed as 85 scored as
85 %, the reviewers' return notes pinned, evidence added beside its criterion, and a colleague's save
in a second browser refusing a stale one while the typed value stays. Leaves a screenshot of the page
in tests/e2e/artifacts/scoring-page.png."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from tests.e2e.test_browser_walk import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, _need_browser, login, shot_on_failure
from tests.factories import tiny_pdf
from tests.web_support import COMMITTEE, build_world, fill_self_assessment, form_review_team

pytestmark = pytest.mark.browser
NOTE = "Thiếu danh sách giáo viên có tài khoản bồi dưỡng"


def _returned_file(world) -> None:
    """P1S1 scored in full, proposed, then returned by the reviewer with a note on criterion 1.6."""
    head, reviewer, aid = world.client("head"), world.client("reviewer"), world.p1s1
    head.put(f"/api/assessments/{aid}/committee", json={"version": 1, "members": COMMITTEE})
    for trigger in ("form_committee", "start_self_assessment"):
        v = head.get(f"/api/assessments/{aid}").json()["version"]
        head.post(f"/api/assessments/{aid}/transitions", json={"trigger": trigger, "version": v})
    fill_self_assessment(head, world.engine, aid)
    form_review_team(world, "reviewer", "officer")
    for who, body in (("head", {"trigger": "submit_proposal"}), ("reviewer", {"trigger": "start_review"}),
                      ("reviewer", {"trigger": "return_for_supplement", "reason": "Bổ sung minh chứng",
                                    "criteria_notes": {"1.6": NOTE}})):
        v = head.get(f"/api/assessments/{aid}").json()["version"]
        r = (head if who == "head" else reviewer).post(f"/api/assessments/{aid}/transitions", json={**body, "version": v})
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _need_browser()
    tmp_path = tmp_path_factory.mktemp("scores")
    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    _returned_file(world)
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = re.search(r"http://127\.0\.0\.1:\d+/", line := proc.stdout.readline())
    if not found:
        proc.kill()
        raise AssertionError(f"cdsflow serve did not start: {line}{proc.stdout.read()}")
    yield found.group(0).rstrip("/"), world, tmp_path
    proc.terminate()
    proc.wait(timeout=10)


def test_scoring_page_guides_the_school_and_loses_nothing(served, request):
    from playwright.sync_api import expect, sync_playwright

    base, world, tmp_path = served
    scores = f"{base}/assessments/{world.p1s1}/scores"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        head = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        member = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a colleague's phone
        for page in (head, member):
            page.set_default_timeout(15000)
        with shot_on_failure(head, request.node.name):
            login(head, base, "head")  # the school's home says the file came back, and why
            expect(head.locator("#tra-lai")).to_contain_text(NOTE)
            head.goto(scores)
            expect(head.locator("#tra-lai")).to_contain_text("Bổ sung minh chứng")
            expect(head.locator("#tc-1\\.6 .note-pin")).to_contain_text(NOTE)  # pinned beside the criterion
            tiers = head.get_by_label("Bậc điểm của mục 1.6.1")
            # 1.6.1's tiers are unconfirmed (4725 marks them): they advise, the cap is the item's maximum.
            expect(tiers).to_contain_text("Trên 60%: (60, 100] → gợi ý 7 điểm (bậc điểm chưa xác nhận)")
            expect(head.locator("#muc-1\\.6\\.1 .cap")).to_contain_text("Tỉ lệ (%); tối đa 7 điểm")
            expect(head.locator("#progress")).to_contain_text("30/30 mục")
            ARTIFACTS.mkdir(exist_ok=True)
            head.screenshot(path=str(ARTIFACTS / "scoring-top.png"))
            assert "Tổng:" not in head.locator("#scorebar").inner_text()  # each group on its own

            # A rate typed as 85 is 85 %: the tier "Trên 60%" → 7 points, before saving
            head.locator("[id='item-1.6.1']").fill("85")
            expect(head.locator("[data-item='1.6.1']")).to_have_text("7")
            expect(tiers.locator("li.on")).to_have_text(re.compile("^Trên 60%"))

            # A colleague saves the same item meanwhile, from another browser
            login(member, base, "member")
            member.goto(scores)
            member.locator("[id='item-1.6.1']").fill("20")
            member.get_by_role("button", name="Lưu điểm").last.click()
            expect(member.get_by_role("status").first).to_contain_text("Đã lưu điểm.")

            head.get_by_role("button", name="Lưu điểm").last.click()
            alert = head.get_by_role("alert")
            expect(alert).to_contain_text("người khác lưu")
            expect(alert).to_contain_text("mục 1.6.1: Vũ Ngọc Lan (member) đã lưu giá trị «20»")
            expect(head.locator("[id='item-1.6.1']")).to_have_value("85")  # what was typed stays

            # Evidence beside its criterion; a refused one keeps the typed title
            head.get_by_text("Thêm minh chứng cho tiêu chí 1.6").click()
            head.get_by_label("Tên minh chứng").and_(head.locator("#ev-title-1\\.6")).fill("Danh sách giáo viên")
            head.locator("#ev-link-1\\.6").fill("ftp://sai")
            head.locator("#mc-1\\.6").get_by_role("button", name="Thêm minh chứng").click()
            expect(head.get_by_role("alert")).to_contain_text("http")
            expect(head.locator("#ev-title-1\\.6")).to_have_value("Danh sách giáo viên")
            head.locator("#ev-link-1\\.6").fill("")
            head.locator("#ev-file-1\\.6").set_input_files(
                files=[{"name": "danh-sach.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("danh sach")}])
            head.locator("#mc-1\\.6").get_by_role("button", name="Thêm minh chứng").click()
            done = head.locator("#mc-1\\.6 .notice")
            expect(done).to_have_text("Đã thêm minh chứng.")
            expect(head.locator("#mc-1\\.6 .attached")).to_contain_text("Danh sách giáo viên")
            # the confirmation is in view, below the summary bar, not under it
            bar, note = head.locator("#scorebar").bounding_box(), done.bounding_box()
            assert bar["y"] + bar["height"] <= note["y"] < 900, (bar, note)

            head.locator("[id='item-1.6.1']").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            head.locator("#tc-1\\.6").screenshot(path=str(ARTIFACTS / "scoring-criterion.png"))
            head.screenshot(path=str(ARTIFACTS / "scoring-page.png"), full_page=False)
        browser.close()
