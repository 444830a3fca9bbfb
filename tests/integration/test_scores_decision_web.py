"""Issue 23 on the scoring page and in the papers: every rate spelling through the web form, the
points field under a tier, the page's total equal to the stored one, the unconfirmed-tier mark,
maintainers' sources never shown to the school, and a Tờ trình that proposes per group only the
levels reached."""
from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlmodel import select

from cdsflow.assessment.files import load_index_set_file
from cdsflow.assessment.xlsx import write_answer_workbook
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.services import papers
from cdsflow.services.assessments import transition
from cdsflow.services.demo import prepare_proposal
from cdsflow.services.scoring import save_answers
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Unit
from cdsflow.workflow.context import ActorRef
from tests.papers_world import HEADS, launch, record, walk
from tests.web_support import build_world


@pytest.fixture
def world(engine, tmp_path):
    return build_world(engine, tmp_path)


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def post_form(world, fields):
    head = world.client("head")
    head.headers.pop("X-CSRF-Token")
    return head, head.post(f"/assessments/{world.p1s1}/scores",
                           data={"csrf_token": csrf(head, f"/assessments/{world.p1s1}"), "phase": "self", **fields})


def stored(world):
    with UnitOfWork(world.engine) as uow:
        row = uow.session.exec(select(AssessmentScore).where(AssessmentScore.assessment_id == world.p1s1,
                                                             AssessmentScore.phase == "self")).first()
        return (dict(row.item_points), row.group1_total) if row else ({}, None)


@pytest.mark.parametrize(("spelling", "points"), [("70", 7), ("70%", 7), ("70 %", 7), ("0,7%", 2), ("85,5", 7)])
def test_every_rate_spelling_through_the_web_form(world, spelling, points):
    head, r = post_form(world, {"item:1.6.2": spelling})
    assert r.status_code == 303, r.text
    assert stored(world)[0]["1.6.2"] == points
    page = head.get(r.headers["location"]).text
    assert f'data-item="1.6.2">{points}<' in page


@pytest.mark.parametrize("spelling", ["0,7", "0.7"])
def test_a_bare_rate_under_one_is_refused_on_the_page(world, spelling):
    _, r = post_form(world, {"item:1.6.2": spelling})
    assert r.status_code == 422
    assert "1.6.2" in r.text and "ghi 70 hoặc 70%" in r.text and f'value="{spelling}"' in r.text  # typed text kept
    assert stored(world) == ({}, None)


def test_points_under_a_tier_are_kept_and_the_live_total_is_the_stored_one(world):
    head, r = post_form(world, {"item:1.6.2": "45", "pts:1.6.2": "3", "item:1.4": "25", "pts:1.4": "4"})
    assert r.status_code == 303, r.text
    points, total = stored(world)
    assert (points["1.6.2"], points["1.4"], total) == (3, 4, 7)
    page = head.get(r.headers["location"]).text
    assert 'data-group-total="1">7<' in page and 'name="pts:1.6.2"' in page and 'value="3"' in page
    # What the page's script sends for the live total (the answer and the points under its tier)
    # is scored by the same function: the same figure as stored.
    preview = world.client("head").post(f"/api/assessments/{world.p1s1}/scores/preview", json={
        "phase": "self", "answers": {"1.6.2": {"value": "45", "points": "3"}, "1.4": {"value": "25", "points": "4"}}})
    assert preview.status_code == 200 and preview.json()["groups"][0]["total"] == total
    # Saving the page again unchanged does not drop the points.
    _, r = post_form(world, {"item:1.6.2": "45", "orig:1.6.2": "45", "pts:1.6.2": "3", "origpts:1.6.2": "3"})
    assert r.status_code == 303 and stored(world)[0]["1.6.2"] == 3


def test_unconfirmed_tier_marked_and_sources_never_shown_to_the_school(world):
    head, r = post_form(world, {"item:1.6.1": "10", "pts:1.6.1": "5"})
    assert r.status_code == 303, r.text
    assert stored(world)[0]["1.6.1"] == 5  # the unconfirmed (0, 30) tier advises 2; it does not cap
    page = head.get(r.headers["location"]).text
    item = page.split('id="muc-1.6.1"')[1].split('class="item"')[0]
    assert '<span class="unconfirmed" data-unconfirmed="1.6.1">' in item and "bậc điểm chưa xác nhận" in item
    for maintainers_only in ("Nguồn tiếng Anh", "(?)", "nguồn phụ", "bản OCR"):
        assert maintainers_only not in page
    assert "Ghi tỉ lệ kèm dấu %" in page  # the scorers' note is there


