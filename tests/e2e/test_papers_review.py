"""The papers of the review and of the report upward (issue 13, item 3), issued as a văn thư would,
through the CLI and the web, from a campaign walked through the real use-cases; each .docx is read
back with python-docx against the stored team, visits, scores, steering group and register.

Schools: P1S1 proposed; P1S2 recognised (review scores lower than its own); P1S3 in review, once
returned with a note on criterion 1.3 and scored by the team; P1S4 recognised on an override;
P1S5 with its committee; P1S6 untouched.
"""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from docx import Document
from sqlalchemy import func, select

from cdsflow.app.web.app import create_app
from cdsflow.documents import vietnamese as vn
from cdsflow.documents.settings import update_settings
from cdsflow.kernel.stages import Stage
from cdsflow.services import assessments as svc
from cdsflow.services.accounts import create_account
from cdsflow.services.results import recognised_results, school_results
from cdsflow.services.review_teams import TeamMemberInput, VisitInput, schedule_visits, set_team
from cdsflow.services.steering import steering_members
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import GeneratedDocument
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.workflow.context import ActorRef
from tests.e2e.cli import Cli
from tests.factories import complete_external_review
from tests.papers_world import OFFICER, VN, launch, walk
from tests.web_support import PASSWORD

OVERRIDE = "Đoàn không đến trường được do bão; công nhận theo kết quả tự đánh giá"
NOTE = "Thiếu danh mục phần mềm"


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            for c in row.cells:
                parts += [p.text for p in c.paragraphs]
    return "\n".join(parts)


def table(data: bytes, *header: str) -> list[list[str]]:
    """Data rows of the table whose header row starts with `header` (spanning label rows dropped)."""
    for t in Document(io.BytesIO(data)).tables:
        cells = [[c.text for c in r.cells] for r in t.rows]
        if cells and tuple(cells[0][:len(header)]) == header:
            return [r for r in cells[1:] if len(set(r)) > 1]
    raise AssertionError(f"không có bảng {header}")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review-papers")
    cli = Cli(tmp)
    cli("init")
    engine = make_engine(cli.env["DATABASE_URL"])
    w = launch(engine, schools=6)
    walk(engine, w, "P1S1", Stage.PROPOSAL)
    walk(engine, w, "P1S2", Stage.EXTERNAL_REVIEW, strength=0.8, external=0.45)  # recognised after its visit
    walk(engine, w, "P1S3", Stage.EXTERNAL_REVIEW, strength=0.6)
    with UnitOfWork(engine) as uow:  # the reviewers return the file once, with a note on 1.3
        bureau = uow.session.get(Unit, uow.session.get(Unit, uow.session.get(Assessment, w.ids["P1S3"]).school_id).supervisor_id)
        svc.transition(uow, w.ids["P1S3"], "return_for_supplement", ActorRef(OFFICER, bureau.id),
                       reason="Bổ sung minh chứng", criteria_notes={"1.3": NOTE},
                       now=datetime(2024, 11, 20, 9, tzinfo=VN))
    walk(engine, w, "P1S3", Stage.EXTERNAL_REVIEW, strength=0.6)
    complete_external_review(engine, w.ids["P1S3"], OFFICER, 0.9)
    walk(engine, w, "P1S4", Stage.RECOGNITION, strength=0.7, external=None, override=OVERRIDE)
    walk(engine, w, "P1S5", Stage.COMMITTEE_FORMED)
    update_settings(engine, "P1", {"signer_name": "Lê Thị Thu"})
    cid = str(w.campaign_id)
    officer = ActorRef(OFFICER, bureau.id)
    with UnitOfWork(engine) as uow:  # the team and its visits, through the review team's use-cases
        set_team(uow, w.campaign_id, [TeamMemberInput("Lê Thị Thu", "head", "Trưởng phòng", "Phòng GDĐT số 1"),
                                      TeamMemberInput("Trần Văn Bình", "secretary", "Chuyên viên", "Phòng GDĐT số 1"),
                                      TeamMemberInput("Phạm Minh Đức", "member", "Hiệu trưởng", "Trường Tiểu học Số 2.1")],
                 officer, now=datetime(2025, 3, 17, 9, tzinfo=VN))  # formed before its period (to 20/5/2025) ends
    with UnitOfWork(engine) as uow:
        schedule_visits(uow, w.campaign_id, [VisitInput("P1S2", date(2025, 5, 6), "sáng"),
                                             VisitInput("P1S3", date(2025, 5, 7), "chiều")], officer)
    walk(engine, w, "P1S2", Stage.RECOGNITION, strength=0.8, external=0.45)
    with UnitOfWork(engine) as uow:
        create_account(uow, username="canbo", full_name=OFFICER, role="officer", password=PASSWORD, unit_code="P1")
        create_account(uow, username="hieutruong1", full_name="Nguyễn Thị Hoa", role="school_head", password=PASSWORD,
                       unit_code="P1S1")
    yield {"cli": cli, "engine": engine, "w": w, "cid": cid, "tmp": tmp, "out": tmp / "van-ban"}
    engine.dispose()


