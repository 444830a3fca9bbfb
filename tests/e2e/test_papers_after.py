"""Issue 22: what the register and the papers say stays true after the fact. Entered through the real
`cdsflow` command and the web as a văn thư would; every paper read back with python-docx.

- every door to a QĐ công nhận asks the same question (recognised, not already decided), and a
  second decision is refused naming the first; "N cơ sở" is the length of the printed list;
- one register book per unit and year: every công văn of the Phòng runs in one series;
- voiding a decision stops its certificate (register, download, certificate run) until reissued.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
import yaml
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cdsflow.app.web.app import create_app
from cdsflow.kernel.stages import Stage
from cdsflow.services.accounts import create_account
from cdsflow.storage.db import UnitOfWork, make_engine
from tests.e2e.cli import Cli
from tests.e2e.test_authority_plan import CALENDAR, CONTACT, LINK
from tests.papers_world import launch, walk
from tests.web_support import PASSWORD


def alltext(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    return "\n".join([p.text for p in doc.paragraphs] + [p.text for t in doc.tables for r in t.rows for c in r.cells
                                                          for p in c.paragraphs])


def annex_names(data: bytes) -> list[str]:
    for t in Document(io.BytesIO(data)).tables:
        cells = [[c.text for c in r.cells] for r in t.rows]
        if cells and cells[0][0] == "TT":
            return [r[1] for r in cells[1:] if r[0] != r[1]]
    raise AssertionError("không có danh sách kèm theo")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("after")
    cli = Cli(tmp)
    cli("init")
    engine = make_engine(cli.env["DATABASE_URL"])
    (tmp / "p1.yaml").write_text(CALENDAR, encoding="utf-8")
    w = launch(engine, schools=4, calendar_file=tmp / "p1.yaml")
    walk(engine, w, "P1S1", Stage.PROPOSAL)
    walk(engine, w, "P1S4", Stage.SELF_ASSESSMENT, meeting=False)
    walk(engine, w, "P1S2", Stage.RECOGNITION, external=0.6)
    walk(engine, w, "P1S3", Stage.RECOGNITION, external=0.9)
    with UnitOfWork(engine) as uow:
        create_account(uow, username="vanthu", full_name="Đỗ Thanh Mai", role="clerk", password=PASSWORD,
                       unit_code="P1")
    cli("docs", "settings", "P1", "--signer-name", "Lê Thị Thu", *CONTACT, "--submission-link", LINK)
    yield {"cli": cli, "engine": engine, "w": w, "tmp": tmp, "cid": str(w.campaign_id)}
    engine.dispose()


def generate(world, *args: str) -> tuple[str, bytes, int]:
    """(stdout, the new .docx, its register id) of `cdsflow docs generate …`."""
    out = world["tmp"] / "out"
    before = set(out.glob("*.docx")) if out.exists() else set()
    done = world["cli"]("docs", "generate", *args, "--out", str(out))
    new = sorted(set(out.glob("*.docx")) - before)
    assert len(new) == 1, done.stdout
    return done.stdout, new[0].read_bytes(), int(new[0].stem.rsplit("-", 1)[1])


def register_notes(world) -> dict[str, str]:
    """The «Ghi chú» column of the Phòng's register exported as the clerk exports it: id-less, by Số/Ký hiệu."""
    path = world["tmp"] / "so.xlsx"
    world["cli"]("docs", "register", "--unit", "P1", "--xlsx", str(path))
    rows = list(load_workbook(path).active.iter_rows(min_row=3, values_only=True))
    return {f"{r[0]}/{r[1]}": r[7] or "" for r in rows}


def refused(world, *args: str) -> str:
    done = world["cli"]("docs", "generate", *args, "--out", str(world["tmp"] / "no"), ok=False)
    assert done.returncode != 0, done.stdout
    assert not list((world["tmp"] / "no").glob("*.docx"))
    return " ".join((done.stderr + done.stdout).split())


