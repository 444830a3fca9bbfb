"""Calendar files on disk: the shipped ones pass, each broken one fails at the right line."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

import pytest

from cdsflow.calendars.catalog import DATA_DIR, calendar_name, find_calendar, shipped_calendars
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.submission import counted_send, submission_refusal
from cdsflow.calendars.timeutil import TZ
from cdsflow.calendars.validator import check_calendar
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.stages import Actor, Stage

BROKEN = Path(__file__).parent / "fixtures" / "calendar_broken"
BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))
_EXPECT = re.compile(r'^# expect: (\w+) (\d+) "(.+)"$')


def test_the_five_seeds_are_shipped():
    assert [calendar_name(p) for p in shipped_calendars()] == [
        "bac-giang/so-2023-2024",
        "hai-phong/gdtx-2022-2023",
        "hai-phong/hung-thang-2025-2026",
        "hai-phong/phuong-mau-2025-2026",  # the ward plan with relative deadlines (not a seed)
        "hai-phong/so-2024-2025",
        "hanoi/ba-dinh-2024-2025",
    ]


@pytest.mark.parametrize("path", shipped_calendars(), ids=calendar_name)
def test_every_shipped_calendar_passes_the_validator(path):
    result = check_calendar(path)
    assert result.errors == []
    cal = load_calendar(path)
    assert cal.source == path
    assert cal.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert all(m.line for m in cal.milestones)


def test_seed_contradictions_are_warnings_not_silent_fixes():
    gdtx = check_calendar(DATA_DIR / "hai-phong/gdtx-2022-2023.yaml")
    before_issue = [w for w in gdtx.warnings if w.code == "deadline_before_issue"]
    assert len(before_issue) == 1 and "30/10/2023" in before_issue[0].message
    cal = gdtx.calendar
    assert cal.milestones_for(Actor.SCHOOL)[0].due_at.date().isoformat() == "2023-10-30"  # kept as written

    hp = check_calendar(DATA_DIR / "hai-phong/so-2024-2025.yaml")
    assert {w.code for w in hp.warnings} >= {"deadline_day_off", "known_issue"}
    assert any("Tết" in w.message for w in hp.warnings if w.code == "deadline_day_off")

    ba_dinh = check_calendar(DATA_DIR / "hanoi/ba-dinh-2024-2025.yaml")
    assert [w.code for w in ba_dinh.warnings if w.code == "out_of_order"] == ["out_of_order"]


def test_ba_dinh_timetable_reads_like_the_plan():
    cal = load_calendar(find_calendar("hanoi/ba-dinh-2024-2025"))
    school = {m.key: m for m in cal.milestones_for(Actor.SCHOOL)}
    proposal = school["truong-tu-danh-gia-to-trinh"]
    assert proposal.stage is Stage.PROPOSAL
    assert proposal.due_at.isoformat() == "2025-03-31T23:59:59.999999+07:00"
    assert proposal.documents == ("bien_ban", "qd_phe_duyet", "to_trinh")
    review = school["truong-don-doan"]
    assert (review.opens_at.isoformat(), review.due_at.isoformat()) == (
        "2025-05-01T00:00:00+07:00", "2025-05-31T23:59:59.999999+07:00")
    assert cal.extra["issued_month"] == "2025-03"


def test_bac_giang_form_policy_from_the_file():
    cal = load_calendar(find_calendar("bac-giang/so-2023-2024"))
    form = next(m for m in cal.milestones if m.key == "truong-bieu-mau")
    policy = form.submission
    assert policy.max_submissions == 3 and policy.counts == "last"
    assert policy.closes_at.isoformat() == "2024-06-03T23:59:59.999999+07:00"
    sends = [datetime.fromisoformat(s).replace(tzinfo=TZ)
             for s in ("2024-05-20T09:00", "2024-05-30T15:00", "2024-06-03T23:50")]
    for n, at in enumerate(sends):
        assert submission_refusal(policy, at, n) is None
    fourth = submission_refusal(policy, sends[-1], 3)
    assert fourth is not None and "03 lần" in fourth
    assert counted_send(policy, sends) == 2


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_each_broken_calendar_fails_at_the_right_line(path):
    code, line, fragment = _EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0]).groups()
    result = check_calendar(path)
    assert result.calendar is None
    assert any(e.code == code and e.line == int(line) and fragment in e.message for e in result.errors), [
        (e.code, e.line, e.message) for e in result.errors]
    with pytest.raises(InvalidInput) as exc:
        load_calendar(path)
    assert str(path) in str(exc.value) and f":{result.errors[0].line}:" in str(exc.value)


def test_broken_fixture_folder_covers_every_rule_of_the_issue():
    codes = {_EXPECT.match(p.read_text(encoding="utf-8").splitlines()[0]).group(1) for p in BROKEN_FILES}
    assert codes >= {"unknown_stage", "unknown_document", "out_of_order", "after_parent", "bad_date",
                     "window_reversed", "deadline_before_issue"}


def test_a_child_that_fits_inside_its_parent_passes(tmp_path):
    parent = BROKEN / "parents" / "so.yaml"
    child = tmp_path / "child.yaml"
    child.write_text(
        f'issuer: "Phòng GDĐT Con"\nschool_year: 2024-2025\nparent: {{calendar: {parent}}}\n'
        "milestones:\n  - {key: to-trinh, title: Tờ trình, actor: school, stage: proposal, due: 2025-03-25}\n",
        encoding="utf-8")
    result = check_calendar(child)
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["no_reminder"]
    assert result.calendar.parent == str(parent)
    assert result.calendar.extra["parent_path"] == str(parent)


def test_find_calendar_accepts_names_and_paths_and_refuses_unknown(tmp_path):
    assert find_calendar("hanoi/ba-dinh-2024-2025") == DATA_DIR / "hanoi/ba-dinh-2024-2025.yaml"
    f = tmp_path / "x.yaml"
    f.write_text("x: 1\n", encoding="utf-8")
    assert find_calendar(str(f)) == f
    with pytest.raises(NotFound) as exc:
        find_calendar("hanoi/khong-co")
    assert "Không tìm thấy lịch" in str(exc.value)
    with pytest.raises(NotFound):
        find_calendar("../../workflow/document_types")


def test_a_file_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    f = tmp_path / "latin.yaml"
    f.write_bytes('issuer: "Sở"\nschool_year: 2024-2025\n'.encode() + "title: Đà\n".encode("cp1258"))
    result = check_calendar(f)
    assert [(e.code, e.line) for e in result.errors] == [("encoding", 3)]


def test_the_hai_phong_centre_binds_its_dossier_in_the_plans_order():
    cal = load_calendar("hai-phong/gdtx-2022-2023")
    assert cal.dossier == ("bia_ho_so", "to_trinh", "bien_ban", "bao_cao", "qd_phe_duyet")
