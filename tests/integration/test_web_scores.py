"""The scoring form (caps, live totals, levels), the external scores beside the school's, evidence files."""
from __future__ import annotations

import re

import pytest

from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.scoring import load_answers
from cdsflow.storage.db import UnitOfWork
from tests.factories import tiny_pdf
from tests.web_support import COMMITTEE, build_world, fill_self_assessment, form_review_team


@pytest.fixture
def world(engine, tmp_path):
    return build_world(engine, tmp_path)


def items(world):
    with UnitOfWork(world.engine) as uow:
        return index_set_for_assessment(uow.session, world.p1s1)


def answers(world, phase="self"):
    with UnitOfWork(world.engine) as uow:
        return load_answers(uow.session, world.p1s1, phase)


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def first_of(index_set, kind):
    return next(i for i in index_set.items.values() if i.kind.value == kind)


def test_form_shows_caps_and_saving_updates_totals(world):
    head = world.client("head")
    page = head.get(f"/assessments/{world.p1s1}/scores")
    assert page.status_code == 200 and "tối đa" in page.text and 'data-group-total="1">0<' in page.text
    assert "Tổng:" not in page.text  # the two groups are scored separately, never added
    s = items(world)
    yes = first_of(s, "yes_no")
    head.headers.pop("X-CSRF-Token")
    r = head.post(f"/assessments/{world.p1s1}/scores",
                  data={"csrf_token": csrf(head, f"/assessments/{world.p1s1}"), "phase": "self", f"item:{yes.code}": "co"})
    assert r.status_code == 303
    assert answers(world) == {yes.code: "co"}
    page = head.get(r.headers["location"])
    assert "Đã lưu điểm." in page.text
    assert f'data-item="{yes.code}">{format(yes.max_points.normalize(), "f").replace(".", ",")}<' in page.text


def test_preview_scores_without_storing(world):
    s = items(world)
    pct = first_of(s, "percentage")
    r = world.client("member").post(f"/api/assessments/{world.p1s1}/scores/preview",
                                    json={"phase": "self", "answers": {pct.code: 100}})
    assert r.status_code == 200 and r.json()["items"][pct.code]["points"] == float(pct.max_points)
    assert r.json()["total"] == float(pct.max_points) and answers(world) == {}


def test_a_bad_answer_is_refused_whole_and_named(world):
    s = items(world)
    yes, pct = first_of(s, "yes_no"), first_of(s, "percentage")
    r = world.client("head").put(f"/api/assessments/{world.p1s1}/scores",
                                 json={"phase": "self", "answers": {yes.code: "co", pct.code: 150}})
    assert r.status_code == 422 and pct.code in str(r.json()) and "100%" in str(r.json())
    assert answers(world) == {}


def test_only_the_right_people_score_each_phase(world):
    s = items(world)
    yes = first_of(s, "yes_no")
    body = {"phase": "self", "answers": {yes.code: "co"}}
    for who in ("clerk", "reviewer", "officer"):
        assert world.client(who).put(f"/api/assessments/{world.p1s1}/scores", json=body).status_code == 403
    assert world.client("head2").put(f"/api/assessments/{world.p1s1}/scores", json=body).status_code == 404
    r = world.client("reviewer").put(f"/api/assessments/{world.p1s1}/scores", json={**body, "phase": "external"})
    assert r.status_code == 403 and "thành viên đoàn đánh giá ngoài" in r.json()["details"][0]  # not in the team
    r = world.client("officer").put(f"/api/assessments/{world.p1s1}/scores", json={**body, "phase": "external"})
    assert r.status_code == 422 and "Đang đánh giá ngoài" in r.json()["details"][0]  # the supervisor, too early
    assert "Lưu điểm" not in world.client("clerk").get(f"/assessments/{world.p1s1}/scores").text


