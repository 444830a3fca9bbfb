"""The documents service on a real database, the schools walked through the real use-cases:
numbering, storage, byte-for-byte reproduction, gates, replace-or-new, void, bulk generation in
processes with the skipped schools listed, dossiers, and refusals that leave the data untouched."""
import hashlib
import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cdsflow.documents.checks import check_docx
from cdsflow.documents.register import register_xlsx
from cdsflow.documents.settings import update_settings
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Stage
from cdsflow.services import dossier as dossier_svc
from cdsflow.services import papers as service
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentCounter, GeneratedDocument
from cdsflow.workflow.paper_gates import PaperRefused
from tests.factories import complete_self_assessment
from tests.papers_world import launch, walk


def _count(engine, model) -> int:
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def world(engine):
    w = launch(engine, schools=3)
    walk(engine, w, "P1S1", Stage.PROPOSAL)
    aid = walk(engine, w, "P1S2", Stage.SELF_ASSESSMENT, meeting=False)
    complete_self_assessment(engine, aid)  # scored, meeting not recorded
    return w


def test_generate_numbers_stores_and_reproduces_byte_for_byte(engine, world):
    rec1, data1 = service.generate(engine, "qd_hoi_dong", school_code="P1S1", campaign_id=world.campaign_id,
                                   issued_on=date(2024, 11, 5))
    assert rec1.number == 1 and rec1.number_line == "Số: 01/QĐ-P1S1"  # digits in a ký hiệu, as NĐ 30 allows
    assert rec1.context["signature"] == {"lines": ["HIỆU TRƯỞNG"], "name": "Nguyễn Thị Hoa"}  # the chair, its head
    assert rec1.context["authority_line"] == "HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC SỐ 1.1"
    assert rec1.context["recipients"] == ["- Như Điều 3;", "- Phòng Giáo dục và Đào tạo số 1 (để b/c);"]
    assert rec1.context["archive_line"] == "- Lưu: VT, HĐTĐG."
    assert check_docx(data1, "qd_hoi_dong") == []
    assert service.reproduce(engine, rec1.id) == data1
    assert hashlib.sha256(data1).hexdigest() == rec1.content_sha256


def test_the_same_paper_again_asks_replace_or_new(engine, world):
    first, _ = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 5))
    with pytest.raises(service.AlreadyIssued) as err:
        service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 6))
    assert "Quyết định số 01/QĐ-P1S1" in str(err.value) and "--replace" in str(err.value)
    assert _count(engine, GeneratedDocument) == 1
    with pytest.raises(InvalidInput):  # a replacement says why
        service.generate(engine, "qd_hoi_dong", school_code="P1S1", on_existing="replace")
    second, data = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 6),
                                    on_existing="replace", reason="Bổ sung thành viên")
    assert second.number == 2 and second.replaces_id == first.id
    assert second.context["replaces_line"].startswith("Quyết định này thay thế Quyết định số 01/QĐ-P1S1 ngày 05")
    assert "Quyết định này thay thế Quyết định số 01/QĐ-P1S1" in "\n".join(
        p.text for p in __import__("docx").Document(io.BytesIO(data)).paragraphs)
    third, _ = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 7),
                                on_existing="new")
    assert third.number == 3 and third.replaces_id is None
    lines = service.register_listing(engine, "P1S1")
    assert [(x.number, x.note) for x in lines] == [("01", "Đã bị thay thế"),
                                                   ("02", "thay thế 01/QĐ-P1S1; lý do: Bổ sung thành viên"),
                                                   ("03", "")]


def test_void_keeps_the_number_and_backdating_is_warned(engine, world):
    a, _ = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 10))
    service.void_document(engine, a.id, "Ban hành nhầm")
    with pytest.raises(InvalidInput):
        service.void_document(engine, a.id, "lần nữa")
    with pytest.raises(InvalidInput):
        service.void_document(engine, a.id, "")
    b, _ = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 8))
    assert b.number == 2  # never 1 again
    assert "trước ngày của số liền trước" in b.note
    line = service.register_listing(engine, "P1S1")[0]
    assert line.note == "Đã hủy; lý do: Ban hành nhầm"


