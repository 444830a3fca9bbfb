"""Pure rules of relative deadlines, return windows, per-audience reminders, markers and day ranges."""
from __future__ import annotations

from datetime import datetime

from cdsflow.calendars.model import RelativeRule, SubmissionPolicy
from cdsflow.calendars.parse import parse_calendar
from cdsflow.calendars.relative import resolve
from cdsflow.calendars.reminders import reminder_points
from cdsflow.calendars.submission import submission_refusal
from cdsflow.calendars.timeline import timeline
from cdsflow.calendars.timeutil import TZ, parse_deadline

HEAD = 'issuer: "UBND phường thử nghiệm"\nissued: 2025-12-15\nschool_year: 2025-2026\nreminders: {before: [1]}\n'


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_relative_deadlines_chain_skip_holidays_and_respect_the_cap():
    rules = {"nop-lai": RelativeRule(5, event="returned"),
             "kiem-tra": RelativeRule(2, milestone="nop-lai"),
             "cong-khai": RelativeRule(5, event="recognized", cap=parse_deadline("2026-05-05")),
             "lich": RelativeRule(10, working=False, event="launched")}
    due = resolve(rules, {}, {"returned": _at("2026-04-28 10:00"), "recognized": _at("2026-04-29 08:00"),
                              "launched": _at("2026-02-12 09:00")})
    assert due["nop-lai"] == parse_deadline("2026-05-07")   # 30/4 and 1/5 skipped
    assert due["kiem-tra"] == parse_deadline("2026-05-11")  # two working days after 07/05
    assert due["cong-khai"] == parse_deadline("2026-05-05")  # capped (uncapped: 08/05)
    assert due["lich"] == parse_deadline("2026-02-22")       # calendar days: Tết is counted
    assert resolve(rules, {}, {})["nop-lai"] is None         # not returned: no deadline


def test_a_return_window_overrides_the_closed_form_and_the_cap():
    policy = SubmissionPolicy(opens_at=_at("2026-01-05 00:00"), closes_at=parse_deadline("2026-01-30 17:00"),
                              max_submissions=1, counts="first", after_return=RelativeRule(5, event="returned"))
    returned = _at("2026-02-12 10:00")  # Thursday before Tết
    assert submission_refusal(policy, _at("2026-02-26 23:59"), 1, returned_at=returned) is None
    late = submission_refusal(policy, _at("2026-02-27 00:00"), 1, returned_at=returned)
    assert late.startswith("Đã hết thời hạn gửi lại hồ sơ sau khi bị trả: hạn là 24h00 ngày 26/02/2026")
    counted = SubmissionPolicy(**{**policy.__dict__, "beyond_cap": False})
    assert "cũng được tính" in submission_refusal(counted, _at("2026-02-20 09:00"), 1, returned_at=returned)
    assert "Đã hết thời hạn gửi" in submission_refusal(policy, _at("2026-02-02 09:00"), 0)  # never returned


def test_the_school_daily_the_digest_weekly_with_their_limits():
    cal = parse_calendar(HEAD.replace("{before: [1]}", "{before: [1], overdue_every: daily, overdue_limit: 6, "
                                                       "digest_every: weekly, digest_limit: 2}")
                         + "milestones:\n  - {key: a, title: A, actor: school, stage: proposal, due: 2026-01-30}\n").calendar
    points = [p for p in reminder_points(cal.milestones[0]) if p.overdue]
    assert [(p.offset_key, sorted(p.audiences)) for p in points] == [
        ("overdue-1", ["actor"]), ("overdue-2", ["actor"]), ("overdue-3", ["actor"]), ("overdue-4", ["actor"]),
        ("overdue-5", ["actor", "digest"]), ("overdue-6", ["actor"]), ("overdue-10", ["digest"])]


def test_start_markers_and_day_ranges():
    parsed = parse_calendar(HEAD + "milestones:\n"
                            "  - {key: bat-dau, title: 'Bắt đầu: thiết lập minh chứng', actor: school, marker: start}\n"
                            "  - {key: a, title: A, actor: school, stage: self_assessment, window: 2026-01-05..2026-01-16}\n")
    assert parsed.problems == []
    start, window = parsed.calendar.milestones
    assert start.due_at is None and start.reminders is None
    assert (window.opens_at, window.due_at) == (_at("2026-01-05 00:00"), parse_deadline("2026-01-16"))
    assert [r.deadline for r in timeline(parsed.calendar)] == ["Bắt đầu (không có hạn)", "Từ 05/01/2026 đến 16/01/2026"]
    both = parse_calendar(HEAD + "milestones:\n  - {key: a, title: A, actor: school, due: 2026-01-05, marker: start}\n")
    assert [p.code for p in both.problems] == ["due_and_window"] and both.problems[0].line == 6