def test_proposal_locks_the_school_scores_and_reviewers_score_beside_them(world):
    head, reviewer = world.client("head"), world.client("reviewer")
    head.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": COMMITTEE})
    for trigger in ("form_committee", "start_self_assessment"):
        v = head.get(f"/api/assessments/{world.p1s1}").json()["version"]
        head.post(f"/api/assessments/{world.p1s1}/transitions", json={"trigger": trigger, "version": v})
    fill_self_assessment(head, world.engine, world.p1s1)
    form_review_team(world, "reviewer", "officer")
    for who, trigger in (("head", "submit_proposal"), ("reviewer", "start_review")):
        v = head.get(f"/api/assessments/{world.p1s1}").json()["version"]
        assert world.client(who).post(f"/api/assessments/{world.p1s1}/transitions",
                                      json={"trigger": trigger, "version": v}).status_code == 200
    yes = first_of(items(world), "yes_no")
    r = head.put(f"/api/assessments/{world.p1s1}/scores", json={"phase": "self", "answers": {yes.code: "khong"}})
    assert r.status_code == 422 and "đã khóa" in r.json()["details"][0]
    r = reviewer.put(f"/api/assessments/{world.p1s1}/scores", json={"phase": "external", "answers": {yes.code: "khong"}})
    assert r.status_code == 200
    page = reviewer.get(f"/assessments/{world.p1s1}/scores?phase=external")
    assert "Đánh giá ngoài" in page.text and "tự đánh giá:" in page.text and "Lưu điểm" in page.text


def test_evidence_file_is_stored_privately_and_served_only_in_scope(world, tmp_path):
    head = world.client("head")
    token = head.headers.pop("X-CSRF-Token")
    code = next(iter(items(world).criteria))
    r = head.post(f"/assessments/{world.p1s1}/evidence", data={"csrf_token": token, "criterion": code, "title": "Ảnh"},
                  files={"file": ("../../x.php", b"<?php", "text/plain")})
    assert r.status_code == 422 and "Loại tệp không được nhận" in r.text
    r = head.post(f"/assessments/{world.p1s1}/evidence", data={"csrf_token": token, "criterion": code, "title": "Kế hoạch"},
                  files={"file": ("../ke hoach.pdf", tiny_pdf("test"), "application/pdf")})
    assert r.status_code == 303
    stored = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}\.pdf", stored[0].name)
    eid = world.client("head").get(f"/api/assessments/{world.p1s1}/evidence").json()[0]["id"]
    got = world.client("officer").get(f"/evidence/{eid}/file")
    assert got.status_code == 200 and got.content == tiny_pdf("test")
    assert got.headers["content-disposition"].startswith("attachment")
    assert world.client("head2").get(f"/evidence/{eid}/file").status_code == 404
    assert world.client().get(f"/evidence/{eid}/file").status_code == 303


def test_school_removes_its_evidence_but_not_after_the_proposal(world):
    head = world.client("head")
    code = next(iter(items(world).criteria))
    r = head.post(f"/api/assessments/{world.p1s1}/evidence",
                  json={"criterion": code, "title": "Kế hoạch", "link": "ftp://x"})
    assert r.status_code == 422 and "http" in r.json()["error"]
    eid = head.post(f"/api/assessments/{world.p1s1}/evidence",
                    json={"criterion": code, "title": "Kế hoạch", "link": "https://truong.edu.vn/kh"}).json()["id"]
    assert world.client("officer").post(f"/evidence/{eid}/delete").status_code == 403
    ask = head.post(f"/evidence/{eid}/delete")  # deleting is confirmed first, on a page that names it
    assert ask.status_code == 200 and "Minh chứng «Kế hoạch»" in ask.text and "Xác nhận 1 minh chứng" in ask.text
    assert head.get(f"/api/assessments/{world.p1s1}/evidence").json() != []
    assert head.post(f"/evidence/{eid}/delete", data={"confirm": "1"}).status_code == 303
    assert head.get(f"/api/assessments/{world.p1s1}/evidence").json() == []