def client(world, username: str):
    from fastapi.testclient import TestClient

    if "app" not in world:
        world["app"] = create_app(world["engine"], uploads_dir=world["tmp"] / "uploads")
    web = TestClient(world["app"], raise_server_exceptions=False, follow_redirects=False)
    r = web.post("/api/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return web


def generate(world, *args: str) -> bytes:
    out = world["out"]
    before = set(out.glob("*.docx")) if out.exists() else set()
    done = world["cli"]("docs", "generate", *args, "--out", str(out))
    new = sorted(set(out.glob("*.docx")) - before)
    assert len(new) == 1, done.stdout
    return new[0].read_bytes()


def refused(world, *args: str) -> str:
    done = world["cli"]("docs", "generate", *args, "--out", str(world["tmp"] / "no"), ok=False)
    assert done.returncode != 0
    return done.stderr


def test_steering_decision_prints_the_stored_group(world):
    cli, tmp = world["cli"], world["tmp"]
    assert "chưa lưu danh sách bộ phận chỉ đạo" in refused(world, "qd_ban_chi_dao", "--school", "P1S1")
    (tmp / "bcd.csv").write_text("Họ và tên,Chức vụ,Vai trò,Nhiệm vụ,Email,Điện thoại\n"
                                 "Nguyễn Thị Hoa,Hiệu trưởng,Trưởng ban,Phụ trách chung,hoa@th.edu.vn,0912345678\n"
                                 "Lê Thị Mai,Giáo viên tin học,Thành viên,Quản trị hệ thống,mai@th.edu.vn,0987654321\n",
                                 encoding="utf-8")
    (tmp / "bad.csv").write_text("Họ và tên,Vai trò,Email\nA,Thành viên,khong-phai-email\n", encoding="utf-8")
    bad = cli("docs", "steering", "P1S1", str(tmp / "bad.csv"), ok=False)
    assert bad.returncode == 2 and "đúng một Trưởng ban" in bad.stderr and "email không hợp lệ" in bad.stderr
    cli("docs", "steering", "P1S1", str(tmp / "bcd.csv"), "--by", "Nguyễn Thị Hoa")
    with UnitOfWork(world["engine"]) as uow:
        stored = [m.email for m in steering_members(uow.session, uow.session.get(Assessment, world["w"].ids["P1S1"]).school_id)]
    assert stored == ["hoa@th.edu.vn", "mai@th.edu.vn"]
    qd = generate(world, "qd_ban_chi_dao", "--school", "P1S1", "--date", "2024-11-04")
    t = docx_text(qd)
    assert "Số: 01/QĐ-P1S1" in t and "HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC SỐ 1.1" in t and "Nguyễn Thị Hoa" in t
    assert "- Phòng Giáo dục và Đào tạo số 1 (để b/c);" in t
    assert table(qd, "TT", "Họ và tên") == [
        ["1", "Nguyễn Thị Hoa", "Hiệu trưởng", "Trưởng ban: Phụ trách chung", "hoa@th.edu.vn", "0912345678"],
        ["2", "Lê Thị Mai", "Giáo viên tin học", "Thành viên: Quản trị hệ thống", "mai@th.edu.vn", "0987654321"]]
    # The authority's own, typed in the web page: a bad row comes back as typed, a good list is stored,
    # then `--campaign` without `--school` issues the Phòng's own decision.
    web = client(world, "canbo")
    token = web.headers["X-CSRF-Token"]
    rows = {"full_name": ["Lê Thị Thu", "Trần Văn Bình"], "position": ["Trưởng phòng", "Chuyên viên"],
            "role": ["head", "member"], "duties": ["Phụ trách chung", "Quản trị hệ thống"],
            "email": ["thu@pgd.edu.vn", "binh@@pgd"], "phone": ["0912345678", ""]}
    bad = web.post("/steering", data={"csrf_token": token, "unit": "P1", **rows})
    assert bad.status_code == 422 and "email không hợp lệ" in bad.text and 'value="binh@@pgd"' in bad.text
    rows["email"][1] = "binh@pgd.edu.vn"
    assert web.post("/steering", data={"csrf_token": token, "unit": "P1", **rows}).status_code == 303
    assert 'value="binh@pgd.edu.vn"' in web.get("/steering").text
    head = client(world, "hieutruong1")  # a school's head may not set the Phòng's group
    assert head.post("/steering", data={"csrf_token": head.headers["X-CSRF-Token"], "unit": "P1", **rows}).status_code == 404
    own = generate(world, "qd_ban_chi_dao", "--campaign", world["cid"], "--date", "2024-11-05")
    assert "TRƯỞNG PHÒNG GIÁO DỤC VÀ ĐÀO TẠO SỐ 1" in docx_text(own)
    assert "- Sở Giáo dục và Đào tạo Hà Nội (để b/c);" in docx_text(own)
    assert [r[1] for r in table(own, "TT", "Họ và tên")] == ["Lê Thị Thu", "Trần Văn Bình"]
    # The Phòng's compiled list for the Sở: its own group first, then each school's; who has none is named.
    ds = generate(world, "danh_sach_ban_chi_dao", "--campaign", world["cid"], "--date", "2024-11-06")
    assert [r[1] for r in table(ds, "TT", "Họ và tên")] == ["Lê Thị Thu", "Trần Văn Bình", "Nguyễn Thị Hoa", "Lê Thị Mai"]
    t = docx_text(ds)
    assert "Tổng số: 2 đơn vị đã có danh sách, 4 thành viên; 5 đơn vị chưa có danh sách." in t
    assert "- Trường Tiểu học Số 1.2;" in t and "- Trường Tiểu học Số 1.6." in t


def test_team_notice_lists_each_members_duty_and_the_visits(world):
    decision = generate(world, "qd_doan_danh_gia", "--campaign", world["cid"], "--date", "2025-04-02")
    number = next(line for line in docx_text(decision).splitlines() if line.startswith("Số: "))
    tb = generate(world, "thong_bao", "--campaign", world["cid"], "--date", "2025-04-03")
    t = docx_text(tb)
    assert "THÔNG BÁO" in t and "Số: 01/TB-PGDĐT" in t
    assert f"Quyết định số {number.removeprefix('Số: ').split('/')[0]}/QĐ-PGDĐT ngày 02 tháng 4 năm 2025" in t
    members = table(tb, "TT", "Họ và tên")
    assert [(r[1], r[3]) for r in members] == [("Lê Thị Thu", "Trưởng đoàn"), ("Trần Văn Bình", "Thư ký"),
                                               ("Phạm Minh Đức", "Thành viên")]
    assert members[1][2] == "Chuyên viên, Phòng GDĐT số 1" and members[1][4].startswith("Ghi biên bản")
    assert table(tb, "TT", "Cơ sở giáo dục") == [["1", "Trường Tiểu học Số 1.2", "06/05/2025", "Sáng"],
                                                 ["2", "Trường Tiểu học Số 1.3", "07/05/2025", "Chiều"]]


def test_external_minutes_put_both_scores_side_by_side_with_the_notes(world):
    assert "giai đoạn" in refused(world, "bien_ban_danh_gia_ngoai", "--school", "P1S1")
    bb = generate(world, "bien_ban_danh_gia_ngoai", "--school", "P1S3", "--date", "2025-05-07")
    t = docx_text(bb)
    assert "Số: 01/BB-PGDĐT" in t and "Buổi chiều ngày 07/05/2025" in t
    assert "Lê Thị Thu" in t and "Trần Văn Bình" in t and "Phạm Thu Hương" in t  # team head, secretary, school head
    with UnitOfWork(world["engine"]) as uow:
        own = school_results(uow.session, world["w"].ids["P1S3"], "self")
        ext = school_results(uow.session, world["w"].ids["P1S3"], "external")
    rows = table(bb, "Mã", "Tiêu chí")
    by_code = {c.code: c for c in ext.criteria}
    assert [r[0] for r in rows] == [c.code for c in ext.criteria]
    for r in rows:
        c = by_code[r[0]]
        assert (r[3], r[4]) == (vn.decimal(c.self_points), vn.decimal(c.external_points))
        assert (NOTE in r[6]) is (r[0] == "1.3")
    assert any(r[3] != r[4] for r in rows)  # the two scores really differ
    groups = table(bb, "Nhóm", "Tên nhóm tiêu chí")
    assert [(r[3], r[5], r[6]) for r in groups] == [
        (vn.decimal(o.points), vn.decimal(e.points), f"Mức {e.level}") for o, e in zip(own.groups, ext.groups, strict=True)]
    assert f"đạt: {ext.level_text}." in t


def test_proposal_list_holds_the_schools_the_team_scored(world):
    ds = generate(world, "danh_sach_de_nghi", "--campaign", world["cid"], "--date", "2025-05-20")
    t = docx_text(ds)
    assert "DANH SÁCH" in t and "Số: 01/DS-PGDĐT" in t and "Tổng số: 2 cơ sở giáo dục." in t
    rows = table(ds, "TT", "Tên cơ sở giáo dục")
    assert [r[1] for r in rows] == ["Trường Tiểu học Số 1.2", "Trường Tiểu học Số 1.3"]  # not P1S4 (override)
    with UnitOfWork(world["engine"]) as uow:
        ext = school_results(uow.session, world["w"].ids["P1S2"], "external")
        own = school_results(uow.session, world["w"].ids["P1S2"], "self")
    assert rows[0][3:9] == [vn.decimal(own.groups[0].points), vn.decimal(ext.groups[0].points), f"Mức {ext.groups[0].level}",
                            vn.decimal(own.groups[1].points), vn.decimal(ext.groups[1].points), f"Mức {ext.groups[1].level}"]


def test_report_to_the_department_through_the_web_counts_what_is_stored(world):
    engine = world["engine"]
    generate(world, "qd_cong_nhan", "--campaign", world["cid"], "--date", "2025-05-25")
    web = client(world, "canbo")
    r = web.post(f"/api/campaigns/{world['cid']}/documents", json={"doc_type": "bao_cao_tong_hop"})
    assert r.status_code == 201 and r.json()["generated"] == 1, r.text
    doc = next(d for d in web.get("/api/documents").json() if d["doc_type"] == "bao_cao_tong_hop")
    bc = web.get(doc["download"]).content
    t = docx_text(bc)
    assert "Kính gửi: Sở Giáo dục và Đào tạo Hà Nội" in t and "Số: 01/BC-PGDĐT" in t
    assert "Tổng số cơ sở giáo dục tham gia đánh giá: 6;" in t
    assert "Đã được công nhận mức độ chuyển đổi số: 2 (đã công bố: 0)." in t
    with UnitOfWork(engine) as uow:
        settled = [recognised_results(uow.session, world["w"].ids[c]) for c in ("P1S2", "P1S4")]
    counts = table(bc, "Nhóm", "Tên nhóm tiêu chí")
    for i, row in enumerate(counts):
        want = [sum(1 for s in settled if s.groups[i].level == lvl) for lvl in (1, 2, 3)]
        assert row[2:6] == [str(n) for n in want] + ["2"]
    pending = table(bc, "TT", "Cơ sở giáo dục")
    assert [r[1] for r in pending] == [f"Trường Tiểu học Số 1.{i}" for i in (1, 3, 5, 6)]
    assert all(r[3].startswith("Chậm hạn") for r in pending)  # the calendar's deadlines are long past
    annex = table(bc, "TT", "Tên cơ sở giáo dục")
    assert [r[1] for r in annex] == ["Trường Tiểu học Số 1.2", "Trường Tiểu học Số 1.4"]
    assert OVERRIDE in annex[1][9]
    page = web.get(f"/campaigns/{world['cid']}")
    assert 'id="certificates"' in page.text


@pytest.mark.libreoffice
def test_certificates_for_a_whole_decision_one_docx_each_and_one_pdf(world, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "gcn"
    done = world["cli"]("docs", "certificates", "--campaign", world["cid"], "--out", str(out), "--date", "2025-05-28")
    assert "2 tệp (2 cấp mới, 0 đã cấp trước)" in done.stdout and "P1S1" in done.stdout
    files = sorted(out.glob("*.docx"))
    names = [next(p.text for p in Document(f).paragraphs if p.text.startswith("TRƯỜNG")) for f in files]
    assert sorted(names) == ["TRƯỜNG TIỂU HỌC SỐ 1.2", "TRƯỜNG TIỂU HỌC SỐ 1.4"]
    assert len(PdfReader(out / "giay-chung-nhan.pdf").pages) == 2
    # The web button prints them again: the same numbers, re-produced, in one zip.
    web = client(world, "canbo")
    r = web.post(f"/campaigns/{world['cid']}/certificates", data={"csrf_token": web.headers["X-CSRF-Token"]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip", r.text[:500]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(n for n in z.namelist() if n.endswith(".docx")) == [f.name for f in files]
    assert {n: z.read(n) for n in z.namelist() if n.endswith(".docx")} == {f.name: f.read_bytes() for f in files}
    assert "giay-chung-nhan.pdf" in z.namelist()


# --- issue 13 item 2: the officer's own wording of these papers, edited before numbering ---------


def paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def stored_count(world) -> int:
    with UnitOfWork(world["engine"]) as uow:
        return uow.session.scalar(select(func.count()).select_from(GeneratedDocument))


def test_cli_writes_the_defaults_then_issues_the_edited_text_and_reproduces_it(world):
    from cdsflow.kernel import safeyaml

    cli, tmp, cid = world["cli"], world["tmp"], world["cid"]
    cli("docs", "text", "thong_bao", "--campaign", cid, "--out", str(tmp / "tb.yaml"))
    tb = safeyaml.load_file(tmp / "tb.yaml")
    assert list(tb) == ["intro", "closing"] and tb["intro"].startswith("Thực hiện Quyết định số 01/QĐ-PGDĐT")
    assert tb["closing"] == ("Đề nghị các thành viên Đoàn và thủ trưởng các cơ sở giáo dục có tên trong lịch làm việc "
                             "thực hiện./.")
    before = stored_count(world)
    for bad, reason in (({**tb, "bang_diem": "x"}, "bang_diem"), ({**tb, "closing": "  "}, "không được để trống"),
                        ({**tb, "closing": "Kết\x07"}, "không hợp lệ")):
        (tmp / "bad.yaml").write_text(_yaml(bad), encoding="utf-8")
        assert reason in refused(world, "thong_bao", "--campaign", cid, "--new", "--text", str(tmp / "bad.yaml"))
    assert stored_count(world) == before  # nothing stored, no number taken
    tb["intro"] = "Đoạn mở đầu thứ nhất của Phòng.\nĐoạn thứ hai: lịch có thể thay đổi theo thời tiết."
    (tmp / "tb.yaml").write_text(_yaml(tb), encoding="utf-8")
    data = generate(world, "thong_bao", "--campaign", cid, "--new", "--text", str(tmp / "tb.yaml"), "--date", "2025-04-04")
    paras = paragraphs(data)
    i = paras.index("Đoạn mở đầu thứ nhất của Phòng.")
    assert paras[i + 1] == "Đoạn thứ hai: lịch có thể thay đổi theo thời tiết." and "Số: 02/TB-PGDĐT" in docx_text(data)
    assert [r[1] for r in table(data, "TT", "Họ và tên")] == ["Lê Thị Thu", "Trần Văn Bình", "Phạm Minh Đức"]
    # The Quyết định công nhận: căn cứ and an article rewritten; the annex still from the stored results.
    cli("docs", "text", "qd_cong_nhan", "--campaign", cid, "--out", str(tmp / "qd.yaml"))
    qd = safeyaml.load_file(tmp / "qd.yaml")
    assert list(qd) == ["can_cu", "article1", "article2", "article3"]
    assert qd["article1"] == ("Công nhận mức độ chuyển đổi số năm học 2024-2025 đối với 2 cơ sở giáo dục có tên trong "
                              "danh sách kèm theo.")
    qd["can_cu"] += "\nXét đề nghị của Trưởng đoàn đánh giá ngoài."
    qd["article2"] = "Các cơ sở giáo dục có tên tại Điều 1 công khai kết quả.\nCập nhật cơ sở dữ liệu ngành trước ngày 30/6/2025."
    (tmp / "qd.yaml").write_text(_yaml(qd), encoding="utf-8")
    data = generate(world, "qd_cong_nhan", "--campaign", cid, "--replace", "--reason", "Sửa Điều 2", "--text",
                    str(tmp / "qd.yaml"), "--date", "2025-05-26")
    paras = paragraphs(data)
    assert "Xét đề nghị của Trưởng đoàn đánh giá ngoài." in paras
    i = paras.index("Điều 2. Các cơ sở giáo dục có tên tại Điều 1 công khai kết quả.")
    assert paras[i + 1] == "Cập nhật cơ sở dữ liệu ngành trước ngày 30/6/2025." and paras[i + 2].startswith("Điều 3.")
    assert [r[1] for r in table(data, "TT", "Tên cơ sở giáo dục")] == ["Trường Tiểu học Số 1.2", "Trường Tiểu học Số 1.4"]
    with UnitOfWork(world["engine"]) as uow:
        record_id = uow.session.scalar(select(GeneratedDocument.id).where(GeneratedDocument.doc_type == "qd_cong_nhan")
                                       .order_by(GeneratedDocument.id.desc()))
    cli("docs", "reproduce", str(record_id), str(tmp / "again.docx"))
    assert (tmp / "again.docx").read_bytes() == data


def _yaml(d: dict) -> str:
    from cdsflow.app.cli_docs import _dump

    return _dump(d)


def test_web_page_keeps_the_typed_text_on_a_refusal_and_issues_what_was_typed(world):
    web = client(world, "canbo")
    token, cid = web.headers["X-CSRF-Token"], world["cid"]
    page = web.get(f"/campaigns/{cid}/papers/qd_cong_nhan")
    assert page.status_code == 200 and "Soạn Quyết định công nhận" in page.text
    assert "đối với 2 cơ sở giáo dục có tên trong danh sách kèm theo." in page.text and 'name="section_can_cu"' in page.text
    form = {"csrf_token": token, "action": "issue", "existing": "replace", "reason": "Sửa Điều 1",
            "section_can_cu": "Căn cứ Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ Giáo dục và Đào tạo;",
            "section_article1": "Công nhận mức độ chuyển đổi số cho 2 trường «theo danh sách».",
            "section_article2": "", "section_article3": "Quyết định có hiệu lực kể từ ngày ký./."}
    before = stored_count(world)
    bad = web.post(f"/campaigns/{cid}/papers/qd_cong_nhan", data=form)
    assert bad.status_code == 422 and "không được để trống" in bad.text
    assert "Công nhận mức độ chuyển đổi số cho 2 trường «theo danh sách»." in bad.text and stored_count(world) == before
    form["section_article2"] = "Các trường công khai kết quả & cập nhật <cơ sở dữ liệu>."
    assert web.post(f"/campaigns/{cid}/papers/qd_cong_nhan", data=form).status_code == 303
    doc = max((d for d in web.get("/api/documents").json() if d["doc_type"] == "qd_cong_nhan"), key=lambda d: d["id"])
    data = web.get(doc["download"]).content
    paras = paragraphs(data)
    assert "Điều 1. Công nhận mức độ chuyển đổi số cho 2 trường «theo danh sách»." in paras
    assert "Điều 2. Các trường công khai kết quả & cập nhật <cơ sở dữ liệu>." in paras
    assert web.get(doc["download"]).content == data  # re-downloads byte for byte
    # The Thông báo: its intro defaults to the numbered team decision; the closing rewritten in two paragraphs.
    page = web.get(f"/campaigns/{cid}/papers/thong_bao")
    assert "Thực hiện Quyết định số 01/QĐ-PGDĐT" in page.text
    tb = {"csrf_token": token, "action": "issue", "existing": "new",
          "section_intro": "Phòng thông báo phân công như sau:", "section_closing": "Đề nghị thực hiện.\r\nTrân trọng./."}
    assert web.post(f"/campaigns/{cid}/papers/thong_bao", data=tb).status_code == 303
    doc = max((d for d in web.get("/api/documents").json() if d["doc_type"] == "thong_bao"), key=lambda d: d["id"])
    data = web.get(doc["download"]).content
    paras = paragraphs(data)
    assert paras[paras.index("Đề nghị thực hiện.") + 1] == "Trân trọng./." and "Phòng thông báo phân công như sau:" in paras
    assert [r[1] for r in table(data, "TT", "Cơ sở giáo dục")] == ["Trường Tiểu học Số 1.2", "Trường Tiểu học Số 1.3"]
    assert web.get(doc["download"]).content == data
