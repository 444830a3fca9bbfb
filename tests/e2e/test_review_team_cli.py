"""`cdsflow team …` end to end in a subprocess: form from a spreadsheet, schedule, show, print the decision."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from docx import Document
from openpyxl import Workbook
from sqlalchemy import update

from cdsflow.services.assessments import find_assessment
from cdsflow.services.campaigns import launch_campaign
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.migrate import init_db
from cdsflow.storage.tables import Assessment
from tests.e2e.cli import Cli
from tests.factories import calendar, load_units

HEADER = ["Họ và tên", "Chức vụ", "Đơn vị công tác", "Nhiệm vụ trong đoàn"]


@pytest.fixture
def cli(tmp_path):
    c = Cli(tmp_path)
    engine = make_engine(c.env["DATABASE_URL"])
    init_db(engine)  # what `cdsflow init` does
    load_units(engine)
    with UnitOfWork(engine) as uow:
        launch_campaign(uow, issuer_code="P1", school_year="2024-2025", calendar=calendar())
        uow.session.execute(update(Assessment).where(Assessment.id == find_assessment(uow, "P1S2").id)
                            .values(state="proposal", locked=True))
        uow.commit()
    engine.dispose()
    return c


def test_team_from_a_spreadsheet_to_the_decision(cli, tmp_path):
    bad = tmp_path / "doan-loi.csv"
    bad.write_text(",".join(HEADER) + "\nLê Thị Mai,Phó Trưởng phòng,Phòng GDĐT số 1,Thành viên\n\n"
                   "Trần Văn Bình,Chuyên viên,Phòng GDĐT số 1,Phó đoàn trưởng\n", encoding="utf-8")
    refused = cli("team", "set", "1", str(bad), "--by", "Trần Minh Tuấn", ok=False)
    assert refused.returncode == 2
    assert "Dòng 4 (Trần Văn Bình): nhiệm vụ trong đoàn không rõ «Phó đoàn trưởng»" in refused.stderr
    assert "Đoàn cần đúng một Trưởng đoàn (đang có 0)" in refused.stderr
    assert "chưa có Đoàn đánh giá ngoài" in cli("team", "show", "1").stdout

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(["Trần Văn Bình", "Chuyên viên", "Phòng GDĐT số 1", "Thư ký"])
    ws.append(["Lê Thị Mai", "Phó Trưởng phòng", "Phòng GDĐT số 1", "Trưởng đoàn"])
    ws.append(["Phạm Thu Hà", "Hiệu trưởng", "Trường Tiểu học Số 2.1", "Thành viên"])
    good = tmp_path / "doan.xlsx"
    wb.save(good)
    late = cli("team", "set", "1", str(good), "--by", "Trần Minh Tuấn", "--to", "2025-05-15", ok=False)
    assert late.returncode == 2 and "đã kết thúc ngày 15/05/2025" in " ".join(late.stderr.split())
    assert "chưa có Đoàn đánh giá ngoài" in cli("team", "show", "1").stdout  # today is after its period
    in_time = cli.on(datetime(2025, 3, 17, 9, tzinfo=UTC))  # formed before the period ends
    out = in_time("team", "set", "1", str(good), "--by", "Trần Minh Tuấn", "--to", "2025-05-15").stdout
    assert "đã lưu Đoàn đánh giá ngoài mức độ chuyển đổi số năm học 2024-2025 (3 thành viên, " \
           "từ 01/04/2025 đến 15/05/2025)" in out

    refused = cli("team", "visit", "1", "P1S1", "--date", "2025-04-10", ok=False)
    assert refused.returncode == 2 and "Trường Tiểu học Số 1.1 chưa gửi tờ trình" in refused.stderr
    refused = cli("team", "visit", "1", "P1S2", "--date", "10/04/2025", ok=False)
    assert refused.returncode == 2 and "ngày không hợp lệ «10/04/2025»" in refused.stderr
    out = cli("team", "visit", "1", "P1S2", "--date", "2025-04-10", "--session", "chiều").stdout
    assert "Đã xếp lịch: Trường Tiểu học Số 1.2, buổi chiều ngày 10/04/2025." in out
    refused = cli("team", "set", "1", str(good), "--by", "Ai đó", "--unit", "P2", ok=False)
    assert refused.returncode == 6 and "đơn vị phát động kế hoạch" in refused.stderr

    shown = cli("team", "show", "1").stdout
    assert "Lê Thị Mai" in shown and "Trưởng đoàn" in shown and "10/04/2025" in shown and "chiều" in shown

    cli("docs", "settings", "P1", "--signer-name", "Lê Văn Phúc")  # the authority names its signer once
    cli("docs", "generate", "qd_doan_danh_gia", "--campaign", "1", "--out", str(tmp_path / "vb"),
        "--date", "2025-03-28")
    (paper,) = (tmp_path / "vb").glob("*.docx")
    doc = Document(io.BytesIO(paper.read_bytes()))
    rows = [" | ".join(c.text for c in row.cells) for t in doc.tables for row in t.rows]
    assert "1 | Lê Thị Mai | Phó Trưởng phòng, Phòng GDĐT số 1 | Trưởng đoàn" in rows
    assert "2 | Trần Văn Bình | Chuyên viên, Phòng GDĐT số 1 | Thư ký" in rows
    assert "1 | Trường Tiểu học Số 1.2 | 10/04/2025 | Chiều" in rows
