"""The decision forming the review team (qd_doan_danh_gia) is built from the stored team and visits."""
from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document

from cdsflow.documents.checks import check_docx
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import papers as service
from cdsflow.services import review_teams as svc
from cdsflow.storage.db import UnitOfWork
from tests.integration.test_review_team_service import TEAM, officer, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("before_the_review")  # the 2025 team is formed before its period ends


def _text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _signer(world):  # noqa: F811 - the authority names its signer once
    from cdsflow.documents.settings import update_settings

    update_settings(world[0], "P1", {"signer_name": "Lê Văn Phúc"})


def test_decision_prints_the_stored_team_and_visits(world):  # noqa: F811
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, [TEAM[2], TEAM[1], TEAM[0]], officer(units))
        svc.schedule_visits(uow, cid, [svc.VisitInput("P1S2", date(2025, 4, 10), "chiều")], officer(units))
    record, content = service.generate(engine, "qd_doan_danh_gia", campaign_id=cid, issued_on=date(2025, 3, 28))
    assert check_docx(content, "qd_doan_danh_gia") == []
    text = _text(content)
    # Members in the order of their duties, whatever the order they were entered in.
    assert "1 | Lê Thị Mai | Phó Trưởng phòng, Phòng GDĐT số 1 | Trưởng đoàn" in text
    assert "2 | Trần Văn Bình | Chuyên viên, Phòng GDĐT số 1 | Thư ký" in text
    assert "3 | Phạm Thu Hà | Hiệu trưởng, Trường Tiểu học Số 2.1 | Thành viên" in text
    # Every school that proposed; the scheduled one with its day and half-day, first.
    assert "1 | Trường Tiểu học Số 1.2 | 10/04/2025 | Chiều" in text
    assert "2 | Trường Tiểu học Số 1.1 |  | " in text
    assert "Trường Tiểu học Số 1.3" not in text  # still self-assessing: not visited
    assert "của 2 cơ sở giáo dục theo lịch kèm theo, từ 01/04/2025 đến 20/05/2025" in text  # the team's period


def test_explicit_data_still_wins(world):  # noqa: F811
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units))
    other = [{"full_name": "Đỗ Văn Khoa", "position": "Trưởng phòng", "role": "head"},
             {"full_name": "Vũ Thị Lan", "position": "Chuyên viên", "role": "secretary"}]
    _, content = service.generate(engine, "qd_doan_danh_gia", campaign_id=cid, issued_on=date(2025, 3, 28),
                                  data={"team": other})
    text = _text(content)
    assert "Đỗ Văn Khoa" in text and "Lê Thị Mai" not in text


def test_without_team_or_data_the_decision_is_refused(world):  # noqa: F811
    engine, cid, _ = world
    with pytest.raises(InvalidInput) as err:
        service.generate(engine, "qd_doan_danh_gia", campaign_id=cid, issued_on=date(2025, 3, 28))
    assert "hãy thành lập Đoàn đánh giá ngoài" in str(err.value)


def test_the_name_given_to_the_team_is_printed(world):  # noqa: F811
    engine, cid, units = world
    with UnitOfWork(engine) as uow:
        svc.set_team(uow, cid, TEAM, officer(units), name="Đoàn kiểm tra, đánh giá ngoài Phòng GDĐT số 1")
    _, content = service.generate(engine, "qd_doan_danh_gia", campaign_id=cid, issued_on=date(2025, 3, 28))
    assert check_docx(content, "qd_doan_danh_gia") == []
    text = _text(content)
    assert "Điều 1. Thành lập Đoàn kiểm tra, đánh giá ngoài Phòng GDĐT số 1 gồm các ông (bà)" in text
    assert "DANH SÁCH ĐOÀN KIỂM TRA, ĐÁNH GIÁ NGOÀI PHÒNG GDĐT SỐ 1" in text
