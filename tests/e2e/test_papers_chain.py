"""Issue 22, what was left: lists, the summary report, the review papers and the Tờ trình record the
papers they rest on, so voiding or replacing one marks them «Cần xử lý»; the web names them before the
clerk confirms, and the register's history keeps the chain. Entered through the real `cdsflow`
command and the web; every paper read back with python-docx.
"""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import yaml
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from cdsflow.app.web.app import create_app
from cdsflow.documents.settings import update_settings
from cdsflow.kernel.stages import Stage
from cdsflow.services.accounts import create_account
from cdsflow.services.review_teams import TeamMemberInput, VisitInput, schedule_visits, set_team
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.tables import Unit
from cdsflow.workflow.context import ActorRef
from tests.e2e.cli import Cli
from tests.papers_world import OFFICER, VN, launch, walk
from tests.web_support import PASSWORD


def alltext(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    return "\n".join([p.text for p in doc.paragraphs] + [p.text for t in doc.tables for r in t.rows for c in r.cells
                                                          for p in c.paragraphs])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    cli = Cli(tmp)
    cli("init")
    engine = make_engine(cli.env["DATABASE_URL"])
    w = launch(engine, schools=3)
    walk(engine, w, "P1S2", Stage.EXTERNAL_REVIEW)
    with UnitOfWork(engine) as uow:
        bureau = uow.session.execute(select(Unit).where(Unit.code == "P1")).scalar_one()
        officer = ActorRef(OFFICER, bureau.id)
    with UnitOfWork(engine) as uow:  # formed while its period is still ahead (2025-04-01)
        set_team(uow, w.campaign_id, [TeamMemberInput("Lê Thị Thu", "head", "Trưởng phòng", "Phòng GDĐT số 1"),
                                      TeamMemberInput("Trần Văn Bình", "secretary", "Chuyên viên", "Phòng GDĐT số 1")],
                 officer, period_start=date(2025, 5, 5), period_end=date(2025, 5, 16),
                 now=datetime(2025, 4, 1, 9, tzinfo=VN))
    with UnitOfWork(engine) as uow:
        schedule_visits(uow, w.campaign_id, [VisitInput("P1S2", date(2025, 5, 6), "sáng")], officer)
    walk(engine, w, "P1S2", Stage.RECOGNITION, external=0.6)
    update_settings(engine, "P1", {"signer_name": "Lê Thị Thu"})
    with UnitOfWork(engine) as uow:
        create_account(uow, username="vanthu", full_name="Đỗ Thanh Mai", role="clerk", password=PASSWORD,
                       unit_code="P1")
        create_account(uow, username="hieutruong2", full_name="Lê Văn Hùng", role="school_head", password=PASSWORD,
                       unit_code="P1S2")
    yield {"cli": cli, "engine": engine, "w": w, "tmp": tmp, "cid": str(w.campaign_id), "ids": {}}
    engine.dispose()


def generate(world, key: str, *args: str) -> bytes:
    """`cdsflow docs generate …`: the new .docx; its register id kept under `key`."""
    out = world["tmp"] / "out"
    before = set(out.glob("*.docx")) if out.exists() else set()
    done = world["cli"]("docs", "generate", *args, "--out", str(out))
    new = sorted(set(out.glob("*.docx")) - before)
    assert len(new) == 1, done.stdout
    world["ids"][key] = int(new[0].stem.rsplit("-", 1)[1])
    return new[0].read_bytes()


def register_rows(world, unit: str) -> list[list[str]]:
    """The unit's register as the clerk exports it (the day as dd/mm/yyyy)."""
    path = world["tmp"] / f"so-{unit}.xlsx"
    world["cli"]("docs", "register", "--unit", unit, "--xlsx", str(path))
    return [[c.strftime("%d/%m/%Y") if isinstance(c, datetime) else (c or "") for c in r]
            for r in load_workbook(path).active.iter_rows(min_row=3, values_only=True)]


def register_notes(world, unit: str) -> dict[str, str]:
    return {f"{r[0]}/{r[1]}": r[7] for r in register_rows(world, unit)}


def client(world, username: str) -> TestClient:
    if "app" not in world:
        world["app"] = create_app(world["engine"], uploads_dir=world["tmp"] / "uploads")
    web = TestClient(world["app"], raise_server_exceptions=False, follow_redirects=False)
    r = web.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return web


def annex_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of the annex list (TT, Tên cơ sở giáo dục, …) by column name, group label rows left out."""
    for t in Document(io.BytesIO(data)).tables:
        cells = [[c.text for c in r.cells] for r in t.rows]
        if cells and cells[0][:2] == ["TT", "Tên cơ sở giáo dục"]:
            return [dict(zip(cells[0], r, strict=True)) for r in cells[1:] if r[0] != r[1]]
    raise AssertionError("không có danh sách kèm theo")


def words(html: str) -> str:
    return " ".join(html.split())


def test_voiding_the_team_decision_marks_every_paper_resting_on_it(world):
    cid = world["cid"]
    qd = generate(world, "qd_doan", "qd_doan_danh_gia", "--campaign", cid, "--date", "2025-04-02")
    assert "Số: 01/QĐ-PGDĐT" in alltext(qd)
    tb = generate(world, "tb", "thong_bao", "--campaign", cid, "--date", "2025-04-03")
    assert "Quyết định số 01/QĐ-PGDĐT" in alltext(tb)  # what the notice cites is what it records
    generate(world, "bb", "bien_ban_danh_gia_ngoai", "--school", "P1S2", "--date", "2025-05-06")
    ds = generate(world, "ds", "danh_sach_de_nghi", "--campaign", cid, "--date", "2025-05-08")
    assert "Trường Tiểu học Số 1.2" in alltext(ds)
    qd_cn = generate(world, "qd_cn", "qd_cong_nhan", "--campaign", cid, "--date", "2025-05-20")
    bc = generate(world, "bc", "bao_cao_tong_hop", "--campaign", cid, "--date", "2025-05-25")
    assert "Quyết định số 02/QĐ-PGDĐT" in alltext(bc)
    # 4725 defines a level per group: the annexes' «Mức độ» says each group's, as its own columns do
    for paper in (qd_cn, bc):
        (row,) = annex_rows(paper)
        assert row["Tên cơ sở giáo dục"] == "Trường Tiểu học Số 1.2"
        assert row["Mức nhóm 1"].startswith("Mức ") and row["Mức nhóm 2"].startswith("Mức ")
        assert row["Mức độ"] == f"Nhóm 1: {row['Mức nhóm 1']}; Nhóm 2: {row['Mức nhóm 2']}"
    notes = register_notes(world, "P1")
    assert not [n for n in notes.values() if "Cần xử lý" in n]

    clerk = client(world, "vanthu")
    ids = world["ids"]
    # the page before voiding names every paper that will need the clerk, and nothing is changed yet
    page = words(clerk.post(f"/documents/{ids['qd_doan']}/void", data={"reason": "Sai thành phần đoàn"}).text)
    assert "4 văn bản căn cứ vào văn bản này sẽ chuyển sang «Cần xử lý»" in page
    for name in ("Thông báo phân công nhiệm vụ", "Biên bản kiểm tra, đánh giá ngoài",
                 "Danh sách đơn vị đề nghị công nhận", "Báo cáo tổng hợp kết quả"):
        assert name in page, name
    assert not [n for n in register_notes(world, "P1").values() if "Cần xử lý" in n]
    r = clerk.post(f"/documents/{ids['qd_doan']}/void", data={"reason": "Sai thành phần đoàn", "confirm": "1"})
    assert r.status_code == 303, r.text

    notes = register_notes(world, "P1")
    marked = {k for k, n in notes.items() if n.startswith("Cần xử lý: căn cứ Quyết định số 01/QĐ-PGDĐT")}
    assert marked == {"01/TB-PGDĐT", "01/BB-PGDĐT", "01/DS-PGDĐT", "01/BC-PGDĐT"}
    # the chain in the voided decision's history, read in the register as the clerk exports it
    assert "căn cứ của: Thông báo 01/TB-PGDĐT, Biên bản 01/BB-PGDĐT, Danh sách 01/DS-PGDĐT" in notes["01/QĐ-PGDĐT"]
    assert "Báo cáo 01/BC-PGDĐT" in notes["01/QĐ-PGDĐT"]
    assert "Cần xử lý" not in notes["02/QĐ-PGDĐT"]  # the recognition decision does not rest on the team's
    for key in ("tb", "ds", "bc"):  # none handed out as valid
        r = clerk.get(f"/documents/{ids[key]}/download")
        assert r.status_code == 422 and "đã bị hủy" in r.text, key
    page = words(clerk.get("/documents").text)
    assert "Cần xử lý: căn cứ Quyết định số 01/QĐ-PGDĐT" in page


def test_replacing_a_school_approval_on_the_web_names_the_tờ_trình_first(world):
    cli = world["cli"]
    aid = world["w"].ids["P1S2"]
    cli("docs", "generate", "qd_phe_duyet", "--school", "P1S2", "--date", "2024-11-15",
        "--out", str(world["tmp"] / "school"))
    tt = world["tmp"] / "school"
    before = set(tt.glob("*.docx"))
    cli("docs", "generate", "to_trinh", "--school", "P1S2", "--date", "2024-11-16", "--out", str(tt))
    (tt_file,) = set(tt.glob("*.docx")) - before
    tt_id = int(tt_file.stem.rsplit("-", 1)[1])
    head = client(world, "hieutruong2")
    form = {"doc_type": "qd_phe_duyet", "existing": "replace", "reason": "Sửa điểm nhóm 1"}
    page = words(head.post(f"/assessments/{aid}/documents", data=form).text)
    assert "Xác nhận: thay thế văn bản" in page, page[page.find("<main"):][:1500]
    assert "Quyết định số 01/QĐ-" in page, page[page.find("<main"):][:1500]
    assert "1 văn bản căn cứ vào văn bản này sẽ chuyển sang «Cần xử lý»" in page
    assert "Tờ trình đề nghị đánh giá ngoài và công nhận" in page
    notes = register_notes(world, "P1S2")
    assert not [n for n in notes.values() if "Cần xử lý" in n]  # nothing done before the confirmation
    r = head.post(f"/assessments/{aid}/documents", data={**form, "confirm": "1"})
    assert r.status_code == 303, r.text
    notes = register_notes(world, "P1S2")
    tt_note = next(n for k, n in notes.items() if "TTr" in k)
    assert tt_note.startswith("Cần xử lý: căn cứ Quyết định số 01/QĐ-") and "đã bị thay thế" in tt_note
    rows = register_rows(world, "P1S2")  # the old approval (2024) and its replacement (today) are both 01
    old = next(r for r in rows if r[2] == "15/11/2024" and r[1].startswith("QĐ-"))
    assert old[7].startswith("Đã bị thay thế") and "căn cứ của: Tờ trình 01/TTr-P1S2" in old[7], rows
    assert head.get(f"/documents/{tt_id}/download").status_code == 422


def test_a_paper_is_headed_with_the_name_in_force_on_its_date(world):
    cli, cid = world["cli"], world["cid"]
    cli("units", "rename", "P1", "--name", "Phòng Văn hóa - Xã hội phường Ba Đình", "--from", "2025-07-01",
        "--parent-org", "UBND phường Ba Đình")
    names = " ".join(cli("units", "names", "P1").stdout.split())
    assert "30/06/2025" in names and "Phòng Giáo dục và Đào tạo số 1" in names
    before = Document(io.BytesIO(generate(world, "x", "qd_doan_danh_gia", "--campaign", cid, "--draft",
                                          "--date", "2025-06-30")))
    after = Document(io.BytesIO(generate(world, "y", "qd_doan_danh_gia", "--campaign", cid, "--draft",
                                         "--date", "2025-07-01")))
    head_before = [c.text for c in before.tables[0].rows[0].cells][0]
    head_after = [c.text for c in after.tables[0].rows[0].cells][0]
    assert "PHÒNG GIÁO DỤC VÀ ĐÀO TẠO SỐ 1" in head_before and "PHƯỜNG" not in head_before
    assert "UBND PHƯỜNG BA ĐÌNH" in head_after and "PHÒNG VĂN HÓA - XÃ HỘI PHƯỜNG BA ĐÌNH" in head_after
    text_after = alltext(generate(world, "z", "qd_doan_danh_gia", "--campaign", cid, "--draft", "--date", "2025-07-01"))
    assert "Phòng Giáo dục và Đào tạo số 1" not in text_after  # the signature and articles too
    # the day after the last change only
    done = cli("units", "rename", "P1", "--name", "Phòng X", "--from", "2025-06-01", ok=False)
    assert done.returncode != 0 and "phải sau ngày đổi tên trước (01/07/2025)" in " ".join(done.stderr.split())


def test_a_ground_not_in_force_on_the_papers_date_blocks_its_number(world):
    """Every paper that prints căn cứ asks the same rule (documents/grounds.py), whatever typed them."""
    cli, tmp = world["cli"], world["tmp"]
    data = tmp / "can-cu.yaml"
    data.write_text(yaml.safe_dump({"legal_bases": [
        "Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ Giáo dục và Đào tạo ban hành Bộ chỉ số đánh giá",
        "Quyết định số 3276/QĐ-BGDĐT ngày 30/10/2024 của Bộ Giáo dục và Đào tạo ban hành Bộ chỉ số mầm non",
        "Kế hoạch số 330/KH-SGDĐT ngày 05/02/2024 của Sở GDĐT",
        "Kế hoạch số 12/KH-PGDĐT ngày 10/02/2025 của Phòng Giáo dục và Đào tạo số 2",
        "Kế hoạch số 40/KH-SGDĐT ngày 10/10/2024 của Sở Giáo dục và Đào tạo Hà Nội"]}, allow_unicode=True),
        encoding="utf-8")
    done = cli("docs", "generate", "to_trinh", "--school", "P1S2", "--date", "2025-05-10", "--data", str(data),
               "--new", "--out", str(tmp / "no"), ok=False)
    said = " ".join((done.stderr + done.stdout).split())
    assert done.returncode != 0 and not list((tmp / "no").glob("*.docx"))
    assert "«Quyết định số 3276/QĐ-BGDĐT" in said and "bộ chỉ số 3276 không dùng trong đợt đánh giá này" in said
    assert "kế hoạch của năm học trước (ngày 05/02/2024)" in said
    assert "văn bản của đơn vị khác (Phòng Giáo dục và Đào tạo số 2)" in said  # a neighbour's plan
    assert "40/KH-SGDĐT" not in said  # the Sở above the school's Phòng may be cited
    assert "4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ Giáo dục và Đào tạo ban hành Bộ chỉ số đánh giá»" not in said
    # the draft is made, the clerk sees the same reasons as warnings before numbering
    draft = generate(world, "draft", "to_trinh", "--school", "P1S2", "--draft", "--date", "2025-05-10",
                     "--data", str(data))
    assert "3276/QĐ-BGDĐT" in alltext(draft)


def test_the_web_shows_the_warnings_before_numbering_and_refuses_what_the_cli_refuses(world):
    cli = world["cli"]
    aid = world["w"].ids["P1S2"]
    cli("docs", "generate", "qd_hoi_dong", "--school", "P1S2", "--date", "2026-12-30",
        "--out", str(world["tmp"] / "school"))  # a number of the QĐ series dated after today
    before = len(register_rows(world, "P1S2"))
    head = client(world, "hieutruong2")
    form = {"doc_type": "qd_hoi_dong", "existing": "new"}
    page = words(head.post(f"/assessments/{aid}/documents", data=form).text)
    assert "Xác nhận: lập và cấp số văn bản" in page and "Cần xem trước khi cấp số: 1 cảnh báo" in page
    assert "trước ngày của số liền trước" in page and "30/12/2026" in page and "văn bản ghi lùi ngày" in page
    assert len(register_rows(world, "P1S2")) == before  # nothing numbered before the clerk confirms
    r = head.post(f"/assessments/{aid}/documents", data={**form, "confirm": "1"})
    assert r.status_code == 303, r.text
    assert len(register_rows(world, "P1S2")) == before + 1
    # an error blocks the number on the web as on the CLI: a quận in the school's name after 1/7/2025
    cli("units", "rename", "P1S2", "--name", "Trường Tiểu học Số 1.2 quận Ba Đình", "--from", "2026-01-01")
    r = head.post(f"/assessments/{aid}/documents", data=form)
    assert r.status_code == 422 and "còn ghi tên quận/huyện" in words(r.text)
    r = head.post(f"/assessments/{aid}/documents", data={**form, "confirm": "1"})
    assert r.status_code == 422 and "còn ghi tên quận/huyện" in words(r.text)
    assert len(register_rows(world, "P1S2")) == before + 1
    cli("units", "rename", "P1S2", "--name", "Trường Tiểu học Số 1.2", "--from", "2026-02-01")


def test_the_school_writes_its_reports_findings_on_the_web_as_on_the_cli(world):
    cli, tmp = world["cli"], world["tmp"]
    aid = world["w"].ids["P1S2"]
    cli("docs", "text", "bao_cao", "--campaign", world["cid"], "--school", "P1S2", "--out", str(tmp / "bc2.yaml"))
    on_cli = yaml.safe_load((tmp / "bc2.yaml").read_text(encoding="utf-8"))
    head = client(world, "hieutruong2")
    assert f"/assessments/{aid}/papers/bao_cao" in head.get(f"/assessments/{aid}/documents").text
    page = head.get(f"/assessments/{aid}/papers/bao_cao")
    assert page.status_code == 200, page.text
    doc = page.text
    for key, text in on_cli.items():  # the same sections, filled as the CLI's `docs text` fills them
        assert f'name="section_{key}"' in doc and text.strip().splitlines()[0] in doc.replace("&#34;", '"'), key
    typed = {f"section_{k}": v for k, v in on_cli.items()}
    typed["section_proposals"] = "Đề nghị Phòng hỗ trợ 20 máy tính cho phòng tin học."
    r = head.post(f"/assessments/{aid}/papers/bao_cao", data={**typed, "action": "issue"})
    assert r.status_code == 303, r.text
    rows = head.get("/api/documents").json()
    bc = max((x for x in rows if x["doc_type"] == "bao_cao"), key=lambda x: x["id"])
    paras = [p.text for p in Document(io.BytesIO(head.get(bc["download"]).content)).paragraphs]
    i = paras.index("VI. ĐỀ XUẤT, KIẾN NGHỊ")
    assert paras[i + 1] == "- Đề nghị Phòng hỗ trợ 20 máy tính cho phòng tin học."
    for heading in ("IV. ĐÁNH GIÁ CHUNG", "V. KẾ HOẠCH CẢI TIẾN"):
        assert paras[paras.index(heading) + 1].strip(), heading
    # an empty text is refused and what was typed stays in the form
    r = head.post(f"/assessments/{aid}/papers/bao_cao",
                  data={**dict.fromkeys(typed, ""), "action": "issue", "existing": "new"})
    assert r.status_code == 422 and "Nội dung văn bản trống" in r.text


def test_an_officers_paper_shows_its_warnings_before_its_number(world):
    import html
    import re

    cid = world["cid"]
    world["cli"]("docs", "generate", "thong_bao", "--campaign", cid, "--new", "--date", "2026-12-30",
                 "--out", str(world["tmp"] / "tb"))  # a Thông báo numbered with a later date than today
    before = len(register_rows(world, "P1"))
    officer = client(world, "vanthu")
    page = officer.get(f"/campaigns/{cid}/papers/thong_bao")
    assert page.status_code == 200, page.text
    typed = {f"section_{k}": html.unescape(v) for k, v in
             re.findall(r'name="section_(\w+)"[^>]*>(.*?)</textarea>', page.text, re.S)}
    form = {**typed, "action": "issue", "existing": "new"}
    shown = words(officer.post(f"/campaigns/{cid}/papers/thong_bao", data=form).text)
    assert "Cần xem trước khi cấp số: 1 cảnh báo" in shown and "văn bản ghi lùi ngày" in shown
    assert 'name="confirm" value="1"' in shown
    assert len(register_rows(world, "P1")) == before  # nothing numbered yet
    r = officer.post(f"/campaigns/{cid}/papers/thong_bao", data={**form, "confirm": "1"})
    assert r.status_code == 303, r.text
    assert len(register_rows(world, "P1")) == before + 1


def test_replacing_the_recognition_decision_on_the_web_names_its_certificate_first(world):
    import html
    import re

    cid = world["cid"]
    generate(world, "gcn", "giay_chung_nhan", "--school", "P1S2", "--date", "2025-05-21")
    officer = client(world, "vanthu")
    page = officer.get(f"/campaigns/{cid}/papers/qd_cong_nhan")
    assert page.status_code == 200, page.text
    typed = {f"section_{k}": html.unescape(v) for k, v in
             re.findall(r'name="section_(\w+)"[^>]*>(.*?)</textarea>', page.text, re.S)}
    form = {**typed, "action": "issue", "existing": "replace", "reason": "Sửa tên trường trong phụ lục"}
    shown = words(officer.post(f"/campaigns/{cid}/papers/qd_cong_nhan", data=form).text)
    assert "văn bản căn cứ vào văn bản bị thay thế sẽ chuyển sang «Cần xử lý»" in shown
    assert "Giấy chứng nhận mức độ chuyển đổi số Số vào sổ: 01" in shown and "Báo cáo tổng hợp" in shown
    assert not [n for k, n in register_notes(world, "P1").items() if k.endswith("GCN-PGDĐT") and "Cần xử lý" in n]
    r = officer.post(f"/campaigns/{cid}/papers/qd_cong_nhan", data={**form, "confirm": "1"})
    assert r.status_code == 303, r.text
    notes = register_notes(world, "P1")
    assert notes["01/GCN-PGDĐT"].startswith("Cần xử lý: căn cứ Quyết định số 02/QĐ-PGDĐT ngày 20/05/2025 đã bị thay thế")
    assert "căn cứ của: Báo cáo 01/BC-PGDĐT, Giấy chứng nhận 01/GCN-PGDĐT" in notes["02/QĐ-PGDĐT"]