def test_every_door_to_a_decision_asks_the_same_question(world):
    cid = world["cid"]
    _, qd, qd_id = generate(world, "qd_cong_nhan", "--campaign", cid, "--date", "2025-05-25")
    world["qd"] = qd_id
    t = alltext(qd)
    assert "Số: 01/QĐ-PGDĐT" in t
    assert sorted(annex_names(qd)) == ["Trường Tiểu học Số 1.2", "Trường Tiểu học Số 1.3"]
    assert "đối với 2 cơ sở giáo dục" in t  # the count is the list it prints
    # the side door (one school) asks the same question and names the decision in force
    said = refused(world, "qd_cong_nhan", "--school", "P1S2")
    assert "Đã có Quyết định số 01/QĐ-PGDĐT ngày 25/05/2025" in said
    said = refused(world, "qd_cong_nhan", "--school", "P1S2", "--new")
    assert "đã có Quyết định số 01/QĐ-PGDĐT ngày 25/05/2025 công nhận trường này" in said
    said = refused(world, "qd_cong_nhan", "--campaign", cid, "--new")
    assert "đã có Quyết định số 01/QĐ-PGDĐT ngày 25/05/2025 công nhận mọi trường đã được công nhận" in said
    assert "không có trường nào" not in said
    said = refused(world, "qd_cong_nhan", "--school", "P1S2", "--replace", "--reason", "Sửa tên")
    assert "công nhận 2 cơ sở giáo dục: thay thế quyết định đó cho cả đợt" in said
    said = refused(world, "qd_cong_nhan", "--school", "P1S1")
    assert "trường chưa ở giai đoạn công nhận" in said
    # an edited Điều 1 that keeps an old count is refused with both numbers
    (world["tmp"] / "qd.yaml").write_text(
        "article1: Công nhận mức độ chuyển đổi số năm học 2024-2025 đối với 5 cơ sở giáo dục có tên trong "
        "danh sách kèm theo.\n", encoding="utf-8")
    said = refused(world, "qd_cong_nhan", "--campaign", cid, "--replace", "--reason", "Sửa Điều 1",
                   "--text", str(world["tmp"] / "qd.yaml"))
    assert "ghi «5 cơ sở giáo dục» nhưng danh sách kèm theo có 2 cơ sở" in said
    register = world["cli"]("docs", "register", "--unit", "P1").stdout
    assert register.count("QĐ-PGDĐT") == 1  # nothing numbered by the refusals


def test_voiding_the_decision_stops_its_certificate_until_reissued(world):
    cli = world["cli"]
    out, gcn, gcn_id = generate(world, "giay_chung_nhan", "--school", "P1S2", "--date", "2025-05-26")
    assert "Số vào sổ: 01" in out and "Dự thảo" not in out  # what the register says, not «Dự thảo»
    assert "(Theo Quyết định số 01/QĐ-PGDĐT ngày 25 tháng 5 năm 2025" in alltext(gcn)
    done = cli("docs", "void", str(world["qd"]), "--reason", "Ghi sai điểm nhóm 2")
    said = " ".join(done.stdout.split())
    assert "Cần xử lý 1 văn bản" in said and "Giấy chứng nhận mức độ chuyển đổi số Số vào sổ: 01" in said
    notes = register_notes(world)
    assert notes["01/GCN-PGDĐT"].startswith("Cần xử lý: căn cứ Quyết định số 01/QĐ-PGDĐT ngày 25/05/2025 đã bị hủy")
    assert notes["01/QĐ-PGDĐT"].startswith("Đã hủy; lý do: Ghi sai điểm nhóm 2")
    # the web: the clerk sees it on the register, and the download is refused as valid
    app = create_app(world["engine"], uploads_dir=world["tmp"] / "uploads")
    clerk = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = clerk.post("/api/login", json={"username": "vanthu", "password": PASSWORD})
    clerk.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    page = " ".join(clerk.get("/documents").text.split())
    assert "Cần xử lý: căn cứ Quyết định số 01/QĐ-PGDĐT" in page
    r = clerk.get(f"/documents/{gcn_id}/download")
    assert r.status_code == 422 and "đã bị hủy" in r.text
    # reissued: a new decision (the school's door now open), then the certificate replaced on it
    _, qd2, _ = generate(world, "qd_cong_nhan", "--school", "P1S2", "--date", "2025-05-27")
    assert "Số: 02/QĐ-PGDĐT" in alltext(qd2) and annex_names(qd2) == ["Trường Tiểu học Số 1.2"]
    assert "đối với 1 cơ sở giáo dục" in alltext(qd2)
    _, gcn2, gcn2_id = generate(world, "giay_chung_nhan", "--school", "P1S2", "--date", "2025-05-28", "--replace",
                                "--reason", "Cấp lại theo Quyết định số 02")
    assert "(Theo Quyết định số 02/QĐ-PGDĐT ngày 27 tháng 5 năm 2025" in alltext(gcn2)
    assert clerk.get(f"/documents/{gcn2_id}/download").status_code == 200
    notes = register_notes(world)  # the chain: voided decision, replaced certificate, its replacement
    assert not [n for n in notes.values() if "Cần xử lý" in n]
    assert notes["01/GCN-PGDĐT"].startswith("Đã bị thay thế")
    assert notes["02/GCN-PGDĐT"].startswith("thay thế 01/GCN-PGDĐT")