def test_minutes_print_the_recorded_meeting_and_are_refused_without_it(engine, world):
    service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 5))
    bb, data = service.generate(engine, "bien_ban", school_code="P1S1", issued_on=date(2024, 11, 12))
    assert bb.number == 1 and bb.series == "HĐ:BB" and bb.number_line == "Số: 01/BB-HĐTĐG"
    ctx = bb.context
    assert ctx["opening"].startswith("Vào hồi 8 giờ 00 phút, ngày")
    assert ctx["venue"] == "Phòng họp tầng 2" and ctx["present_count"] == "4/5"
    assert ctx["absent_lines"] == ["Ngô Thu Hà (lý do: nghỉ ốm);"]
    assert ctx["vote_line"].startswith("Biểu quyết: 3/4 thành viên có mặt tán thành, 0 không tán thành, 1 không")
    assert ctx["chair_name"] == "Nguyễn Thị Hoa" and ctx["secretary_name"] == "Lê Thị Mai"
    assert [g["group_code"] for g in ctx["group_results"]] == ["1", "2"] and ctx["group_results"][0]["points"]
    assert check_docx(data, "bien_ban") == []
    qd, _ = service.generate(engine, "qd_phe_duyet", school_code="P1S1", issued_on=date(2024, 11, 13))
    bases = qd.context["legal_bases"]
    assert any("Biên bản số 01/BB-HĐTĐG" in b for b in bases)
    with pytest.raises(PaperRefused) as err:  # P1S2 never recorded its meeting
        service.generate(engine, "bien_ban", school_code="P1S2", issued_on=date(2024, 11, 12))
    assert "chưa ghi thông tin cuộc họp" in str(err.value)
    draft, _ = service.generate(engine, "bien_ban", school_code="P1S2", draft=True)
    assert draft.number is None and draft.context["present_lines"] == [] and "Vào hồi" in draft.context["opening"]
    assert "8 giờ" not in draft.context["opening"] and draft.context["chair_name"] == ""


def test_papers_that_need_results_are_refused_without_them(engine):
    w = launch(engine, schools=2)
    walk(engine, w, "P1S1", Stage.COMMITTEE_FORMED)
    for code in ("bao_cao", "qd_phe_duyet", "to_trinh", "bien_ban"):
        with pytest.raises(PaperRefused) as err:
            service.generate(engine, code, school_code="P1S1", issued_on=date(2024, 11, 12))
        assert "chưa có điểm tự đánh giá" in str(err.value) or "giai đoạn" in str(err.value), code
    with pytest.raises(PaperRefused):  # not recognised
        service.generate(engine, "giay_chung_nhan", school_code="P1S1", issued_on=date(2024, 11, 12))
    assert _count(engine, GeneratedDocument) == 0 and _count(engine, DocumentCounter) == 0


def test_unit_settings_choose_the_signature_and_the_keying(engine, world):
    update_settings(engine, "P1S1", {"signature_mode": "KT", "signer_title": "Phó Hiệu trưởng",
                                     "register_keying": "unit_year"})
    a, _ = service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 5))
    b, _ = service.generate(engine, "to_trinh", school_code="P1S1", issued_on=date(2024, 11, 6))
    # the deputy who signs KT. is the committee's vice-chair holding that title
    assert a.context["signature"] == {"lines": ["KT. HIỆU TRƯỞNG", "PHÓ HIỆU TRƯỞNG"], "name": "Trần Văn Nam"}
    assert (a.number, b.number, b.series) == (1, 2, "*")  # one run for all types


def test_an_authority_without_a_signer_name_is_refused(engine, world):
    walk(engine, world, "P1S1", Stage.RECOGNITION)
    with pytest.raises(PaperRefused) as err:
        service.generate(engine, "qd_cong_nhan", campaign_id=world.campaign_id, issued_on=date(2025, 5, 25))
    assert "Chưa có họ tên người ký" in str(err.value)
    update_settings(engine, "P1", {"signer_name": "Lê Thị Thu", "head_title": "Trưởng phòng"})
    rec, data = service.generate(engine, "qd_cong_nhan", campaign_id=world.campaign_id, issued_on=date(2025, 5, 25))
    assert rec.context["authority_line"] == "TRƯỞNG PHÒNG GIÁO DỤC VÀ ĐÀO TẠO SỐ 1"
    assert rec.context["recipients"][-1] == "- Sở Giáo dục và Đào tạo Hà Nội (để b/c);"
    assert check_docx(data, "qd_cong_nhan") == []


def test_refusals_leave_the_register_untouched(engine, world):
    with pytest.raises(NotFound):
        service.generate(engine, "qd_hoi_dong", school_code="KHONGCO")
    with pytest.raises(InvalidInput):
        service.generate(engine, "khong_co_loai", school_code="P1S1")
    update_settings(engine, "P1", {"signer_name": "Lê Thị Thu"})
    with pytest.raises(PaperRefused):  # the team is missing: refused before anything is stored
        service.generate(engine, "qd_doan_danh_gia", campaign_id=world.campaign_id, issued_on=date(2025, 5, 1))
    assert _count(engine, GeneratedDocument) == 0 and _count(engine, DocumentCounter) == 0


