"""`cdsflow calendar check/show/list` through the real Typer app."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from cdsflow.app.cli import _register, app
from cdsflow.calendars.catalog import DATA_DIR, shipped_calendars

BROKEN = Path(__file__).parents[1] / "integration" / "fixtures" / "calendar_broken"


@pytest.fixture(scope="module")
def cli():
    _register()
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_check_every_shipped_calendar_is_ok(cli):
    result = cli("calendar", "check", *map(str, shipped_calendars()))
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == 6  # the five seeds and the ward plan
    assert "cảnh báo: mốc 'truong-cong-bo': hạn 31/05/2025 rơi vào thứ Bảy" in result.output


def test_check_accepts_shipped_names(cli):
    result = cli("calendar", "check", "bac-giang/so-2023-2024")
    assert result.exit_code == 0 and "OK" in result.output and "6 mốc" in result.output


def test_check_a_broken_file_names_file_and_line_and_exits_1(cli):
    bad = BROKEN / "impossible_date.yaml"
    good = DATA_DIR / "hai-phong/hung-thang-2025-2026.yaml"
    result = cli("calendar", "check", str(good), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:10: lỗi: mốc 'to-trinh' › due: ngày không tồn tại: 31/02/2025" in result.output
    assert f"OK {good}" in result.output  # the good one is still reported


def test_check_an_unknown_name_fails(cli):
    result = cli("calendar", "check", "hanoi/khong-co")
    assert result.exit_code == 1 and "Không tìm thấy lịch" in result.output


def test_show_prints_the_timeline_and_exports_ics(cli, tmp_path):
    out = tmp_path / "ba-dinh.ics"
    result = cli("calendar", "show", "hanoi/ba-dinh-2024-2025", "--ics", str(out))
    assert result.exit_code == 0, result.output
    for header in ("TT", "Nội dung", "Đối tượng", "Giai đoạn", "Hạn", "Văn bản"):
        assert header in result.output
    assert "Trước 24h00 ngày 31/03/2025" in result.output and "Tháng 05/2025" in result.output
    assert "Ban hành: tháng 03/2025" in result.output

    cal = icalendar.Calendar.from_ical(out.read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) == 8
    assert str(cal["X-WR-CALNAME"]) == "Phòng GDĐT quận Ba Đình – năm học 2024-2025"
    by_uid = {str(e["UID"]): e for e in events}
    proposal = by_uid["hanoi/ba-dinh-2024-2025/truong-tu-danh-gia-to-trinh@cdsflow"]
    assert proposal.decoded("DTSTART") == date(2025, 3, 31)
    assert proposal.decoded("DTEND") == date(2025, 4, 1)
    assert "Tự đánh giá mức độ chuyển đổi số" in str(proposal["SUMMARY"])
    assert "Tờ trình đề nghị đánh giá ngoài" in str(proposal["DESCRIPTION"])
    may = by_uid["hanoi/ba-dinh-2024-2025/truong-don-doan@cdsflow"]
    assert (may.decoded("DTSTART"), may.decoded("DTEND")) == (date(2025, 5, 1), date(2025, 6, 1))


def test_show_refuses_a_broken_calendar_without_writing_ics(cli, tmp_path):
    out = tmp_path / "x.ics"
    result = cli("calendar", "show", str(BROKEN / "unknown_stage.yaml"), "--ics", str(out))
    assert result.exit_code == 2
    assert "unknown_stage.yaml:9" in result.output and "giai đoạn không tồn tại" in result.output
    assert not out.exists()


def test_list_shows_the_shipped_calendars(cli):
    result = cli("calendar", "list")
    assert result.exit_code == 0
    for name in ("hanoi/ba-dinh-2024-2025", "bac-giang/so-2023-2024", "hai-phong/hung-thang-2025-2026"):
        assert name in result.output
    assert "Sở GDĐT Bắc Giang" in result.output


def test_check_a_folder_checks_every_file_in_it(cli):
    result = cli("calendar", "check", str(BROKEN))
    assert result.exit_code == 1
    broken = sorted(BROKEN.glob("*.yaml"))
    assert result.output.count("KHÔNG HỢP LỆ") == len(broken)
    assert f"OK {BROKEN / 'parents' / 'so.yaml'}" in result.output  # the valid parent passes