def test_a_failed_mandatory_criterion_is_chua_dat_and_the_to_trinh_proposes_per_group(sqlite_engine):
    w = launch(sqlite_engine, schools=1)
    aid = walk(sqlite_engine, w, "P1S1", Stage.SELF_ASSESSMENT)
    at = datetime(2024, 11, 3, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    with UnitOfWork(sqlite_engine) as uow:
        prepare_proposal(uow, aid, HEADS["P1S1"], at, 0.9)
    with UnitOfWork(sqlite_engine) as uow:
        save_answers(uow.session, aid, "self", {"1.2": "không"}, HEADS["P1S1"])
        school = uow.session.exec(select(Unit).where(Unit.code == "P1S1")).one()
    head = ActorRef(HEADS["P1S1"], school.id)
    record(sqlite_engine, aid, head, at)
    with UnitOfWork(sqlite_engine) as uow:
        transition(uow, aid, "submit_proposal", head, now=at)
    _, body = papers.generate(sqlite_engine, "to_trinh", school_code="P1S1", issued_on=date(2024, 11, 5))
    doc = Document(io.BytesIO(body))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "đối với nhóm tiêu chí 2" in text and "đối với nhóm tiêu chí 1" not in text
    assert "đạt mức" not in text.split("kính đề nghị")[1].split("nhóm tiêu chí 2")[0].lower()
    assert any(c.startswith("Chưa đạt") and "1.2" in c for c in cells)  # the group's level column
    with pytest.raises(InvalidInput, match=r"nhóm tiêu chí 1.*1\.2 chưa đạt"):
        papers.generate(sqlite_engine, "to_trinh", school_code="P1S1", issued_on=date(2024, 11, 5),
                        data={"requested_level": {"1": 2}}, on_existing="replace", reason="thử")


def test_a_failed_mandatory_criterion_reads_chua_dat_on_the_scoring_page(world):
    head, r = post_form(world, {"item:1.2": "khong", "item:1.3.1": "co"})
    assert r.status_code == 303, r.text
    page = head.get(r.headers["location"]).text
    bar = page.split('data-group-level="1">')[1].split("</span>")[0]
    assert bar == "Chưa đạt (điều kiện bắt buộc 1.2 chưa đạt)"


def test_the_officers_list_marks_points_on_an_unconfirmed_tier(world):
    officer = world.client("officer")
    assert "bậc điểm chưa xác nhận" not in officer.get(f"/campaigns/{world.campaign_id}/schools").text
    _, r = post_form(world, {"item:1.6.1": "10", "pts:1.6.1": "5"})
    assert r.status_code == 303, r.text
    page = officer.get(f"/campaigns/{world.campaign_id}/schools").text
    row = next(x for x in page.split("<tr") if f"/assessments/{world.p1s1}\"" in x)
    assert '<span class="unconfirmed">bậc điểm chưa xác nhận</span>' in row


def test_an_answer_sheet_made_from_the_earlier_form_is_refused_on_upload(world, tmp_path):
    old = load_index_set_file(Path(__file__).parents[1] / "e2e" / "fixtures_4725_before_1_6_1_rate.yaml")
    path = write_answer_workbook(tmp_path / "phieu-cu.xlsx", old, {"1.6.1": 5, "1.6.2": 45})
    head = world.client("head")
    head.headers.pop("X-CSRF-Token")
    r = head.post(f"/assessments/{world.p1s1}/answer-sheet",
                  data={"csrf_token": csrf(head, f"/assessments/{world.p1s1}"), "phase": "self"},
                  files={"file": ("phieu-cu.xlsx", path.read_bytes(),
                                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert r.status_code == 422
    assert "mục 1.6.1 đã đổi nghĩa" in r.text and "điểm do người đánh giá cho" in r.text
    assert stored(world) == ({}, None)
