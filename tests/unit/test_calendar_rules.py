"""Rules of the calendar format, read from YAML text (no file): warnings, known issues, lines."""
from __future__ import annotations

from cdsflow.calendars.parse import parse_calendar
from cdsflow.calendars.progress import is_late, late_milestones, next_milestone
from cdsflow.calendars.rules import check_rules
from cdsflow.calendars.timeline import timeline
from cdsflow.calendars.timeutil import TZ, parse_start
from cdsflow.kernel.stages import Actor, Stage

HEAD = 'issuer: "Phòng GDĐT Thử nghiệm"\nissued: 2025-03-10\nschool_year: 2024-2025\n'


def _problems(body: str):
    parsed = parse_calendar(HEAD + body)
    assert parsed.calendar is not None, [str(p) for p in parsed.problems]
    return parsed.calendar, check_rules(parsed.calendar, issued_month=parsed.issued_month)


def test_known_issue_turns_a_contradiction_into_a_warning_quoting_it():
    cal, problems = _problems(
        "reminders: {before: [1]}\nmilestones:\n"
        "  - key: a\n    title: A\n    actor: school\n    stage: proposal\n    due: 2025-03-03\n"
        '    known_issue: "Văn bản gốc đặt hạn trước ngày ban hành"\n')
    assert [(p.code, p.severity, p.line) for p in problems] == [("deadline_before_issue", "warning", 6)]  # the milestone's line
    assert "Văn bản gốc đặt hạn trước ngày ban hành" in problems[0].message
    assert cal.milestones[0].due_at.day == 3  # kept as written, not fixed


def test_day_off_and_missing_reminder_are_warnings():
    _, problems = _problems(
        "milestones:\n"
        "  - {key: a, title: A, actor: school, stage: proposal, due: 2025-04-30}\n"
        "  - {key: b, title: B, actor: bureau, stage: external_review, window: 2025-05, reminders: {before: [3]}}\n")
    got = sorted((p.code, p.line) for p in problems)
    # 30/4 is a holiday; 31/5/2025 (end of the May window) is a Saturday but a whole-month window is not flagged.
    assert got == [("deadline_day_off", 5), ("no_reminder", 5)]
    assert all(p.severity == "warning" for p in problems)
    assert "Ngày Chiến thắng" in next(p.message for p in problems if p.code == "deadline_day_off")


def test_explicit_no_reminder_overrides_the_calendar_default():
    cal, problems = _problems(
        "reminders: {before: [7, 3, 1], overdue_every: 2, escalate_to: bureau}\nmilestones:\n"
        "  - {key: a, title: A, actor: school, stage: proposal, due: 2025-04-01}\n"
        "  - {key: b, title: B, actor: school, stage: published, due: 2025-05-20, reminders: none}\n")
    a, b = cal.milestones
    assert a.reminders.before_working_days == (7, 3, 1) and a.reminders.escalate_to is Actor.BUREAU
    assert b.reminders is None
    assert [p.code for p in problems] == ["no_reminder"]


def test_submission_defaults_to_the_milestone_window():
    cal, _ = _problems(
        "reminders: {before: [1]}\nmilestones:\n"
        "  - key: form\n    title: Biểu mẫu\n    actor: school\n    stage: proposal\n"
        "    opens: 2025-03-15\n    due: 2025-04-03 24:00\n    submission: {max_sends: 3}\n")
    sub = cal.milestones[0].submission
    assert sub.opens_at == parse_start("2025-03-15") and sub.closes_at == cal.milestones[0].due_at
    assert sub.max_submissions == 3 and sub.counts == "last"


def test_values_yaml_would_misread_stay_text():
    # YAML 1.1 reads `no` as false and 2025-05 oddly; the parser keeps text and checks it.
    parsed = parse_calendar(HEAD + "milestones:\n  - {key: no, title: on, actor: school, window: 2025-05}\n")
    m = parsed.calendar.milestones[0]
    assert (m.key, m.title) == ("no", "on")


def test_progress_next_and_late_milestones():
    cal, _ = _problems(
        "reminders: {before: [1]}\nmilestones:\n"
        "  - {key: hd, title: HĐ, actor: school, stage: committee_formed, due: 2025-03-20}\n"
        "  - {key: tt, title: TT, actor: school, stage: proposal, due: 2025-03-31}\n"
        "  - {key: cn, title: CN, actor: bureau, stage: recognition, due: 2025-05-30}\n")
    now = parse_start("2025-03-25").astimezone(TZ)
    assert next_milestone(cal, Actor.SCHOOL, Stage.PLAN_ISSUED).key == "hd"
    assert [m.key for m in late_milestones(cal, Actor.SCHOOL, Stage.PLAN_ISSUED, now)] == ["hd"]
    assert next_milestone(cal, Actor.SCHOOL, Stage.COMMITTEE_FORMED).key == "tt"
    assert late_milestones(cal, Actor.SCHOOL, Stage.SELF_ASSESSMENT, now) == []
    assert not is_late(cal.milestones[1], Stage.PROPOSAL, now)
    assert next_milestone(cal, Actor.SCHOOL, Stage.PUBLISHED) is None


def test_timeline_rows_are_in_time_order_with_vietnamese_labels():
    cal, _ = _problems(
        "reminders: {before: [1]}\nmilestones:\n"
        "  - {key: b, title: Đánh giá ngoài, actor: bureau, stage: external_review, window: 2025-05}\n"
        "  - {key: a, title: Tờ trình, actor: school, stage: proposal, due: 2025-03-31, documents: [to_trinh]}\n")
    rows = timeline(cal)
    assert [(r.number, r.milestone.key) for r in rows] == [(1, "a"), (2, "b")]
    assert rows[0].stage == "Đã gửi tờ trình" and rows[0].actor == "Cơ sở giáo dục"
    assert rows[0].deadline == "Trước 24h00 ngày 31/03/2025"
    assert rows[0].documents == "Tờ trình đề nghị đánh giá ngoài và công nhận"
    assert rows[1].deadline == "Tháng 05/2025"


def test_a_month_of_issue_bounds_deadlines_from_its_first_day():
    text = ('issuer: "Trường Thử nghiệm"\nissued: 2026-03\nschool_year: 2025-2026\nreminders: {before: [1]}\n'
            "milestones:\n"
            "  - {key: a, title: A, actor: school, stage: plan_issued, due: 2026-02-27}\n"
            "  - {key: b, title: B, actor: school, stage: committee_formed, window: 2026-03}\n")
    parsed = parse_calendar(text)
    problems = check_rules(parsed.calendar, issued_month=parsed.issued_month)
    assert [(p.code, p.severity, p.line) for p in problems] == [("deadline_before_issue", "error", 6)]
    assert "trước ngày ban hành văn bản (tháng 03/2026)" in problems[0].message


def test_shape_errors_carry_their_own_line():
    parsed = parse_calendar(
        HEAD + "milestones:\n"
        "  - key: a\n    title: A\n    actor: school\n    opens: 2025-04-10\n    due: 2025-04-01\n"
        "  - key: b\n    title: B\n    actor: school\n    due: 2025-04-01\n    window: 2025-04\n"
        "  - key: c\n    title: C\n    actor: school\n    window: 2025-04\n    channel: zalo\n")
    assert parsed.calendar is None
    assert sorted((p.code, p.line) for p in parsed.problems) == [
        ("due_and_window", 14), ("unknown_channel", 19), ("window_reversed", 9)]