def test_excel_answer_sheet_reads_rates_as_meant_and_names_a_bad_cell(world):
    import html
    import io

    from openpyxl import load_workbook

    head = world.client("head")
    got = head.get(f"/assessments/{world.p1s1}/answer-sheet.xlsx")
    assert got.status_code == 200
    wb = load_workbook(io.BytesIO(got.content))
    rows = {row[0].value: row for row in wb["Trả lời"].iter_rows(min_row=3)}
    rows["1.6.2"][5].value = 0.7  # "70%" as Excel stores it in the %-formatted cell
    rows["1.6.1"][5].value, rows["1.6.1"][5].number_format = 85, "General"
    rows["1.7.1"][5].value = "60%"
    rows["1.4"][5].value = "nhiều"

    def upload():
        buf = io.BytesIO()
        wb.save(buf)
        return head.post(f"/assessments/{world.p1s1}/answer-sheet", data={"phase": "self"},
                         files={"file": ("phieu.xlsx", buf.getvalue(), "application/octet-stream")})

    r = upload()
    assert r.status_code == 422
    assert f"Ô {rows['1.4'][5].coordinate}: mục 1.4: số lượng không phải là số" in html.unescape(r.text)
    assert answers(world) == {}  # refused whole
    rows["1.4"][5].value = 25
    r = upload()
    assert r.status_code == 303, r.text
    assert answers(world) == {"1.4": 25, "1.6.1": 85, "1.6.2": 70, "1.7.1": 60}
    page = head.get(f"/assessments/{world.p1s1}/scores").text
    assert 'data-item="1.6.1">7<' in page and 'data-item="1.7.1">5<' in page  # 85 % and 60 % by their tiers


def test_the_reviewer_sees_the_schools_answer_and_evidence_beside_each_item(world):
    """Issue 26, item 5: on the external review's page every item shows what the school answered, the
    evidence of its criterion, and the items where the reviewer's answer differs are marked."""
    head, reviewer, aid = world.client("head"), world.client("reviewer"), world.p1s1
    head.put(f"/api/assessments/{aid}/committee", json={"version": 1, "members": COMMITTEE})
    for trigger in ("form_committee", "start_self_assessment"):
        v = head.get(f"/api/assessments/{aid}").json()["version"]
        head.post(f"/api/assessments/{aid}/transitions", json={"trigger": trigger, "version": v})
    fill_self_assessment(head, world.engine, aid)
    form_review_team(world, "reviewer", "officer")
    for who, trigger in (("head", "submit_proposal"), ("reviewer", "start_review")):
        v = head.get(f"/api/assessments/{aid}").json()["version"]
        assert world.client(who).post(f"/api/assessments/{aid}/transitions",
                                      json={"trigger": trigger, "version": v}).status_code == 200
    index_set, own = items(world), answers(world)
    yes = next(i for i in index_set.items.values() if i.kind.value == "yes_no" and own.get(i.code) is True)
    same = next(i for i in index_set.items.values() if i.kind.value == "yes_no" and i.code != yes.code
                and own.get(i.code) is True)
    r = reviewer.put(f"/api/assessments/{aid}/scores",
                     json={"phase": "external", "answers": {yes.code: "khong", same.code: "co"}})
    assert r.status_code == 200, r.text
    page = reviewer.get(f"/assessments/{aid}/scores?phase=external").text
    shown = {code: cls for cls, code in re.findall(r'<p class="(school-answer[^"]*)" data-school-answer="([^"]+)"', page)}
    assert set(shown) == set(index_set.items)  # beside every item
    assert shown[yes.code] == "school-answer differs" and shown[same.code] == "school-answer"
    line = re.search(rf'data-school-answer="{re.escape(yes.code)}">(.*?)</p>', page, re.S).group(1)
    assert "Trường tự đánh giá: <strong>Có</strong>" in line and "Khác với đoàn" in line
    criterion = next(c for c in index_set.criteria.values() if yes.code in {i.code for i in c.items})
    assert f"https://truong.edu.vn/{criterion.code}" in page  # the school's evidence, under the same criterion
    assert "data-school-answer" not in head.get(f"/assessments/{aid}/scores?phase=self").text
