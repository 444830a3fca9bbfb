"""Index sets from the web: the administrator downloads the template of the preschool frame (3276),
uploads the official table, sees every problem named by sheet and cell, fixes them and publishes a
new version; nobody else may."""
from __future__ import annotations

import html
import io

import pytest
from openpyxl import load_workbook

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.xlsx import write_index_set_workbook
from cdsflow.services.indexsets import list_index_sets, resolve_index_set
from cdsflow.storage.db import UnitOfWork
from tests.web_support import build_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(sqlite_engine, tmp_path):
    return build_world(sqlite_engine, tmp_path)


def _official_table(frame: bytes, tmp_path) -> tuple:
    """The 3276 frame filled with a full table (4725's criteria stand in for the decision's)."""
    wb = load_workbook(io.BytesIO(frame))
    full = load_workbook(write_index_set_workbook(tmp_path / "full.xlsx", shipped_index_sets()["4725"]))
    for name in ("Mức độ", "Tiêu chí"):
        ws = wb[name]
        ws.delete_rows(2, ws.max_row)
        for row in full[name].iter_rows(min_row=2, values_only=True):
            ws.append(list(row))
    info = {row[0].value: row[1] for row in wb["Thông tin"].iter_rows(min_row=2)}
    info["Phiên bản"].value = "2025-01-15"
    info["Bản tạm thời (có/không)"].value = "không"
    rows = {row[1].value: row[0].row for row in wb["Tiêu chí"].iter_rows(min_row=2)}
    return wb, rows


def _upload(client, wb, name="3276-chinh-thuc.xlsx"):
    buf = io.BytesIO()
    wb.save(buf)
    return client.post("/indexsets/check", files={"file": (name, buf.getvalue(), XLSX)})


def test_administrator_publishes_the_official_preschool_table(world, tmp_path):
    r = world.client("dept").post("/api/campaigns", json={"school_year": "2025-2026", "index_set": "3276"})
    assert r.status_code == 422 and "trang «Bộ chỉ số»" in r.json()["error"]  # the launch points here
    admin = world.client("admin")
    page = admin.get("/indexsets")
    assert page.status_code == 200 and "Bản tạm thời: cần bảng chính thức" in page.text
    frame = admin.get("/indexsets/template.xlsx?code=3276")
    assert frame.status_code == 200 and frame.headers["content-type"] == XLSX
    wb, rows = _official_table(frame.content, tmp_path)

    ws = wb["Tiêu chí"]
    ws[f"E{rows['1.3.1']}"] = 9  # sub-items no longer add up to the criterion's 30
    ws[f"H{rows['1.6.2']}"] = "[0, 30) = 2\n[30, 50] = 4"  # tiers stop at 50 %
    ws[f"F{rows['1.7.1']}"] = "percent"
    wb["Thông tin"]["B3"] = None  # the version
    r = _upload(admin, wb)
    assert r.status_code == 422 and "không hợp lệ (4 lỗi)" in r.text
    for cell in ("Trang 'Thông tin', ô B3", f"Trang 'Tiêu chí', ô E{rows['1.3']}",
                 f"Trang 'Tiêu chí', ô H{rows['1.6.2']}", f"Trang 'Tiêu chí', ô F{rows['1.7.1']}"):
        assert cell in html.unescape(r.text), cell
    with UnitOfWork(world.engine) as uow:
        assert resolve_index_set(uow.session, "3276").provisional  # nothing stored
    assert not list((tmp_path / "uploads" / "indexsets").glob("*"))  # nor kept

    ws[f"E{rows['1.3.1']}"] = 6
    ws[f"H{rows['1.6.2']}"] = "[0, 30) = 2\n[30, 60] = 4\n(60, 100] = 7"
    ws[f"F{rows['1.7.1']}"] = "percentage"
    wb["Thông tin"]["B3"] = "2025-01-15"
    r = _upload(admin, wb)
    assert r.status_code == 200 and "không có lỗi" in r.text and "30 mục chấm điểm" in r.text, r.text
    upload = r.text.split('name="upload" value="')[1].split('"')[0]
    for who in ("officer", "head"):  # the rulebook's publish_index_set: the administrator only
        assert world.client(who).post("/indexsets/publish", data={"upload": upload}).status_code == 403
        assert world.client(who).get("/indexsets").status_code == 403
    r = admin.post("/indexsets/publish", data={"upload": upload, "uploaded": "3276-chinh-thuc.xlsx"})
    assert r.status_code == 200 and "Đã công bố bộ chỉ số 3276 phiên bản 2025-01-15" in r.text
    with UnitOfWork(world.engine) as uow:
        s = resolve_index_set(uow.session, "3276")
        assert (s.version, s.provisional, len(s.items)) == ("2025-01-15", False, 30)
        assert ("3276", "2025-01-15", "đã nhập") in [(i.code, i.version, i.origin) for i in list_index_sets(uow.session)]
    # the same version with other content is refused before publishing
    wb["Tiêu chí"][f"D{rows['1.4']}"] = "Số học liệu số (đã sửa)"
    r = _upload(admin, wb)
    assert r.status_code == 200 and "đã có với nội dung khác" in r.text and 'action="/indexsets/publish"' not in r.text


def test_the_index_set_page_shows_what_changed_between_versions(world):
    """An officer choosing a set reads its changelog: 4725's 1.6.1, what it meant and how to write it."""
    page = html.unescape(world.client("admin").get("/indexsets").text)
    assert "Thay đổi của bộ chỉ số 4725" in page
    assert "Mục 1.6.1: trước đây điểm do người đánh giá cho, từ 0 đến 7" in page
    assert "Cách ghi: ghi tỉ lệ kèm dấu %" in page
