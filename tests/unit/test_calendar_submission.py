"""Submission policies: Bắc Giang's form (closes 24h00 03/6/2024, 3 sends, the last counts)."""
from __future__ import annotations

from datetime import datetime

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import SubmissionPolicy
from cdsflow.calendars.submission import counted_send, submission_refusal
from cdsflow.calendars.timeutil import TZ

BAC_GIANG = SubmissionPolicy(opens_at=timeutil.parse_start("2024-05-15"),
                             closes_at=timeutil.parse_deadline("2024-06-03 24:00"),
                             max_submissions=3, counts="last")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


SENDS = [_at("2024-05-20 09:00"), _at("2024-05-28 14:00"), _at("2024-06-03 22:00")]


def test_three_sends_accepted_the_fourth_refused_the_third_counted():
    for n, at in enumerate(SENDS):
        assert submission_refusal(BAC_GIANG, at, n) is None
    reason = submission_refusal(BAC_GIANG, _at("2024-06-03 23:00"), 3)
    assert reason == "Đã gửi đủ 03 lần cho phép: không được gửi thêm (lần gửi cuối cùng được ghi nhận)."
    assert counted_send(BAC_GIANG, SENDS) == 2


def test_before_opening_and_after_closing_are_refused_with_the_reason():
    assert "mở từ ngày 15/05/2024" in submission_refusal(BAC_GIANG, _at("2024-05-14 23:00"), 0)
    assert "đóng sau 24h00 ngày 03/06/2024" in submission_refusal(BAC_GIANG, _at("2024-06-04 00:00"), 0)


def test_counted_send_ignores_late_and_capped_sends_and_reads_timestamps_not_list_order():
    late = _at("2024-06-04 08:00")
    assert counted_send(BAC_GIANG, [late, SENDS[1], SENDS[0]]) == 1      # the last one in time
    fourth = _at("2024-06-03 23:30")                                    # beyond the cap: never counted
    assert counted_send(BAC_GIANG, SENDS + [fourth]) == 2
    assert counted_send(BAC_GIANG, [late]) is None
    assert counted_send(BAC_GIANG, []) is None
    first = SubmissionPolicy(closes_at=BAC_GIANG.closes_at, counts="first")
    assert counted_send(first, [SENDS[2], SENDS[0]]) == 1


def test_no_limits_means_always_accepted():
    assert submission_refusal(SubmissionPolicy(), _at("2030-01-01 03:00"), 99) is None
