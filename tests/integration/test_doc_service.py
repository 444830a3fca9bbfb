"""The documents service on a real database: numbering, storage, byte-for-byte reproduction,
bulk generation in processes, dossiers, and refusals that leave the data untouched."""
import hashlib
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from cdsflow.documents import service
from cdsflow.documents.checks import check_docx
from cdsflow.documents.samples import sample_groups, seed_database
from cdsflow.documents.settings import update_settings
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentCounter, GeneratedDocument
from cdsflow.workflow.errors import InvalidInput, NotFound


def scores(_assessment):
    return {"group_results": sample_groups(), "level": 2}


def _count(engine, model) -> int:
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_generate_numbers_stores_and_reproduces_byte_for_byte(engine):
    seed = seed_database(engine, 2)
    rec1, data1 = service.generate(engine, "qd_hoi_dong", school_code="THHT", campaign_id=seed["campaign_id"],
                                   issued_on=date(2026, 3, 5))
    rec2, _ = service.generate(engine, "qd_hoi_dong", school_code="THHT", issued_on=date(2026, 3, 6))
    assert (rec1.number, rec2.number) == (1, 2)
    assert rec1.number_line == "Số: 01/QĐ-THHT"
    assert check_docx(data1, "qd_hoi_dong") == []
    assert service.reproduce(engine, rec1.id) == data1
    assert hashlib.sha256(data1).hexdigest() == rec1.content_sha256


def test_minutes_run_in_the_council_series_and_decisions_cite_them(engine):
    seed_database(engine, 1)
    service.generate(engine, "qd_hoi_dong", school_code="THHT", issued_on=date(2026, 3, 5))
    bb, data = service.generate(engine, "bien_ban", school_code="THHT", issued_on=date(2026, 4, 10), scores=scores)
    assert bb.number == 1 and bb.series == "HĐ:BB" and bb.number_line == "Số: 01/BB-HĐTĐG"
    assert check_docx(data, "bien_ban") == []
    qd, data = service.generate(engine, "qd_phe_duyet", school_code="THHT", issued_on=date(2026, 4, 12), scores=scores)
    assert qd.number == 2  # same QĐ series as the committee decision, the minutes did not count
    bases = qd.context["legal_bases"]
    assert any(b.startswith("Căn cứ Quyết định số 01/QĐ-THHT ngày 05 tháng 3 năm 2026") for b in bases)
    assert any("Biên bản số 01/BB-HĐTĐG" in b for b in bases)
    assert bases[-1].endswith(".") and all(b.endswith(";") for b in bases[:-1])


def test_drafts_take_no_number(engine):
    seed_database(engine, 1)
    rec, data = service.generate(engine, "to_trinh", school_code="THHT", draft=True)
    assert rec.number is None and "Số:       /TTr-THHT" == rec.number_line
    assert _count(engine, DocumentCounter) == 0
    rec, _ = service.generate(engine, "to_trinh", school_code="THHT", issued_on=date(2026, 4, 1))
    assert rec.number == 1


def test_unit_settings_choose_the_signature_and_the_keying(engine):
    seed_database(engine, 1)
    update_settings(engine, "THHT", {"signature_mode": "KT", "signer_title": "Phó Hiệu trưởng",
                                     "signer_name": "Trần Thị Hạnh", "register_keying": "unit_year"})
    a, _ = service.generate(engine, "qd_hoi_dong", school_code="THHT", issued_on=date(2026, 3, 5))
    b, _ = service.generate(engine, "to_trinh", school_code="THHT", issued_on=date(2026, 3, 6))
    assert a.context["signature"] == {"lines": ["KT. HIỆU TRƯỞNG", "PHÓ HIỆU TRƯỞNG"], "name": "Trần Thị Hạnh"}
    assert (a.number, b.number, b.series) == (1, 2, "*")  # one run for all types


def test_bad_settings_are_refused_and_leave_the_row_as_it_was(engine):
    seed_database(engine, 1)
    update_settings(engine, "THHT", {"signer_name": "Nguyễn Văn An"})
    with pytest.raises(InvalidInput):
        update_settings(engine, "THHT", {"signature_mode": "KT", "signer_title": "Hiệu trưởng"})
    with pytest.raises(InvalidInput):
        update_settings(engine, "THHT", {"register_keying": "monthly"})
    assert update_settings(engine, "THHT", {})["signature_mode"] == "head"


