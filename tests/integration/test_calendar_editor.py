"""The calendar editor as officers use it: shift a calendar to a new school year (a date landing on
30/4 is flagged with a working day), check as they type through the web (the CLI's validator,
problems named by row), save versions in the database, Excel out and back in (same calendar),
bad rows named with nothing saved, and the launch preview's who is in / who is left out."""
from __future__ import annotations

import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cdsflow.calendars.catalog import find_calendar
from cdsflow.calendars.table import COLUMNS, Draft, draft_from_yaml
from cdsflow.calendars.xlsx import MILESTONE_SHEET
from cdsflow.services import calendar_drafts as svc
from cdsflow.services.units import get_unit
from cdsflow.storage.calendar_tables import CalendarVersion
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, Campaign
from tests.web_support import build_world

WARD = """issuer: "Phòng Văn hóa - Xã hội phường thử nghiệm"
school_year: 2024-2025
issued: 2025-03-03
reminders: {before: [3, 1], on_the_day: true, overdue_every: 2}
milestones:
  - key: hoi-dong
    title: "Thành lập Hội đồng tự đánh giá"
    actor: school
    stage: committee_formed
    due: 2025-03-14
  - key: to-trinh
    title: "Tự đánh giá; gửi tờ trình"
    actor: school
    stage: proposal
    due: 2025-04-30
    documents: [bien_ban, to_trinh]
    channel: online_form
    submission: {opens: 2025-04-01, closes: 2025-04-30 17:00, max_sends: 3, counts: last}
  - key: danh-gia-ngoai
    title: "Đánh giá ngoài"
    actor: bureau
    stage: external_review
    window: 2025-05
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("caleditor")
    url = f"sqlite:///{tmp / 'web.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    w = build_world(engine, tmp)
    (tmp / "ward.yaml").write_text(WARD, encoding="utf-8")
    yield w, tmp, url
    engine.dispose()


@pytest.fixture(scope="module")
def cli(world):
    """`cdsflow` in process (no subprocess per command): (exit code, what the user reads)."""
    from typer.testing import CliRunner

    from cdsflow.app import cli as cli_app

    _, _, url = world
    cli_app._register()
    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", url)
    mp.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli_app.app, list(args))
        return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")

    yield run
    mp.undo()


def _count(engine) -> int:
    with UnitOfWork(engine) as uow:
        return uow.session.execute(select(func.count()).select_from(CalendarVersion)).scalar()


def test_shift_flags_30_4_with_a_working_day_and_the_web_checks_by_row(world, cli):
    w, tmp, _ = world
    draft, flags = svc.shift(draft_from_yaml(WARD), "2025-2026")
    assert draft.header["school_year"] == "2025-2026" and draft.header["issued"] == "2026-03-03"
    sent = draft.rows[1]
    assert (sent["sub_opens"], sent["sub_closes"], sent["sub_max"], sent["sub_counts"]) == (
        "2026-04-01", "2026-04-30 17:00", "3", "cuối cùng")  # the form's fields, no YAML
    assert (sent["actor"], sent["stage"], sent["channel"]) == ("Trường", "Đã gửi tờ trình", "Biểu mẫu trực tuyến")
    assert draft.rows[2]["window_from"] == "2026-05"  # a whole month is not a chosen day: never flagged
    by_cell = {(f.row, f.column): f for f in flags}
    due = by_cell[(1, "due")]
    assert (due.found, due.suggested) == ("2026-04-30", "2026-04-29")
    assert "30/04/2026 rơi vào ngày nghỉ lễ" in due.message and "đề xuất ngày làm việc 29/04/2026" in due.message
    assert by_cell[(1, "sub_closes")].suggested == "2026-04-29"

    officer = w.client("officer")
    page = officer.get("/calendars/editor", params={"source": "shipped:hanoi/ba-dinh-2024-2025", "year": "2025-2026"})
    assert page.status_code == 200
    assert "Dòng 6: ngày 30/05/2026 rơi vào thứ Bảy; đề xuất ngày làm việc 29/05/2026" in page.text

    # Validate as you type: the same validator as `cdsflow calendar check`, problems named by row.
    bad = draft.to_json()
    bad["rows"][1]["stage"] = "nop_ho_so"
    bad["rows"][2].update(window_from="2026-05-20", window_to="2026-05-10")
    res = officer.post("/calendars/check", json=bad).json()
    messages = [p["message"] for p in res["problems"] if p["severity"] == "error"]
    assert "Dòng 2, cột «Giai đoạn»: «nop_ho_so» không có trong danh sách (Đã ban hành kế hoạch, " \
           "Đã thành lập Hội đồng, Đang tự đánh giá, Đã gửi tờ trình, Đang đánh giá ngoài, Đã công nhận, Đã công bố)" \
        in messages, messages
    assert any(m.startswith("Dòng 3, cột «Khoảng thời gian: đến»: mốc 'danh-gia-ngoai': khoảng thời gian kết thúc")
               for m in messages), messages
    bad_yaml = tmp / "bad.yaml"
    bad_yaml.write_text(svc.validate(Draft.from_json(bad)).yaml, encoding="utf-8")
    code, said = cli("calendar", "check", str(bad_yaml))
    assert code == 1
    assert "giai đoạn không tồn tại: 'nop_ho_so'" in said and "khoảng thời gian kết thúc" in said

    # Saving a bad table keeps nothing; the page names the rows.
    before = _count(w.engine)
    r = officer.post("/calendars", data={"csrf_token": officer.headers["X-CSRF-Token"], "draft_json": json.dumps(bad)})
    assert r.status_code == 422 and "Dòng 2, cột «Giai đoạn»" in r.text and "chưa lưu gì" in r.text
    assert _count(w.engine) == before


def test_excel_round_trip_gives_the_same_calendar_and_bad_rows_are_named(world, cli):
    w, tmp, url = world
    out = tmp / "lich.xlsx"
    code, said = cli("calendar", "export", "hanoi/ba-dinh-2024-2025", str(out), "--to-year", "2025-2026")
    assert code == 0 and "Dòng 6 (Hạn): ngày 30/05/2026 rơi vào thứ Bảy" in said
    ws = load_workbook(out)[MILESTONE_SHEET]
    assert [c.value for c in ws[1]] == [c.label for c in COLUMNS]
    col = {c.key: i + 1 for i, c in enumerate(COLUMNS)}
    assert ws.cell(row=3, column=col["actor"]).value == "Trường"  # labels, not codes or YAML
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    letter = ws.cell(row=1, column=col["actor"]).column_letter
    assert lists[f"{letter}2"] == '"Trường,Phòng,Sở"'
    assert lists[ws.cell(row=1, column=col["after_unit"]).column_letter + "2"] == '"ngày làm việc,ngày"'

    code, said = cli("calendar", "import", str(out), "--unit", "P1", "--by", "Trần Minh Tuấn")
    assert code == 0, said
    saved_id = int(re.search(r"saved:(\d+)", said).group(1))
    with UnitOfWork(w.engine) as uow:
        row = uow.session.get(CalendarVersion, saved_id)
        assert (row.school_year, row.version, row.created_by) == ("2025-2026", 1, "Trần Minh Tuấn")
        stored = svc.saved_calendar(uow, None, saved_id)
    shifted, _ = svc.shift(draft_from_yaml(find_calendar("hanoi/ba-dinh-2024-2025").read_text(encoding="utf-8")),
                           "2025-2026")
    expected = svc.validate(shifted).calendar
    strip = lambda cal: [m.__class__(**{**m.__dict__, "line": None}) for m in cal.milestones]  # noqa: E731
    assert strip(stored) == strip(expected) and stored.school_year == "2025-2026"
    # Export of the saved version, then import again: the same content, a new version.
    with UnitOfWork(w.engine) as uow:
        again, _ = svc.export_workbook(uow, None, f"saved:{saved_id}", tmp / "lai.xlsx")
        second = svc.import_workbook(uow, get_unit(uow, "P1").id, again, actor="Trần Minh Tuấn")
        assert second.version == 2 and second.content == row.content

    # An officer adds a relative rule as plain cells, and a căn cứ on its own line of the cell.
    wb = load_workbook(out)
    ws = wb[MILESTONE_SHEET]
    ws.append([{"key": "nop-lai", "title": "Bổ sung hồ sơ, gửi lại", "actor": "Trường", "stage": "Đã gửi tờ trình",
                "after_event": "trả hồ sơ bổ sung", "after_n": 5, "after_unit": "ngày làm việc",
                "after_cap": "2026-06-30"}.get(c.key) for c in COLUMNS])
    info = wb["Thông tin chung"]
    refs = next(r for r in info.iter_rows(min_row=2) if r[1].value == "references")
    refs[2].value = "Quyết định số 4725/QĐ-BGDĐT\nQuyết định số 3276/QĐ-BGDĐT"
    wb.save(tmp / "them.xlsx")
    with UnitOfWork(w.engine) as uow:
        added = svc.import_workbook(uow, get_unit(uow, "P1").id, tmp / "them.xlsx", actor="Trần Minh Tuấn")
        cal = svc.saved_calendar(uow, None, added.id)
    rule = cal.milestones[-1].relative
    assert (rule.event, rule.count, rule.working, rule.cap.date().isoformat()) == ("returned", 5, True, "2026-06-30")
    assert cal.references == ("Quyết định số 4725/QĐ-BGDĐT", "Quyết định số 3276/QĐ-BGDĐT")

    # Bad rows: every one named by its row and column of the sheet, nothing saved.
    wb = load_workbook(out)
    ws = wb[MILESTONE_SHEET]
    ws.cell(row=3, column=col["actor"]).value = "hieu_truong"
    ws.cell(row=7, column=col["due"]).value = "2026-02-31"
    wb.save(tmp / "sai.xlsx")
    before = _count(w.engine)
    code, said = cli("calendar", "import", str(tmp / "sai.xlsx"), "--unit", "P1")
    assert code == 2
    assert "Dòng 3, cột «Đối tượng»: «hieu_truong» không có trong danh sách (Trường, Phòng, Sở)" in said
    assert "Dòng 7, cột «Hạn»: ngày không tồn tại: 31/02/2026" in said  # the column, not the YAML key
    assert _count(w.engine) == before

    # The web's import says the same, and keeps nothing either.
    officer = w.client("officer")
    with (tmp / "sai.xlsx").open("rb") as fh:
        r = officer.post("/calendars/import", files={"file": ("sai.xlsx", fh, "application/octet-stream")})
    assert r.status_code == 422 and "Dòng 7, cột «Hạn»: ngày không tồn tại: 31/02/2026" in r.text
    assert _count(w.engine) == before


def test_launch_preview_and_launch_leave_out_the_same_schools(world):
    w, tmp, _ = world
    officer = w.client("officer")
    with UnitOfWork(w.engine) as uow:
        saved = svc.save_calendar(uow, get_unit(uow, "P1").id, svc.shift(draft_from_yaml(WARD), "2025-2026")[0],
                                  actor="Trần Minh Tuấn")
    # P1's schools P1S1..P1S3 are in the Sở's 2024-2025 campaign; 2025-2026 is free, MN1 is a preschool.
    page = officer.get("/campaigns/preview", params={"school_year": "2025-2026", "index_set": "4725",
                                                     "calendar": f"saved:{saved.id}"})
    assert page.status_code == 200
    assert "Các đơn vị được đánh giá (3)" in page.text
    assert "MN1" in page.text and "Mầm non: đánh giá theo bộ chỉ số 3276, bộ này còn là khung tạm thời" in page.text
    same_year = officer.get("/campaigns/preview", params={"school_year": "2024-2025", "index_set": "4725"})
    assert "Các đơn vị được đánh giá (0)" in same_year.text
    assert re.search(r"P1S1.*đã thuộc kế hoạch số \d+ của .* cùng năm học 2024-2025", same_year.text, re.S)

    wrong_year = officer.get("/campaigns/preview", params={"school_year": "2026-2027", "calendar": f"saved:{saved.id}"})
    assert "Lịch là của năm học 2025-2026, không khớp năm học 2026-2027" in wrong_year.text
    assert "/calendars/editor?source=saved%3A" in wrong_year.text

    # Another Phòng neither sees nor launches on P1's calendar; a reviewer does not make calendars.
    other = w.client("officer2").get("/calendars/editor", params={"source": f"saved:{saved.id}"})
    assert other.status_code == 404 and "Không tìm thấy lịch đã lưu" in other.text
    assert w.client("reviewer").get("/calendars/editor").status_code == 403

    r = officer.post("/campaigns", data={"csrf_token": officer.headers["X-CSRF-Token"], "school_year": "2025-2026",
                                         "index_set": "4725", "calendar": f"saved:{saved.id}"})
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].split("/")[2].split("?")[0])
    with UnitOfWork(w.engine) as uow:
        campaign = uow.session.get(Campaign, cid)
        assert campaign.calendar_source == f"calendar_version/{saved.id}" and campaign.calendar_hash == saved.content_hash
        schools = uow.session.execute(select(func.count()).where(Assessment.campaign_id == cid)).scalar()
    assert schools == 3


def test_cli_shift_writes_next_years_yaml_and_names_the_day_off(world, cli):
    _, tmp, _ = world
    out = tmp / "sau.yaml"
    code, said = cli("calendar", "shift", str(tmp / "ward.yaml"), "--to", "2025-2026", "-o", str(out))
    assert code == 0, said
    assert "Dòng 2 (Hạn): ngày 30/04/2026 rơi vào ngày nghỉ lễ" in said
    assert "đề xuất ngày làm việc 29/04/2026" in said
    moved = draft_from_yaml(out.read_text(encoding="utf-8"))
    assert moved.header["school_year"] == "2025-2026" and moved.rows[1]["due"] == "2026-04-30"


def test_dates_are_taken_as_people_type_them_and_exported_as_date_cells(world, cli):
    """Issue 26, item 2: 31/05/2026, 1/4/2026 and a real date cell are dates; a refused one is named by
    the column the user sees; `calendar export` writes date cells shown dd/mm/yyyy."""
    from datetime import datetime

    w, tmp, _ = world
    draft, _ = svc.shift(draft_from_yaml(WARD), "2025-2026")
    typed = draft.to_json()
    typed["rows"][0]["due"] = "13/3/2026"
    typed["rows"][1].update(due="29/04/2026", sub_opens="1/4/2026", sub_closes="29/04/2026 17:00")
    typed["rows"][2]["window_from"] = "05/2026"
    officer = w.client("officer")
    res = officer.post("/calendars/check", json=typed).json()
    assert not [p for p in res["problems"] if p["severity"] == "error"], res["problems"]
    typed["rows"][0]["due"] = "31/02/2026"
    res = officer.post("/calendars/check", json=typed).json()
    assert "Dòng 1, cột «Hạn»: ngày không tồn tại: 31/02/2026" in [p["message"] for p in res["problems"]]
    assert not any("due" in p["message"] for p in res["problems"])

    out = tmp / "ngay.xlsx"
    code, said = cli("calendar", "export", "hanoi/ba-dinh-2024-2025", str(out), "--to-year", "2025-2026")
    assert code == 0, said
    wb = load_workbook(out)
    ws = wb[MILESTONE_SHEET]
    col = {c.key: i + 1 for i, c in enumerate(COLUMNS)}
    due = ws.cell(row=3, column=col["due"])
    assert due.is_date and due.number_format == "dd/mm/yyyy" and due.value == datetime(2026, 3, 31)
    assert ws.cell(row=2, column=col["window_from"]).value == "03/2026"  # a month stays a month
    # The officer types a day as text the Vietnamese way in one row, a date cell in another: both are read.
    ws.cell(row=3, column=col["due"]).value = "31/3/2026"
    ws.cell(row=7, column=col["due"]).value = datetime(2026, 5, 29)
    wb.save(tmp / "ngay2.xlsx")
    code, said = cli("calendar", "import", str(tmp / "ngay2.xlsx"), "--unit", "P1", "--by", "Trần Minh Tuấn")
    assert code == 0, said
    with UnitOfWork(w.engine) as uow:
        cal = svc.saved_calendar(uow, None, int(re.search(r"saved:(\d+)", said).group(1)))
    dues = {m.key: m.due_at.date().isoformat() for m in cal.milestones if m.due_at}
    assert dues["truong-tu-danh-gia-to-trinh"] == "2026-03-31" and dues["pgd-cong-nhan"] == "2026-05-29"
