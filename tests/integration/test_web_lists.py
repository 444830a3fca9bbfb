"""The officer's lists through the web: search, filters, sort, pages, the province view, Excel read
back with openpyxl, a bulk step on ticked schools confirmed first, and the proposal's confirmation
and the message that says what happened. One world for the module (SQLite)."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, Campaign, Unit
from tests.web_support import COMMITTEE, build_world, fill_self_assessment


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lists")
    engine = make_engine(f"sqlite:///{tmp / 'lists.db'}")
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    # The school of P1S1 walks to its proposal through the pages and the API (first test); the
    # formula-like name checks that an export never runs a school's name as a formula.
    with engine.begin() as conn:
        conn.execute(text("UPDATE unit SET name = '=HYPERLINK(\"http://x\") THPT' WHERE code = 'THPT1'"))
    yield w
    engine.dispose()


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def state(world, aid):
    with UnitOfWork(world.engine) as uow:
        return uow.session.get(Assessment, aid)


def parent_id(world):
    with UnitOfWork(world.engine) as uow:
        return uow.session.get(Campaign, world.campaign_id).parent_id


def unit_id(world, code):
    with UnitOfWork(world.engine) as uow:
        return uow.session.execute(select(Unit.id).where(Unit.code == code)).scalar_one()


def test_the_proposal_is_confirmed_first_and_the_message_says_what_happened(world):
    head = world.client("head")
    aid = world.p1s1
    assert head.put(f"/api/assessments/{aid}/committee", json={"version": 1, "members": COMMITTEE}).status_code == 200
    for trigger in ("form_committee", "start_self_assessment"):
        v = state(world, aid).version
        assert head.post(f"/api/assessments/{aid}/transitions", json={"trigger": trigger, "version": v}).status_code == 200
    fill_self_assessment(head, world.engine, aid)
    province = f"/campaigns/{parent_id(world)}/province"
    assert "Đã nộp 0/7" in world.client("dept").get(province).text  # computed, then kept in campaign_figures
    token, v = csrf(head, f"/assessments/{aid}"), state(world, aid).version
    form = {"csrf_token": token, "trigger": "submit_proposal", "version": str(v)}
    page = head.post(f"/assessments/{aid}/transition", data=form)
    assert page.status_code == 200 and "lần gửi thứ 1" in page.text and "Xác nhận 1 cơ sở giáo dục" in page.text
    assert state(world, aid).state == "self_assessment"  # nothing sent before the confirmation
    done = head.post(f"/assessments/{aid}/transition", data={**form, "confirm": "1"})
    assert done.status_code == 303 and state(world, aid).state == "proposal"
    shown = head.get(done.headers["location"]).text
    assert re.search(r"Đã gửi tờ trình lần 1 lúc \d\d:\d\d \d\d/\d\d/\d{4}; Phòng Giáo dục và Đào tạo số 1 đã nhận hồ sơ",
                     shown)
    # The stored province figures follow the step (its history line changes their key).
    assert "Đã nộp 1/7" in world.client("dept").get(province).text
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM campaign_figures")).scalar_one() == 1


def test_search_filters_sort_and_pages_with_the_officer_columns(world):
    dept, cid = world.client("dept"), parent_id(world)
    base = f"/campaigns/{cid}/schools"
    page = dept.get(base).text
    assert "<strong>7</strong> cơ sở" in page and "TĐG nhóm 1" in page and "Chậm hạn" in page
    found = dept.get(base, params={"q": "1.2"}).text
    assert "Số 1.2" in found and "Số 1.1" not in found and "<strong>1</strong> cơ sở" in found
    p2 = dept.get(base, params={"bureau": unit_id(world, "P2")}).text
    assert "Số 2.1" in p2 and "Số 1.1" not in p2 and "<strong>3</strong> cơ sở" in p2
    sent = dept.get(base, params={"stage": "proposal"}).text
    assert "Số 1.1" in sent and "<strong>1</strong> cơ sở" in sent and "1 ngày" not in sent.split("Số 1.1")[0]
    assert "<strong>1</strong> cơ sở" in dept.get(base, params={"school_level": "thpt"}).text
    # The school with self scores sorts first by self points, descending; empty values go last.
    by_score = dept.get(base, params={"sort": "self1", "dir": "desc"}).text
    assert by_score.index("Số 1.1") < by_score.index("Số 1.2") and 'aria-sort="descending"' in by_score
    # Deadlines of the 2024-2025 calendar have passed: every school not yet past them is late, in days.
    late = dept.get(base, params={"late": "1"}).text
    assert re.search(r"<strong>\d+ ngày</strong>", late)
    # Pages: 3 a page over 7 schools (the preschool is not assessed by 4725): the third page has one.
    api = dept.get(f"/api/campaigns/{cid}/schools", params={"per_page": 3, "page": 3, "sort": "code"})
    assert api.headers["X-Total-Count"] == "7" and [r["school_code"] for r in api.json()] == ["THPT1"]
    api = dept.get(f"/api/campaigns/{cid}/schools", params={"stage": "proposal"}).json()
    assert api[0]["self_group1"] is not None and api[0]["sends"] == 1 and api[0]["submitted_at"]
    bad = dept.get(base, params={"stage": "khong-co"})
    assert bad.status_code == 422 and "Giai đoạn không rõ" in bad.text


def test_province_view_counts_per_bureau_and_drills_down(world):
    dept, cid = world.client("dept"), parent_id(world)
    page = dept.get(f"/campaigns/{cid}/province").text
    p1 = unit_id(world, "P1")
    row = re.search(rf'href="/campaigns/{cid}/schools\?bureau={p1}">Phòng Giáo dục và Đào tạo số 1</a></td>\s*'
                    r'<td data-label="Đã nộp">(\d+)/(\d+)</td>', page)
    assert row and row.groups() == ("1", "3")  # P1S1 sent, of P1's three assessed schools
    assert "Đã nộp 1/7" in page
    api = dept.get(f"/api/campaigns/{cid}/province").json()
    assert api["total"]["submitted"] == 1 and api["total"]["total"] == 7 and len(api["units"]) == 3
    # The officer of a Phòng cannot open the Sở's province view.
    assert world.client("officer").get(f"/campaigns/{cid}/province").status_code == 404


def test_excel_exports_open_with_headers_dates_and_text_kept_as_text(world):
    dept, cid = world.client("dept"), parent_id(world)
    r = dept.get(f"/campaigns/{cid}/schools.xlsx", params={"sort": "name"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws["A2"].value == "Mã đơn vị" and ws["A2"].font.b and ws.column_dimensions["B"].width >= 40
    rows = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    assert len(rows) == 7
    sent = rows["P1S1"]
    assert isinstance(sent[5].value, (int, float)) and sent[13].value == 1
    assert sent[14].number_format == "dd/mm/yyyy" and sent[14].value.year >= 2026
    mn = rows["THPT1"][1]
    assert mn.data_type == "s" and mn.value.startswith("=HYPERLINK") and mn.quotePrefix  # never a live formula
    r = dept.get(f"/campaigns/{cid}/results.xlsx")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws[2]][:6] == ["Mã đơn vị", "Tên cơ sở giáo dục", "Điểm nhóm 1", "Mức nhóm 1",
                                             "Điểm nhóm 2", "Mức nhóm 2"]
    line = next(row for row in ws.iter_rows(min_row=3, values_only=True) if row[0] == "P1S1")
    assert line[2] is not None and line[6] == "Tự đánh giá"
    ws = load_workbook(io.BytesIO(dept.get(f"/campaigns/{cid}/overdue.xlsx").content)).active
    late = list(ws.iter_rows(min_row=3, values_only=True))
    assert late and all(row[5] and row[5] >= 1 for row in late)


def test_bulk_on_ticked_schools_names_who_is_skipped_and_why_before_acting(world):
    officer = world.client("officer")
    with world.engine.begin() as conn:  # a second school waiting at its proposal (data set up directly)
        conn.execute(text("UPDATE assessment SET state = 'proposal' WHERE id = :a"), {"a": world.p1s2})
    plan_issued = state(world, world.p1s1).id + 2  # P1S3, still at the plan
    assert state(world, plan_issued).state == "plan_issued"
    token = csrf(officer, f"/campaigns/{world.campaign_id}/schools")
    listed = officer.get(f"/campaigns/{world.campaign_id}/schools").text
    assert 'id="bulk-form"' in listed and f'name="ids" value="{world.p1s1}"' in listed
    form = {"csrf_token": token, "trigger": "start_review", "selection": "1", "ids": [str(world.p1s1), str(plan_issued)],
            "back": f"/campaigns/{world.campaign_id}/schools?stage=proposal"}
    page = officer.post(f"/campaigns/{world.campaign_id}/bulk", data=form)
    assert page.status_code == 200
    assert "Sẽ thực hiện cho 1 cơ sở giáo dục" in page.text and "Không thực hiện cho 1 cơ sở giáo dục" in page.text
    assert "Trường Tiểu học Số 1.3</strong>: hồ sơ đang ở giai đoạn" in page.text
    assert state(world, world.p1s1).state == "proposal"  # nothing moved yet
    hidden = re.findall(r'name="ids" value="(\d+)"', page.text)
    assert hidden == [str(world.p1s1)]  # the confirmation posts exactly the school it named as ready
    done = officer.post(f"/campaigns/{world.campaign_id}/bulk", data={
        "csrf_token": token, "trigger": "start_review", "selection": "1", "confirm": "1", "ids": hidden})
    assert "đã thực hiện cho 1 hồ sơ" in done.text
    assert state(world, world.p1s1).state == "external_review"
    assert state(world, world.p1s2).state == "proposal"  # not ticked, not moved
    assert state(world, plan_issued).state == "plan_issued"
    empty = officer.post(f"/campaigns/{world.campaign_id}/bulk", data={"csrf_token": token, "trigger": "start_review",
                                                                      "selection": "1"})
    assert empty.status_code == 422 and "Chưa chọn cơ sở nào" in empty.text


def test_a_failed_mandatory_criterion_reads_chua_dat_in_the_officers_list(sqlite_engine, tmp_path):
    """Issue 23: a group whose mandatory criterion is not met is «Chưa đạt» on the officer's list too,
    whatever its points: the school answered everything well but 1.2 (a mandatory condition) «Không»."""
    from tests.web_support import _json_answers, build_world

    world = build_world(sqlite_engine, tmp_path)
    head = world.client("head")
    _, answers = _json_answers(sqlite_engine, world.p1s1, 0.95)
    answers["1.2"] = False
    r = head.put(f"/api/assessments/{world.p1s1}/scores", json={"phase": "self", "answers": answers})
    assert r.status_code == 200, r.text
    rows = world.client("officer").get(f"/api/campaigns/{world.campaign_id}/schools?q=P1S1").json()
    (row,) = [x for x in rows if x["school_code"] == "P1S1"]
    assert row["self_group1_level"] is None and row["self_group1"] >= 75  # high points, no level
    assert row["self_group2_level"] == 3
    page = world.client("officer").get(f"/campaigns/{world.campaign_id}/schools?q=P1S1").text
    assert '<span class="lvl">chưa đạt</span>' in page  # the score cells, written once as HTML
    assert '<span class="lvl">mức 3</span>' in page