def test_refusals_leave_the_register_untouched(engine):
    seed = seed_database(engine, 1)
    with pytest.raises(NotFound):
        service.generate(engine, "qd_hoi_dong", school_code="KHONGCO")
    with pytest.raises(InvalidInput):
        service.generate(engine, "khong_co_loai", school_code="THHT")
    with pytest.raises(InvalidInput):  # the team is missing: refused before anything is stored
        service.generate(engine, "qd_doan_danh_gia", campaign_id=seed["campaign_id"], issued_on=date(2026, 5, 1))
    assert _count(engine, GeneratedDocument) == 0 and _count(engine, DocumentCounter) == 0


def test_campaign_papers_of_the_authority(engine):
    seed = seed_database(engine, 4)
    team = [{"full_name": "Lê Thị Mai", "position": "Phó Trưởng phòng", "role": "head"},
            {"full_name": "Trần Văn Bình", "position": "Chuyên viên", "role": "secretary"}]
    cid = seed["campaign_id"]
    for code, data in (("qd_doan_danh_gia", {"team": team}), ("qd_cong_nhan", {}), ("cong_van_nhac", {"milestone": "m1"})):
        rec, content = service.generate(engine, code, campaign_id=cid, issued_on=date(2026, 5, 20), data=data,
                                        scores=scores)
        assert rec.unit_id != rec.school_id and check_docx(content, code) == [], code
    reminder = rec.context
    assert reminder["header"]["number_line"] == "Số: 01/VHXH-VP"
    assert len(reminder["overdue"]) == 2  # schools still in self-assessment


def test_bulk_generation_in_two_processes(engine, tmp_path):
    seed = seed_database(engine, 6)
    seen = []
    paths = service.generate_for_campaign(engine, "to_trinh", seed["campaign_id"], tmp_path, workers=2,
                                          issued_on=date(2026, 4, 1), scores=scores,
                                          progress=lambda done, total: seen.append((done, total)))
    assert len(paths) == 6 and seen[-1] == (6, 6)
    with UnitOfWork(engine) as uow:
        records = list(uow.session.execute(select(GeneratedDocument).order_by(GeneratedDocument.id)).scalars())
    for rec, path in zip(records, paths):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == rec.content_sha256
        assert service.reproduce(engine, rec.id) == path.read_bytes()
        assert rec.number == 1  # each school numbers its own papers
        assert check_docx(path.read_bytes(), "to_trinh") == []


def test_dossier_is_bound_in_the_calendar_order(engine, tmp_path):
    seed = seed_database(engine, 1)
    for code in ("to_trinh", "bien_ban", "qd_phe_duyet"):
        service.generate(engine, code, school_code="THHT", issued_on=date(2026, 4, 10), scores=scores)
    result = service.build_dossier(engine, "THHT", seed["campaign_id"], tmp_path / "ho-so.zip")
    names = zipfile.ZipFile(result.path).namelist()
    assert names == ["01-bia_ho_so.docx", "02-to_trinh.docx", "03-bien_ban.docx", "05-qd_phe_duyet.docx"]
    assert result.missing == ["Báo cáo kết quả tự đánh giá"]
    with zipfile.ZipFile(result.path) as zf:
        assert check_docx(zf.read("02-to_trinh.docx"), "to_trinh") == []
    with pytest.raises(InvalidInput):
        service.build_dossier(engine, "THHT", seed["campaign_id"], tmp_path / "x.zip", order=["bia_ho_so", "la"])


def test_register_listing(engine):
    seed_database(engine, 2)
    service.generate(engine, "qd_hoi_dong", school_code="THHT", issued_on=date(2026, 3, 5))
    service.generate(engine, "qd_hoi_dong", school_code="TH0001", issued_on=date(2026, 3, 5))
    rows = service.register_listing(engine, "THHT")
    assert [(r["unit"], r["number_line"]) for r in rows] == [("THHT", "Số: 01/QĐ-THHT")]
    assert len(service.register_listing(engine)) == 2


def test_dossier_follows_the_order_the_campaigns_calendar_gave(engine, tmp_path):
    from sqlalchemy import update

    from cdsflow.storage.tables import Campaign

    seed = seed_database(engine, 1)
    with Session(engine) as s:  # what launch_campaign records from a calendar's `dossier:`
        s.execute(update(Campaign).where(Campaign.id == seed["campaign_id"]).values(dossier=["bia_ho_so", "qd_phe_duyet", "to_trinh"]))
        s.commit()
    for code in ("to_trinh", "qd_phe_duyet"):
        service.generate(engine, code, school_code="THHT", issued_on=date(2026, 4, 10), scores=scores)
    result = service.build_dossier(engine, "THHT", seed["campaign_id"], tmp_path / "ho-so.zip")
    assert zipfile.ZipFile(result.path).namelist() == ["01-bia_ho_so.docx", "02-qd_phe_duyet.docx", "03-to_trinh.docx"]
