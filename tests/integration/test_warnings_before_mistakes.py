"""Issue 26, item 9: warnings before mistakes, where the user meets them: a launch for a school year
already over (web preview and CLI), the preschools a CLI launch leaves out, a deadline outside the
school year (the calendar editor's check), and `calendar show --ics` saying the events it wrote."""
from __future__ import annotations

import icalendar
import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from cdsflow.calendars.table import draft_from_yaml
from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from tests.integration.test_calendar_editor import WARD
from tests.web_support import build_world


@pytest.fixture
def world(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    w = build_world(engine, tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    yield w
    engine.dispose()


def cli(*args: str) -> tuple[int, str]:
    from cdsflow.app import cli as cli_app

    cli_app._register()
    result = CliRunner().invoke(cli_app.app, list(args))
    return result.exit_code, result.output


@freeze_time("2026-12-06 09:00:00")
def test_a_past_year_and_the_schools_left_out_are_said_before_and_after_launching(world):
    officer = world.client("officer")
    page = officer.get("/campaigns/preview", params={"school_year": "2020-2021", "index_set": "4725"})
    assert page.status_code == 200 and "Năm học 2020-2021 đã kết thúc (31/07/2021)" in page.text
    now = officer.get("/campaigns/preview", params={"school_year": "2026-2027", "index_set": "4725"})
    assert "đã kết thúc" not in now.text
    code, said = cli("campaign", "launch", "--issuer", "P1", "--year", "2020-2021")
    assert code == 0, said
    assert "Không thuộc kế hoạch: 1 cơ sở" in said and "Trường Mầm non Hoa Sen" in said  # the preschool, named
    assert "Cảnh báo: Năm học 2020-2021 đã kết thúc" in said


def test_a_deadline_outside_the_school_year_is_warned_in_the_editor(world):
    draft = draft_from_yaml(WARD).to_json()
    draft["rows"][1]["due"] = "30/04/2026"  # typed with the wrong year: the calendar is 2024-2025
    draft["rows"][1].pop("sub_opens", None)
    draft["rows"][1].pop("sub_closes", None)
    res = world.client("officer").post("/calendars/check", json=draft).json()
    warned = [p["message"] for p in res["problems"] if p["severity"] == "warning"]
    assert any("hạn 30/04/2026 nằm ngoài năm học 2024-2025 (01/08/2024 – 31/07/2025)" in m for m in warned), warned


def test_calendar_ics_says_the_events_it_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "lich.ics"
    code, said = cli("calendar", "show", "hai-phong/phuong-mau-2025-2026", "--ics", str(out))
    assert code == 0, said
    written = len(list(icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")))
    assert f"Đã xuất {written} sự kiện ra" in said


def test_a_parent_calendar_can_be_one_saved_in_the_database(world):
    from cdsflow.services import calendar_drafts as svc
    from cdsflow.services.units import get_unit
    from cdsflow.storage.db import UnitOfWork

    with UnitOfWork(world.engine) as uow:
        dept = get_unit(uow, "SGD").id
        saved = svc.save_calendar(uow, dept, draft_from_yaml(WARD), actor="Lê Thu Hà")
    child = draft_from_yaml(WARD).to_json()
    child["header"]["parent_calendar"] = f"saved:{saved.id}"
    officer = world.client("officer")  # P1, under the Sở: its saved calendars are the parent's
    res = officer.post("/calendars/check", json=child).json()
    errors = [p["message"] for p in res["problems"] if p["severity"] == "error"]
    assert not any("cấp trên" in m for m in errors), errors
    child["header"]["parent_calendar"] = "saved:99999"
    res = officer.post("/calendars/check", json=child).json()
    assert any("không tìm thấy lịch cấp trên 'saved:99999'" in p["message"] for p in res["problems"])