def test_every_cong_van_of_a_unit_runs_in_one_series(world):
    cid = world["cid"]
    _, first, _ = generate(world, "cong_van_trien_khai", "--campaign", cid, "--date", "2024-10-11")
    _, second, _ = generate(world, "cong_van_nhac", "--campaign", cid, "--date", "2024-10-12")
    numbers = [re.search(r"Số: (\d+)/", alltext(d)).group(1) for d in (first, second)]
    assert numbers == ["01", "02"]
    path = world["tmp"] / "so-cv.xlsx"
    world["cli"]("docs", "register", "--unit", "P1", "--xlsx", str(path))
    titles = [r[3] for r in load_workbook(path).active.iter_rows(min_row=3, values_only=True) if "CV" in (r[1] or "")
              or (r[1] or "").endswith("-VP")]
    assert len(titles) == 2
    for title in titles:  # the trích yếu says each word once
        words = title.lower().split()
        assert not any(words[i:i + 2] == words[i + 2:i + 4] for i in range(len(words) - 3)), title
        assert not title.lower().startswith("công văn đôn đốc đôn đốc")


def test_grounds_and_names_follow_the_papers_date(world):
    cli, cid = world["cli"], world["cid"]
    _, before, _ = generate(world, "ke_hoach", "--campaign", cid, "--draft", "--date", "2025-03-01")
    bases = [line for line in alltext(before).splitlines() if line.startswith("Căn cứ")]
    assert any("1044/ĐA-UBND" in b for b in bases)  # the quận still existed
    _, after, _ = generate(world, "ke_hoach", "--campaign", cid, "--draft", "--date", "2025-08-01")
    bases = [line for line in alltext(after).splitlines() if line.startswith("Căn cứ")]
    assert not any("1044" in b or "quận" in b for b in bases)
    assert any("330/KH-SGDĐT" in b for b in bases) and not any("3276" in b for b in bases)
    # a quận anywhere in the paper (here in the body's contact line) blocks its number, with the reason
    cli("docs", "settings", "P1", "--contact-title", "Chuyên viên Phòng GDĐT quận Ba Đình")
    said = refused(world, "ke_hoach", "--campaign", cid, "--date", "2025-08-01", "--new")
    assert "còn ghi tên quận/huyện" in said and "Phòng GDĐT quận Ba Đình" in said
    cli("docs", "settings", "P1", "--contact-title", "Chuyên viên")
    # docs check reads the body too: the draft of March cites the quận's Đề án in its căn cứ
    path = world["tmp"] / "march.docx"
    path.write_bytes(before)
    done = cli("docs", "check", str(path), "ke_hoach", ok=False)
    assert done.returncode != 0 and "UBND quận Ba Đình" in done.stderr + done.stdout


def test_the_school_report_is_complete_and_its_findings_are_editable(world):
    cli, cid, tmp = world["cli"], world["cid"], world["tmp"]
    cli("docs", "text", "bao_cao", "--campaign", cid, "--school", "P1S1", "--out", str(tmp / "bc.yaml"))
    sections = yaml.safe_load((tmp / "bc.yaml").read_text(encoding="utf-8"))
    assert list(sections) == ["strengths", "weaknesses", "improvements", "proposals"]
    assert all(v.strip() for v in sections.values())  # IV-VI filled from the stored scores
    sections["proposals"] = "Đề nghị Phòng Giáo dục và Đào tạo số 1 hỗ trợ thiết bị phòng học STEM."
    (tmp / "bc.yaml").write_text(yaml.safe_dump(sections, allow_unicode=True), encoding="utf-8")
    _, bc, _ = generate(world, "bao_cao", "--school", "P1S1", "--date", "2024-11-20", "--text", str(tmp / "bc.yaml"))
    paras = [p.text for p in Document(io.BytesIO(bc)).paragraphs]
    for heading in ("IV. ĐÁNH GIÁ CHUNG", "V. KẾ HOẠCH CẢI TIẾN", "VI. ĐỀ XUẤT, KIẾN NGHỊ"):
        i = paras.index(heading)
        assert paras[i + 1].strip() and not paras[i + 1].startswith(("V.", "VI.")), heading
    assert "- Đề nghị Phòng Giáo dục và Đào tạo số 1 hỗ trợ thiết bị phòng học STEM." in paras
    rows = next([[c.text for c in r.cells] for r in t.rows] for t in Document(io.BytesIO(bc)).tables
                if t.rows[0].cells[0].text == "Mã")
    mandatory = [r for r in rows if r[2] == "Bắt buộc"]
    assert mandatory and all(r[3] in ("Đạt", "Không đạt") for r in mandatory)
    assert not [r for r in rows if r[2] == "0" and r[3] == "0"]
    text = alltext(bc)
    assert "Mức độ chuyển đổi số chung" not in text  # 4725 states a level per group only


