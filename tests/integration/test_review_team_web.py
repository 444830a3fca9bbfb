"""The review team in the web app: API and pages on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document
from sqlalchemy import func, select, update

from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.review_tables import ReviewTeam, ReviewTeamMember, ReviewVisit
from cdsflow.storage.tables import Assessment
from tests.web_support import build_world

pytestmark = pytest.mark.usefixtures("before_the_review")  # the 2025 team is formed before its period ends

TEAM = {
    "name": "Đoàn đánh giá ngoài Phòng GDĐT số 1",
    "period_start": "2025-04-01", "period_end": "2025-05-20",
    "members": [
        {"full_name": "Trần Minh Tuấn", "position": "Phó Trưởng phòng", "workplace": "Phòng GDĐT số 1", "role": "head"},
        {"full_name": "Phạm Quang Hùng", "position": "Chuyên viên", "workplace": "Phòng GDĐT số 1", "role": "Thư ký",
         "username": "reviewer"},
        {"full_name": "Ngô Thị Thu", "position": "Hiệu trưởng", "workplace": "Trường Tiểu học Số 1.3", "role": "member"},
    ],
}


@pytest.fixture
def world(engine, tmp_path):
    w = build_world(engine, tmp_path)
    with UnitOfWork(engine) as uow:  # P1S1 has sent its proposal; P1S2 is still at work
        uow.session.execute(update(Assessment).where(Assessment.id == w.p1s1).values(state="proposal", locked=True))
        uow.commit()
    return w


def counts(world) -> tuple[int, int, int]:
    with UnitOfWork(world.engine) as uow:
        return tuple(uow.session.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (ReviewTeam, ReviewTeamMember, ReviewVisit))


def test_officer_forms_the_team_and_reviewer_reads_it(world):
    officer, reviewer = world.client("officer"), world.client("reviewer")
    url = f"/api/campaigns/{world.campaign_id}/team"
    empty = reviewer.get(url).json()
    assert empty["exists"] is False and [s["school_code"] for s in empty["schools"]] == ["P1S1"]
    r = officer.put(url, json=TEAM)
    assert r.status_code == 200, r.text
    assert [(m["full_name"], m["role"], m["username"]) for m in r.json()["members"]] == [
        ("Trần Minh Tuấn", "head", ""), ("Phạm Quang Hùng", "secretary", "reviewer"), ("Ngô Thị Thu", "member", "")]
    r = officer.put(url + "/visits", json={"visits": [{"school": "P1S1", "visit_date": "2025-04-15", "session": "chiều"}]})
    assert r.status_code == 200, r.text
    got = reviewer.get(url).json()
    assert got["name"] == TEAM["name"] and got["period_start"] == "2025-04-01"
    assert got["schools"][0] == {"assessment_id": world.p1s1, "school_code": "P1S1",
                                      "school_name": "Trường Tiểu học Số 1.1", "stage": "proposal",
                                      "visit_date": "2025-04-15", "session": "chiều"}
    page = reviewer.get(f"/campaigns/{world.campaign_id}/team")
    assert page.status_code == 200 and "Phạm Quang Hùng" in page.text and "Thư ký" in page.text
    assert "15/04/2025" in page.text and "<form method=\"post\" action=\"/campaigns" not in page.text  # read-only
    clerk_page = world.client("clerk").get(f"/campaigns/{world.campaign_id}/team")
    assert clerk_page.status_code == 200 and "Trần Minh Tuấn" in clerk_page.text
    dash = officer.get(f"/campaigns/{world.campaign_id}")
    assert f'href="/campaigns/{world.campaign_id}/team"' in dash.text


def test_refusals_name_the_problem_and_store_nothing(world):
    officer = world.client("officer")
    url = f"/api/campaigns/{world.campaign_id}/team"
    r = officer.put(url, json={**TEAM, "members": TEAM["members"][2:]})
    assert r.status_code == 422 and r.json()["error"].startswith("Danh sách Đoàn đánh giá ngoài có lỗi")
    assert "Đoàn cần đúng một Trưởng đoàn (đang có 0)" in r.json()["details"]
    assert "Đoàn cần ít nhất một Thư ký" in r.json()["details"]
    assert counts(world) == (0, 0, 0)
    assert officer.put(url, json=TEAM).status_code == 200
    r = officer.put(url + "/visits", json={"visits": [{"school": "P1S2", "visit_date": "2025-04-15"}]})
    assert r.status_code == 422
    assert r.json()["details"][0].startswith("Trường Tiểu học Số 1.2 chưa gửi tờ trình đề nghị đánh giá ngoài")
    r = officer.put(url + "/visits", json={"visits": [{"school": "P1S1", "visit_date": "2025-07-01"}]})
    assert r.status_code == 422 and "nằm ngoài thời gian làm việc của đoàn" in r.json()["details"][0]
    assert counts(world) == (1, 3, 0)
    # Another bureau's officer does not even see the campaign; the department above may form the team.
    assert world.client("officer2").put(url, json=TEAM).status_code == 404
    assert world.client("dept").put(url, json=TEAM).status_code == 200


def test_team_form_and_visit_form_on_the_page(world):
    officer = world.client("officer")
    token = officer.headers.pop("X-CSRF-Token")  # a browser posts the token in the form
    page_url = f"/campaigns/{world.campaign_id}/team"
    page = officer.get(page_url)
    assert page.status_code == 200 and 'name="full_name"' in page.text
    # The period is pre-filled from the calendar's review window.
    assert 'name="period_start" value="2025-04-01"' in page.text and 'value="2025-05-20"' in page.text
    form = {"csrf_token": token, "name": "", "period_start": "2025-04-01", "period_end": "2025-05-20",
            "full_name": ["Trần Minh Tuấn", "Phạm Quang Hùng", ""], "position": ["Phó Trưởng phòng", "Chuyên viên", ""],
            "workplace": ["Phòng GDĐT số 1", "", ""], "role": ["member", "secretary", "member"],
            "username": ["", "", ""]}
    r = officer.post(page_url, data=form)
    assert r.status_code == 422 and "Đoàn cần đúng một Trưởng đoàn" in r.text
    assert 'value="Phạm Quang Hùng"' in r.text  # what was typed is still on the form
    assert counts(world) == (0, 0, 0)
    r = officer.post(page_url, data={**form, "csrf_token": "sai"})
    assert r.status_code == 403 and counts(world) == (0, 0, 0)
    r = officer.post(page_url, data={**form, "role": ["head", "secretary", "member"]})
    assert r.status_code == 303 and r.headers["location"].endswith("done=team")
    page = officer.get(r.headers["location"])
    assert "Đã lưu Đoàn đánh giá ngoài." in page.text and f'name="date:{world.p1s1}"' in page.text
    r = officer.post(page_url + "/visits", data={"csrf_token": token, f"date:{world.p1s1}": "2025-04-10",
                                                 f"session:{world.p1s1}": "sáng"})
    assert r.status_code == 303
    page = officer.get(page_url)
    assert re.search(rf'name="date:{world.p1s1}" value="2025-04-10"', page.text)
    r = officer.post(page_url + "/visits", data={"csrf_token": token, f"date:{world.p1s1}": "31/02/2025"})
    assert r.status_code == 422 and "ngày không hợp lệ" in r.text and "ví dụ 10/03/2026" in r.text
    # A day typed the Vietnamese way (a browser without a date picker) is the same day.
    r = officer.post(page_url + "/visits", data={"csrf_token": token, f"date:{world.p1s1}": "10/4/2025",
                                                 f"session:{world.p1s1}": "sáng"})
    assert r.status_code == 303
    assert re.search(rf'name="date:{world.p1s1}" value="2025-04-10"', officer.get(page_url).text)
    assert counts(world) == (1, 2, 1)


def test_decision_from_the_dashboard_uses_the_formed_team(world):
    from cdsflow.documents.settings import update_settings

    update_settings(world.engine, "P1", {"signer_name": "Lê Văn Phúc"})  # the authority names its signer once
    officer = world.client("officer")
    url = f"/api/campaigns/{world.campaign_id}/documents"
    refused = officer.post(url, json={"doc_type": "qd_doan_danh_gia"})
    assert refused.status_code == 422 and "hãy thành lập Đoàn đánh giá ngoài" in refused.json()["error"]
    assert officer.put(f"/api/campaigns/{world.campaign_id}/team", json=TEAM).status_code == 200
    r = officer.post(url, json={"doc_type": "qd_doan_danh_gia"})
    assert r.status_code == 201 and r.json() == {"generated": 1, "skipped": []}
    (row,) = [d for d in officer.get("/api/documents").json() if d["doc_type"] == "qd_doan_danh_gia"]
    paper = world.client("clerk").get(row["download"])
    assert paper.status_code == 200
    cells = [c.text for t in Document(io.BytesIO(paper.content)).tables for row in t.rows for c in row.cells]
    assert "Trần Minh Tuấn" in cells and "Trưởng đoàn" in cells and "Trường Tiểu học Số 1.1" in cells