def test_campaign_papers_of_the_authority(engine, world):
    update_settings(engine, "P1", {"signer_name": "Lê Thị Thu"})
    team = [{"full_name": "Lê Thị Mai", "position": "Phó Trưởng phòng", "role": "head"},
            {"full_name": "Trần Văn Bình", "position": "Chuyên viên", "role": "secretary"}]
    cid = world.campaign_id
    for code, data in (("qd_doan_danh_gia", {"team": team}), ("cong_van_nhac", {"milestone": "to-trinh"})):
        rec, content = service.generate(engine, code, campaign_id=cid, issued_on=date(2025, 3, 20), data=data)
        assert rec.unit_id != rec.school_id and check_docx(content, code) == [], code
    assert [s["name"] for s in _ctx(engine, "qd_doan_danh_gia")["schools"]] == ["Trường Tiểu học Số 1.1"]
    reminder = rec.context
    assert reminder["header"]["number_line"] == "Số: 01/PGDĐT-VP"
    assert len(reminder["overdue"]) == 2  # the two schools that have not proposed


def _ctx(engine, code):
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(GeneratedDocument.context).where(GeneratedDocument.doc_type == code)
                                   .order_by(GeneratedDocument.id.desc())).scalars().first()


def test_bulk_generation_in_two_processes_lists_the_skipped_schools(engine, world, tmp_path):
    walk(engine, world, "P1S3", Stage.EXTERNAL_REVIEW)
    seen = []
    result = service.generate_for_campaign(engine, "to_trinh", world.campaign_id, tmp_path, workers=2,
                                           issued_on=date(2025, 4, 1),
                                           progress=lambda done, total: seen.append((done, total)))
    assert len(result.paths) == 2 and seen[-1] == (2, 2)
    assert [c for c, _ in result.skipped] == ["MN1", "P1S2"] or [c for c, _ in result.skipped] == ["P1S2"]
    assert "chưa gửi tờ trình" in dict(result.skipped)["P1S2"]
    with UnitOfWork(engine) as uow:
        records = list(uow.session.execute(select(GeneratedDocument).order_by(GeneratedDocument.id)).scalars())
    assert len(records) == 2
    for rec, path in zip(records, result.paths, strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == rec.content_sha256
        assert service.reproduce(engine, rec.id) == path.read_bytes()
        assert rec.number == 1  # each school numbers its own papers
        assert check_docx(path.read_bytes(), "to_trinh") == []
    again = service.generate_for_campaign(engine, "to_trinh", world.campaign_id, tmp_path / "again", workers=1)
    assert again.paths == [] and all("thay thế văn bản đó" in why or "tờ trình" in why for _, why in again.skipped)


def test_dossier_is_bound_in_the_calendar_order(engine, world, tmp_path):
    for code in ("to_trinh", "bien_ban", "qd_phe_duyet"):
        service.generate(engine, code, school_code="P1S1", issued_on=date(2024, 11, 20))
    result = dossier_svc.build_dossier(engine, "P1S1", world.campaign_id, tmp_path / "ho-so.zip")
    names = zipfile.ZipFile(result.path).namelist()
    assert names == ["00-muc-luc.docx", "01-bia_ho_so.docx", "02-to_trinh.docx", "03-bien_ban.docx",
                     "04-qd_phe_duyet.docx"]  # numbered in bundle order, no gap for the missing one
    assert result.missing == ["Báo cáo kết quả tự đánh giá"]
    with zipfile.ZipFile(result.path) as zf:
        assert check_docx(zf.read("02-to_trinh.docx"), "to_trinh") == []
    with pytest.raises(InvalidInput):
        dossier_svc.build_dossier(engine, "P1S1", world.campaign_id, tmp_path / "x.zip", order=["bia_ho_so", "la"])


def test_register_lines_and_excel_export(engine, world):
    service.generate(engine, "qd_hoi_dong", school_code="P1S1", issued_on=date(2024, 11, 5))
    service.generate(engine, "qd_hoi_dong", school_code="P1S2", issued_on=date(2024, 11, 5))
    service.generate(engine, "to_trinh", school_code="P1S1", draft=True)  # drafts are not in the register
    lines = service.register_listing(engine, "P1S1")
    assert len(lines) == 1
    line = lines[0]
    assert (line.number, line.code, line.day, line.signer, line.unit) == (
        "01", "QĐ-P1S1", "05/11/2024", "Nguyễn Thị Hoa", "Trường Tiểu học Số 1.1")
    assert line.title.startswith("Quyết định về việc thành lập Hội đồng tự đánh giá")
    assert line.recipients == "Như Điều 3; Phòng Giáo dục và Đào tạo số 1 (để b/c); Lưu: VT, HĐTĐG"
    assert len(service.register_listing(engine)) == 2
    wb = load_workbook(io.BytesIO(register_xlsx(service.register_listing(engine))))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[1][:4] == ("Số", "Ký hiệu", "Ngày", "Tên loại và trích yếu nội dung") and len(rows) == 4
