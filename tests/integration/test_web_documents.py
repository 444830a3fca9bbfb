"""Clerk pages: generate papers, the register in scope, .docx downloads, the dossier zip; levels chart."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from cdsflow.documents.settings import update_settings
from tests.web_support import build_world, fill_self_assessment


@pytest.fixture
def world(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    for code in ("P1S1", "P1S2", "P1S3"):  # no committee yet: the schools name their signer once
        update_settings(sqlite_engine, code, {"signer_name": f"Hiệu trưởng {code}"})
    return w


def test_school_paper_goes_to_the_register_and_downloads_as_docx(world):
    head = world.client("head")
    r = head.post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "ke_hoach"})
    assert r.status_code == 201, r.text
    doc = r.json()
    got = world.client("clerk").get(doc["download"])
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert "attachment" in got.headers["content-disposition"] and ".docx" in got.headers["content-disposition"]
    assert [d["id"] for d in world.client("clerk").get("/api/documents").json()] == [doc["id"]]
    assert world.client("officer2").get("/api/documents").json() == []
    assert world.client("officer2").get(doc["download"]).status_code == 404
    assert world.client("head2").get(doc["download"]).status_code == 404
    page = world.client("clerk").get("/documents")
    assert page.status_code == 200 and "Kế hoạch" in page.text


def test_school_staff_cannot_issue_the_authoritys_papers(world):
    r = world.client("head").post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "giay_chung_nhan"})
    assert r.status_code == 403
    r = world.client("member").post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "ke_hoach"})
    assert r.status_code == 403
    r = world.client("clerk").post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "../../etc"})
    assert r.status_code == 422


def test_dossier_zip_holds_the_schools_papers(world):
    head = world.client("head")
    head.post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "ke_hoach"})
    r = world.client("clerk").get(f"/assessments/{world.p1s1}/dossier.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert names and all(re.fullmatch(r"\d\d-[a-z_-]+\.docx", n) for n in names)
    assert world.client("head2").get(f"/assessments/{world.p1s1}/dossier.zip").status_code == 404


def test_bulk_generation_and_the_levels_chart(world):
    officer = world.client("officer")
    # For the campaign, «ke_hoach» is the authority's own plan (one paper, not one per school): this
    # campaign was launched without a calendar file and its issuer has no contact person, so it is refused.
    r = officer.post(f"/api/campaigns/{world.campaign_id}/documents", json={"doc_type": "ke_hoach"})
    assert r.status_code == 422 and "không gắn tệp lịch" in r.text and "chưa có người liên hệ" in r.text
    assert world.client("clerk").get("/api/documents").json() == []
    r = officer.post(f"/api/campaigns/{world.campaign_id}/documents", json={"doc_type": "qd_hoi_dong"})
    assert r.status_code == 201 and r.json()["generated"] == 0 and len(r.json()["skipped"]) >= 3  # no committee yet
    assert world.client("reviewer").post(f"/api/campaigns/{world.campaign_id}/documents",
                                         json={"doc_type": "ke_hoach"}).status_code == 403
    fill_self_assessment(world.client("head"), world.engine, world.p1s1)
    page = officer.get(f"/campaigns/{world.campaign_id}")
    assert "Số cơ sở theo mức độ chuyển đổi số" in page.text and "Tự đánh giá" in page.text


def test_a_paper_is_voided_from_the_register_page_and_exported(world):
    head = world.client("head")
    doc = head.post(f"/api/assessments/{world.p1s1}/documents", json={"doc_type": "ke_hoach"}).json()
    clerk = world.client("clerk")
    token = clerk.headers["X-CSRF-Token"]
    assert clerk.post(f"/documents/{doc['id']}/void", data={"csrf_token": token, "reason": ""}).status_code == 422
    ask = clerk.post(f"/documents/{doc['id']}/void", data={"csrf_token": token, "reason": "Ban hành nhầm"})
    assert ask.status_code == 200 and "Xác nhận: hủy văn bản" in ask.text and "Lý do: Ban hành nhầm" in ask.text
    assert "Đã hủy; lý do" not in clerk.get("/documents").text  # nothing voided before the second step
    r = clerk.post(f"/documents/{doc['id']}/void", data={"csrf_token": token, "reason": "Ban hành nhầm", "confirm": "1"})
    assert r.status_code == 303
    page = clerk.get("/documents").text
    assert "Đã hủy; lý do: Ban hành nhầm" in page
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(clerk.get("/documents/register.xlsx").content))
    assert any("Đã hủy" in str(c or "") for row in book.active.iter_rows(values_only=True) for c in row)
    ws = book.active  # the day is a date cell shown dd/mm/yyyy; the header rows stay when scrolling
    assert ws.freeze_panes == "A3" and ws["C3"].is_date and ws["C3"].number_format == "dd/mm/yyyy"
