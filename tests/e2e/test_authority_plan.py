"""Issue 13, items 1-3: the authority's own Kế hoạch (one paper, one number in the Phòng's register,
căn cứ from the campaign's calendar, the contact and link from the unit's settings, the timetable
annex grouped by actor), its sections written by the officer before numbering (web form, CLI
--text) and reproduced byte for byte, and the Công văn triển khai. Entered through the CLI and the
web, read back with python-docx; refusals when the calendar or the contact is missing.
"""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select

from cdsflow.app.web.app import create_app
from cdsflow.kernel.stages import Stage
from cdsflow.services.accounts import create_account
from cdsflow.services.campaigns import launch_campaign
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import CampaignMilestone
from tests.e2e.cli import Cli
from tests.factories import calendar
from tests.papers_world import VN, launch, walk
from tests.web_support import PASSWORD

CALENDAR = """\
issuer: "Phòng Giáo dục và Đào tạo số 1"
issuer_kind: bureau
issued: 2024-10
school_year: 2024-2025
index_sets: ["4725", "3276"]
parent:
  issuer: "Sở GDĐT Hà Nội"
  number: "330/KH-SGDĐT"
  date: 2024-09-20
references:
  - "Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ GDĐT"
  - "Đề án số 1044/ĐA-UBND ngày 25/5/2021 của UBND quận Ba Đình"
reminders: {before: [3, 1], on_the_day: true, overdue_every: 2, escalate_to: bureau}
milestones:
  - {key: pgd-ke-hoach, title: "Xây dựng và ban hành kế hoạch đánh giá mức độ chuyển đổi số", actor: bureau,
     stage: plan_issued, window: 2024-10, documents: [ke_hoach]}
  - {key: hoi-dong, title: "Thành lập Hội đồng tự đánh giá", actor: school, stage: committee_formed, due: 2025-01-24,
     documents: [qd_hoi_dong]}
  - key: to-trinh
    title: "Tự đánh giá mức độ chuyển đổi số; đề nghị đánh giá ngoài"
    actor: school
    stage: proposal
    due: 2025-03-31
    documents: [bien_ban, qd_phe_duyet, to_trinh]
    submission: {max_sends: 3, counts: last}
  - {key: danh-gia-ngoai, title: "Kiểm tra, đánh giá ngoài các cơ sở giáo dục", actor: bureau, stage: external_review,
     window: 2025-04, documents: [qd_doan_danh_gia]}
  - {key: cong-nhan, title: "Công nhận mức độ chuyển đổi số", actor: bureau, stage: recognition, due: 2025-05-30,
     documents: [qd_cong_nhan, giay_chung_nhan]}
"""
CONTACT = ("--contact-name", "Nguyễn Bích Ngọc", "--contact-title", "Chuyên viên", "--contact-email",
           "ngocnb@badinhedu.vn", "--contact-phone", "0975734044")
LINK = "https://tinyurl.com/HStudanhgiaCDS24-25"


def paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def alltext(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    return "\n".join([p.text for p in doc.paragraphs] + [p.text for t in doc.tables for r in t.rows for c in r.cells
                                                          for p in c.paragraphs])


def table(data: bytes, first: str) -> list[list[str]]:
    for t in Document(io.BytesIO(data)).tables:
        cells = [[c.text for c in r.cells] for r in t.rows]
        if cells and cells[0][0] == first:
            return cells[1:]
    raise AssertionError(f"không có bảng «{first}»")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plan")
    cli = Cli(tmp)
    cli("init")
    engine = make_engine(cli.env["DATABASE_URL"])
    (tmp / "p1.yaml").write_text(CALENDAR, encoding="utf-8")
    w = launch(engine, schools=3, calendar_file=tmp / "p1.yaml")
    walk(engine, w, "P1S1", Stage.PROPOSAL)
    with UnitOfWork(engine) as uow:  # a campaign launched without a calendar file
        bare = launch_campaign(uow, issuer_code="P2", school_year="2024-2025", calendar=calendar(),
                               now=datetime(2024, 10, 1, tzinfo=VN)).campaign_id
        create_account(uow, username="chuyenvien", full_name="Trần Minh Tuấn", role="officer", password=PASSWORD,
                       unit_code="P1")
    cli("docs", "settings", "P1", "--signer-name", "Lê Đức Thuận")
    yield {"cli": cli, "engine": engine, "campaign": w.campaign_id, "bare": bare, "tmp": tmp}
    engine.dispose()


def generate(world, *args: str) -> bytes:
    out = world["tmp"] / "out"
    before = set(out.glob("*.docx")) if out.exists() else set()
    done = world["cli"]("docs", "generate", *args, "--out", str(out))
    new = sorted(set(out.glob("*.docx")) - before)
    assert len(new) == 1, done.stdout
    return new[0].read_bytes()


def test_missing_calendar_or_contact_refuses_with_the_reason(world):
    cli = world["cli"]
    done = cli("docs", "generate", "ke_hoach", "--campaign", str(world["campaign"]), "--out", "x", ok=False)
    assert done.returncode != 0 and "chưa có người liên hệ của Phòng Giáo dục và Đào tạo số 1" in done.stderr + done.stdout
    assert "--contact-name" in done.stderr + done.stdout
    cli("docs", "settings", "P2", "--signer-name", "Phạm Văn An", *CONTACT)
    done = cli("docs", "generate", "ke_hoach", "--campaign", str(world["bare"]), "--out", "x", ok=False)
    assert done.returncode != 0 and "không gắn tệp lịch" in done.stderr + done.stdout
    cli("docs", "settings", "P1", *CONTACT)
    done = cli("docs", "generate", "cong_van_trien_khai", "--campaign", str(world["campaign"]), "--out", "x", ok=False)
    assert done.returncode != 0 and "chưa có đường link nộp hồ sơ" in done.stderr + done.stdout
    bad = cli("docs", "settings", "P1", "--contact-email", "không-phải-email", ok=False)
    assert bad.returncode != 0 and "email người liên hệ không hợp lệ" in bad.stderr + bad.stdout
    with UnitOfWork(world["engine"]) as uow:
        assert uow.session.execute(select(GeneratedDocument)).first() is None  # nothing numbered, nothing stored


def test_the_authority_plan_is_one_paper_built_from_calendar_and_settings(world):
    world["cli"]("docs", "settings", "P1", *CONTACT, "--submission-link", LINK)
    data = generate(world, "ke_hoach", "--campaign", str(world["campaign"]), "--date", "2024-10-10")
    paras, text = paragraphs(data), alltext(data)
    (world["tmp"] / "plan.docx").write_bytes(data)
    assert "Số: 01/KH-PGDĐT" in text  # one number, in the Phòng's register
    bases = [p for p in paras if p.startswith("Căn cứ")]
    assert bases[0].startswith("Căn cứ Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022")
    assert "Căn cứ Kế hoạch số 330/KH-SGDĐT ngày 20/09/2024 của Sở GDĐT Hà Nội;" in bases
    assert bases[-1] == "Căn cứ Đề án số 1044/ĐA-UBND ngày 25/5/2021 của UBND quận Ba Đình."
    assert sum("4725/QĐ-BGDĐT" in b for b in bases) == 1  # cited once, in full
    for heading in ("I. MỤC ĐÍCH, YÊU CẦU", "II. NHIỆM VỤ TRIỂN KHAI", "III. TỔ CHỨC THỰC HIỆN",
                    "1. Phòng Giáo dục và Đào tạo số 1", "2. Các cơ sở giáo dục trên địa bàn Ba Đình"):
        assert heading in paras
    assert "đ/c Nguyễn Bích Ngọc - Chuyên viên (email ngocnb@badinhedu.vn, số điện thoại 0975734044)" in text
    assert f"theo đường link {LINK}" in text
    assert "- Thành lập Hội đồng tự đánh giá: trước 24/1/2025." in paras  # the calendar's deadlines by actor
    assert "- Sở Giáo dục và Đào tạo Hà Nội (để b/c);" in text
    assert "- Các cơ sở giáo dục trên địa bàn Ba Đình (thực hiện);" in text
    annex = table(data, "TT")
    labels = [r[0] for r in annex if len(set(r)) == 1]
    assert labels == ["I. PHÒNG GIÁO DỤC VÀ ĐÀO TẠO SỐ 1", "II. CÁC CƠ SỞ GIÁO DỤC TRÊN ĐỊA BÀN BA ĐÌNH"]
    with UnitOfWork(world["engine"]) as uow:
        ms = list(uow.session.execute(select(CampaignMilestone).where(
            CampaignMilestone.campaign_id == world["campaign"]).order_by(CampaignMilestone.position)).scalars())
    body = [r for r in annex if len(set(r)) > 1]
    expected = [m for m in ms if m.actor == "bureau"] + [m for m in ms if m.actor == "school"]
    assert [r[1] for r in body] == [m.title + "." for m in expected]
    assert [r[0] for r in body] == ["1", "2", "3", "1", "2"]
    assert body[0][2] == "Tháng 10/2024" and body[3][2] == "Trước 24/1/2025"
    assert body[4][3] == ("Biên bản họp Hội đồng tự đánh giá; Quyết định phê duyệt kết quả tự đánh giá; "
                          "Tờ trình đề nghị đánh giá ngoài và công nhận")
    with UnitOfWork(world["engine"]) as uow:
        docs = list(uow.session.execute(select(GeneratedDocument).where(GeneratedDocument.doc_type == "ke_hoach"))
                    .scalars())
    assert len(docs) == 1 and docs[0].school_id is None  # not one plan per school
    # a school's own plan stays the school's, in its own register
    school = generate(world, "ke_hoach", "--school", "P1S1", "--date", "2024-10-12")
    assert "Số: 01/KH-" in alltext(school) and "TRƯỜNG TIỂU HỌC SỐ 1.1" in alltext(school)
    world["plan"] = data


def test_cli_text_file_replaces_sections_and_bad_text_is_refused(world):
    cli, tmp = world["cli"], world["tmp"]
    cli("docs", "text", "cong_van_trien_khai", "--campaign", str(world["campaign"]), "--out", str(tmp / "cv.yaml"))
    body = (tmp / "cv.yaml").read_text(encoding="utf-8")
    assert "2.3. Tự đánh giá mức độ chuyển đổi số; đề nghị đánh giá ngoài (các cơ sở giáo dục thực hiện)." in body
    assert "2.4. Kiểm tra, đánh giá ngoài các cơ sở giáo dục (Phòng Giáo dục và Đào tạo số 1 thực hiện)." in body
    (tmp / "bad.yaml").write_text("khong_co_muc: \"x\"\n", encoding="utf-8")
    done = cli("docs", "generate", "cong_van_trien_khai", "--campaign", str(world["campaign"]), "--text",
               str(tmp / "bad.yaml"), "--out", "x", ok=False)
    assert done.returncode != 0 and "khong_co_muc" in done.stderr + done.stdout
    done = cli("docs", "generate", "ke_hoach", "--school", "P1S2", "--draft", "--text", str(tmp / "cv.yaml"), "--out", "x",
               ok=False)
    assert done.returncode != 0 and "chưa soạn nội dung theo mục" in done.stderr + done.stdout
    (tmp / "cv2.yaml").write_text(body.replace("100% các đơn vị tham gia tự đánh giá.",
                                               "Tất cả các trường tham gia tự đánh giá."), encoding="utf-8")
    data = generate(world, "cong_van_trien_khai", "--campaign", str(world["campaign"]), "--text",
                    str(tmp / "cv2.yaml"), "--date", "2024-10-11")
    paras, text = paragraphs(data), alltext(data)
    (world["tmp"] / "letter.docx").write_bytes(data)
    assert "Số: 01/PGDĐT-VP" in text and "V/v triển khai đánh giá mức độ chuyển đổi số" in text
    assert "Kính gửi: Trường Tiểu học Số 1.1" in text or "- Trường Tiểu học Số 1.1;" in text
    assert any(p.startswith("Tất cả các trường tham gia tự đánh giá. Việc") for p in paras)
    assert "100% các đơn vị" not in text
    assert "Thời gian hoàn thành: xong trước ngày 31/3/2025." in paras
    assert ("Lưu ý: mỗi đơn vị gửi không quá 03 lần, chỉ ghi nhận lần gửi cuối cùng; biểu mẫu tự động đóng sau "
            "24h00 ngày 31/3/2025.") in paras
    assert f"- Đường link: {LINK}" in paras and "Phụ lục" in paras
    world["letter"] = data


@pytest.fixture(scope="module")
def officer(world):
    app = create_app(world["engine"], uploads_dir=world["tmp"] / "uploads")
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = c.post("/api/login", json={"username": "chuyenvien", "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.csrf = r.json()["csrf_token"]
    return c


def test_the_officer_edits_sections_in_the_web_issues_and_downloads_the_same_bytes(world, officer):
    url = f"/campaigns/{world['campaign']}/papers/ke_hoach"
    assert f'href="{url}"' in officer.get("/documents").text  # reached from the documents page
    page = officer.get(url)
    assert page.status_code == 200 and 'name="section_purposes"' in page.text
    assert "Nguyễn Bích Ngọc" in page.text  # the defaults, filled from the settings
    form = {"csrf_token": officer.csrf, "section_intro": "Phòng ban hành kế hoạch như sau:",
            "section_purposes": "- Mục đích do chuyên viên viết lại.\n- Dòng thứ hai & <đặc biệt>.",
            "section_requirements": "- Khách quan.", "section_tasks": "- Tuyên truyền.",
            "section_authority_duties": "- Chỉ đạo.", "section_school_duties": "- Tự đánh giá.",
            "section_closing": "Trên đây là kế hoạch./.", "action": "issue"}
    r = officer.post(url, data=form)
    assert r.status_code == 422 and "chọn thay thế văn bản đó (kèm lý do)" in r.text  # replace or new, no CLI words
    assert "--replace" not in r.text
    assert "Mục đích do chuyên viên viết lại." in r.text and "&lt;đặc biệt&gt;" in r.text  # typed text kept
    form |= {"existing": "replace", "reason": "Sửa mục đích"}
    r = officer.post(url, data={**form, "section_closing": " "})
    assert r.status_code == 422 and "mục «Lời kết» không được để trống" in r.text
    assert "Mục đích do chuyên viên viết lại." in r.text and 'value="replace" checked' in r.text
    r = officer.post(url, data=form)
    assert r.status_code == 303, r.text
    with UnitOfWork(world["engine"]) as uow:
        doc = uow.session.execute(select(GeneratedDocument).where(
            GeneratedDocument.doc_type == "ke_hoach", GeneratedDocument.school_id.is_(None))
            .order_by(GeneratedDocument.id.desc())).scalars().first()
        assert doc.replaces_id is not None and doc.reason == "Sửa mục đích"  # replaces the CLI's plan
        assert doc.context["sections"]["purposes"][1] == "- Dòng thứ hai & <đặc biệt>."
    first = officer.get(f"/documents/{doc.id}/download").content
    paras = paragraphs(first)
    assert "- Mục đích do chuyên viên viết lại." in paras and "- Dòng thứ hai & <đặc biệt>." in paras
    assert "Trên đây là kế hoạch./." in paras
    assert officer.get(f"/documents/{doc.id}/download").content == first  # byte for byte
    done = world["cli"]("docs", "reproduce", str(doc.id), str(world["tmp"] / "again.docx"))
    assert done.returncode == 0 and (world["tmp"] / "again.docx").read_bytes() == first
    r = officer.get(f"/campaigns/{world['bare']}/papers/ke_hoach")
    assert r.status_code == 404  # another Phòng's campaign
