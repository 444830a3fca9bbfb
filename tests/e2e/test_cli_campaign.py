"""An officer and a school drive one campaign from the command line, as the README shows."""
from pathlib import Path

import pytest
import yaml

from tests.e2e.cli import Cli

UNITS = Path(__file__).resolve().parents[2] / "cdsflow" / "demo" / "units.csv"


@pytest.fixture
def cli(tmp_path):
    c = Cli(tmp_path)
    c("init")
    c("units", "import", str(UNITS))
    return c


def test_launch_walk_return_and_status(cli, tmp_path):
    out = cli("campaign", "launch", "--issuer", "DEMO-PGD-BD", "--year", "2024-2025", "--index-set", "4725",
              "--calendar", "hanoi/ba-dinh-2024-2025").stdout
    assert "Đã phát động kế hoạch số 1: 26 cơ sở giáo dục" in out  # the 4 preschools belong to 3276
    refused = cli("campaign", "launch", "--issuer", "DEMO-PGD-BD", "--year", "2024-2025", "--index-set", "3276", ok=False)
    assert refused.returncode == 2 and "bản tạm thời" in refused.stderr

    school = "DEMO-TH-KD"
    refused = cli("assessment", "advance", school, "--by", "Cô Hoa", ok=False)
    assert refused.returncode == 4 and "chưa có danh sách Hội đồng" in refused.stderr
    committee = tmp_path / "hd.csv"
    committee.write_text("Họ và tên,Chức vụ,Vai trò\nNguyễn Thị Hoa,Hiệu trưởng,Chủ tịch\n"
                         "Trần Văn Nam,Giáo viên,Thư ký\nLê Thị Mai,Tổ trưởng,Ủy viên\n", encoding="utf-8")
    cli("committee", "set", school, str(committee), "--by", "Nguyễn Thị Hoa")
    assert "Đã thành lập Hội đồng" in cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa").stdout
    assert "Đang tự đánh giá" in cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa").stdout

    gaps = cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa", ok=False)
    assert gaps.returncode == 4 and "Mục 1.4 chưa được chấm điểm" in gaps.stderr
    form = tmp_path / "phieu.yaml"
    cli("score", "form", "4725", str(form))
    data = yaml.safe_load(form.read_text(encoding="utf-8"))
    from cdsflow.assessment.files import shipped_index_sets
    from cdsflow.services.demo import demo_answers

    data["answers"] = {k: (float(v) if not isinstance(v, (bool, int, float, str)) else v)
                       for k, v in demo_answers(shipped_index_sets()["4725"], 0.8).items()}
    form.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    aid = "1"
    cli("score", "enter", str(form), "--assessment", aid, "--by", "Thư ký Nam")
    missing = cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa", ok=False)
    assert "minh chứng" in missing.stderr  # scored, but no evidence yet
    codes = list(shipped_index_sets()["4725"].criteria)
    cli("evidence", "add", "--assessment", aid, "--criterion", codes[0], "--title", "Kế hoạch dạy học trực tuyến",
        "--link", "https://kimdong.edu.vn/mc/1.1", "--by", "Thư ký Nam")
    _add_evidence(cli, int(aid), codes[1:])  # the rest through the same service, to keep the test short
    assert "Đã gửi tờ trình" in cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa").stdout

    same = cli("assessment", "advance", school, "--by", "Nguyễn Thị Hoa", ok=False)
    assert same.returncode == 4 and "không được tự phê duyệt" in same.stderr
    cli("assessment", "advance", school, "--by", "Chuyên viên Tuấn")
    stale = cli("assessment", "return", school, "--by", "Chuyên viên Tuấn", "--reason", "Bổ sung", "--version", "1", ok=False)
    assert stale.returncode == 5 and "người khác cập nhật" in stale.stderr
    cli("assessment", "return", school, "--by", "Chuyên viên Tuấn", "--reason", "Bổ sung minh chứng tiêu chí 1.4",
        "--criterion", "1.4=Thiếu danh mục học liệu")
    history = cli("assessment", "history", school).stdout
    assert "Bổ sung minh chứng tiêu chí 1.4" in history and "1.4: Thiếu danh mục học liệu" in history

    status = cli("campaign", "status", "1", "--at", "2025-04-01T08:00:00", "--late", "30").stdout
    assert "Đã nộp tờ trình: 0/26" in status and "chậm hạn: 26" in status and "Trường Tiểu học Kim Đồng" in status


def _add_evidence(cli, aid: int, codes: list[str]) -> None:
    from cdsflow.services.scoring import add_evidence
    from cdsflow.storage.db import UnitOfWork, make_engine

    with UnitOfWork(make_engine(cli.env["DATABASE_URL"])) as uow:
        for code in codes:
            add_evidence(uow.session, aid, code, f"Minh chứng {code}", link=f"https://kimdong.edu.vn/mc/{code}")
        uow.commit()