def test_the_dossier_cover_lists_exactly_the_bundle(world):
    import zipfile

    from cdsflow.workflow.document_types import document_types

    generate(world, "qd_hoi_dong", "--school", "P1S1", "--date", "2024-11-05")
    out = world["tmp"] / "ho-so.zip"
    done = world["cli"]("docs", "dossier", "--school", "P1S1", "--campaign", world["cid"], "--out", str(out))
    said_missing = [line.split("Chưa có:", 1)[1].strip() for line in done.stdout.splitlines() if "Chưa có:" in line]
    with zipfile.ZipFile(out) as zf:
        names = [n for n in zf.namelist() if n[:2].isdigit() and n != "00-muc-luc.docx"]
        cover = next(n for n in names if "bia_ho_so" in n)
        lines = [p.text for p in Document(io.BytesIO(zf.read(cover))).paragraphs if re.match(r"^\d+\. ", p.text)]
    assert names == sorted(names)  # files numbered in binding order, no gaps
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))
    types = {t.code: t.name for t in document_types().values()}
    bundled = [types[re.sub(r"^\d+-|(-ban-ky)?\.(docx|pdf)$", "", n)] for n in names if n != cover]
    listed = [re.sub(r"^\d+\. ", "", x) for x in lines]
    assert [x for x in listed if not x.endswith(" (còn thiếu)")] == bundled
    assert [x.removesuffix(" (còn thiếu)") for x in listed if x.endswith(" (còn thiếu)")] == said_missing
    assert bundled and said_missing  # the committee's decision is there; the minutes and the rest are missing


def test_dates_that_contradict_each_other_are_refused_with_the_date_and_why(world):
    cli, cid, tmp = world["cli"], world["cid"], world["tmp"]
    future = cli("committee", "meeting", "P1S4", "--by", "Lê Thị Mai", "--at", "2099-03-10 08:00", "--end", "10:00",
                 "--place", "Phòng họp", "--chair", "Đặng Quang Sơn", "--secretary", "Lê Thị Mai", "--present", "5",
                 "--total", "5", "--for", "5", "--conclusions", "Thông qua.", ok=False)
    said = " ".join((future.stderr + future.stdout).split())
    assert future.returncode != 0 and "ngày họp 10/03/2099 chưa đến" in said
    early = cli("committee", "meeting", "P1S4", "--by", "Lê Thị Mai", "--at", "2024-10-02 08:00", "--end", "10:00",
                "--place", "Phòng họp", "--chair", "Đặng Quang Sơn", "--secretary", "Lê Thị Mai", "--present", "5",
                "--total", "5", "--for", "5", "--conclusions", "Thông qua.", ok=False)
    said = " ".join((early.stderr + early.stdout).split())
    assert early.returncode != 0 and "ngày họp 02/10/2024 trước ngày thành lập Hội đồng tự đánh giá (03/11/2024)" in said
    kept = cli("committee", "meeting", "P1S4", "--by", "Lê Thị Mai", "--at", "2024-11-10 08:00", "--end", "10:00",
               "--place", "Phòng họp", "--chair", "Đặng Quang Sơn", "--secretary", "Lê Thị Mai", "--present", "4",
               "--total", "5", "--for", "4", "--absent", "Ngô Thu Hà=nghỉ ốm", "--conclusions", "Thông qua.")
    assert kept.returncode == 0  # the --absent form the help documents
    team = tmp / "doan.csv"
    team.write_text("Họ và tên,Chức vụ,Đơn vị công tác,Nhiệm vụ trong đoàn\n"
                    "Lê Thị Thu,Trưởng phòng,Phòng GDĐT số 1,Trưởng đoàn\n"
                    "Trần Văn Bình,Chuyên viên,Phòng GDĐT số 1,Thư ký\n", encoding="utf-8")
    late = cli("team", "set", cid, str(team), "--by", "Trần Minh Tuấn", "--from", "2025-04-01", "--to", "2025-05-15",
               ok=False)  # today the period is over
    assert late.returncode != 0 and "đã kết thúc ngày 15/05/2025" in " ".join(late.stderr.split())
    cli.on(datetime(2025, 3, 17, 9, tzinfo=UTC))("team", "set", cid, str(team), "--by", "Trần Minh Tuấn",
                                                 "--from", "2025-04-01", "--to", "2025-05-15")
    for school, day, why in (("P1S1", "2025-04-12", "ngày 12/04/2025 là thứ Bảy"),
                             ("P1S1", "2025-04-30", "ngày 30/04/2025 là ngày nghỉ lễ"),
                             ("P1S1", "2025-06-02", "ngày 02/06/2025 nằm ngoài thời gian làm việc của đoàn"),
                             ("P1S2", "2025-04-14", "đã qua đánh giá ngoài")):
        done = cli("team", "visit", cid, school, "--date", day, ok=False)
        assert done.returncode != 0 and why in " ".join((done.stderr + done.stdout).split()), (day, done.stderr)
    cli("team", "visit", cid, "P1S1", "--date", "2025-04-14")  # a Monday inside the period: kept
