"""Visits fall on working days of the unit's calendar: besides weekends and national holidays, the
days off its calendar names (`days_off`, each with its reason), kept by the campaign at launch.
Entered through the real `cdsflow` command; the calendar is a YAML file as an officer writes it."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update

from cdsflow.calendars.parse import parse_calendar
from cdsflow.services.assessments import find_assessment
from cdsflow.services.campaigns import launch_campaign
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.migrate import init_db
from cdsflow.storage.tables import Assessment, Campaign
from tests.e2e.cli import Cli
from tests.factories import calendar, load_units

DAYS_OFF = """
days_off:
  - 2025-04-15 nghỉ bù ngày Giỗ Tổ Hùng Vương theo thông báo của UBND phường
"""


SHIPPED = Path(__file__).resolve().parents[2] / "cdsflow" / "calendars" / "data" / "hai-phong" / "so-2024-2025.yaml"


def with_days_off(extra: str = "") -> str:
    return SHIPPED.read_text(encoding="utf-8") + DAYS_OFF + extra


def test_the_calendar_names_its_days_off_with_a_reason():
    parsed = parse_calendar(with_days_off("  - 2025-04-16\n"))
    assert [p.message for p in parsed.problems if p.severity == "error"] == [
        "lịch › days_off: ngày nghỉ 16/04/2025 cần ghi lý do (ví dụ «2025-05-02 nghỉ bù ngày 30/4»)"]
    ok = parse_calendar(with_days_off())
    assert ok.calendar is not None and ok.calendar.days_off == (
        (date(2025, 4, 15), "nghỉ bù ngày Giỗ Tổ Hùng Vương theo thông báo của UBND phường"),)


def test_a_visit_on_a_day_off_of_the_units_calendar_is_refused_with_its_reason(tmp_path):
    from dataclasses import replace

    cli = Cli(tmp_path)
    engine = make_engine(cli.env["DATABASE_URL"])
    init_db(engine)
    load_units(engine)
    days = parse_calendar(with_days_off()).calendar.days_off
    with UnitOfWork(engine) as uow:
        cid = launch_campaign(uow, issuer_code="P1", school_year="2024-2025",
                              calendar=replace(calendar(), days_off=days)).campaign_id
        uow.session.execute(update(Assessment).where(Assessment.id == find_assessment(uow, "P1S2").id)
                            .values(state="proposal", locked=True))
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.session.get(Campaign, cid).days_off == [["2025-04-15", days[0][1]]]  # kept at launch
    engine.dispose()
    team = tmp_path / "doan.csv"
    team.write_text("Họ và tên,Chức vụ,Đơn vị công tác,Nhiệm vụ trong đoàn\n"
                    "Lê Thị Thu,Trưởng phòng,Phòng GDĐT số 1,Trưởng đoàn\n"
                    "Trần Văn Bình,Chuyên viên,Phòng GDĐT số 1,Thư ký\n", encoding="utf-8")
    cli.on(datetime(2025, 3, 17, 9, tzinfo=UTC))("team", "set", str(cid), str(team), "--by", "Trần Minh Tuấn")
    done = cli("team", "visit", str(cid), "P1S2", "--date", "2025-04-15", ok=False)  # a Tuesday
    said = " ".join(done.stderr.split())
    assert done.returncode == 2
    assert ("ngày 15/04/2025 là ngày nghỉ theo lịch của đơn vị (nghỉ bù ngày Giỗ Tổ Hùng Vương theo thông báo "
            "của UBND phường), không phải ngày làm việc") in said
    kept = cli("team", "visit", str(cid), "P1S2", "--date", "2025-04-16")
    assert "Đã xếp lịch: Trường Tiểu học Số 1.2, buổi sáng ngày 16/04/2025." in kept.stdout
