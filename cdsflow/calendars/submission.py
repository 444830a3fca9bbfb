"""A submission policy applied to one school's sends (pure; the workflow guard calls it)."""
from __future__ import annotations

from datetime import datetime

from cdsflow.calendars import timeutil
from cdsflow.calendars.model import SubmissionPolicy
from cdsflow.calendars.relative import window_after_return


def in_return_window(policy: SubmissionPolicy, now: datetime, returned_at: datetime | None) -> bool:
    """A send at `now` falls inside the school's own window after its latest return."""
    if policy.after_return is None or returned_at is None:
        return False
    opens, closes = window_after_return(policy.after_return, returned_at)
    return opens <= now <= closes


def closed_to_new_sends(policy: SubmissionPolicy, now: datetime) -> bool:
    """The form has closed: a school without its own window after a return (or a send the officer
    granted) can no longer send, so nothing may ask it to."""
    return policy.closes_at is not None and timeutil.local(now) > policy.closes_at


def submission_refusal(policy: SubmissionPolicy, now: datetime, sends_so_far: int, *,
                       returned_at: datetime | None = None) -> str | None:
    """Why a new send at `now` is refused (Vietnamese), or None when it is accepted.

    `returned_at`: the school's latest return for supplement when the file is back with it
    after a return. Inside the window `after_return` gives it (FORMAT.md "Resubmission") the
    form's own opening and closing do not apply, nor the cap when `beyond_cap`; `sends_so_far`
    counts the sends that count against the cap.
    """
    now = timeutil.local(now)
    if in_return_window(policy, now, returned_at):
        if not policy.beyond_cap and policy.max_submissions is not None and sends_so_far >= policy.max_submissions:
            return (f"Đã gửi đủ {policy.max_submissions:02d} lần cho phép: lần gửi lại sau khi bị trả hồ sơ "
                    "cũng được tính vào số lần gửi.")
        return None
    if policy.after_return is not None and returned_at is not None and policy.closes_at is not None \
            and now > policy.closes_at:
        _, closes = window_after_return(policy.after_return, returned_at)
        return (f"Đã hết thời hạn gửi lại hồ sơ sau khi bị trả: hạn là {timeutil.format_instant_vi(closes)} "
                f"({policy.after_return.describe()}); biểu mẫu đã đóng sau {timeutil.format_instant_vi(policy.closes_at)}.")
    if policy.opens_at is not None and now < policy.opens_at:
        return f"Chưa đến thời gian gửi: biểu mẫu mở từ {timeutil.format_instant_vi(policy.opens_at).replace('00h00 ', '')}."
    if closed_to_new_sends(policy, now):
        assert policy.closes_at is not None  # for the type checker: closed means it has a closing time
        return f"Đã hết thời hạn gửi: biểu mẫu đã đóng sau {timeutil.format_instant_vi(policy.closes_at)}."
    if policy.max_submissions is not None and sends_so_far >= policy.max_submissions:
        return (f"Đã gửi đủ {policy.max_submissions:02d} lần cho phép: không được gửi thêm "
                f"(lần gửi {'cuối cùng' if policy.counts == 'last' else 'đầu tiên'} được ghi nhận).")
    return None


def return_refusal(policy: SubmissionPolicy, now: datetime, sends_so_far: int) -> str | None:
    """Why a school returned at `now` could not send again (Vietnamese), or None when it could:
    the cap already reached (and the window after a return does not lift it), or, without such a
    window, the form closed."""
    now = timeutil.local(now)
    capped = policy.max_submissions is not None and sends_so_far >= policy.max_submissions
    if policy.after_return is not None:
        if capped and not policy.beyond_cap:
            return f"trường đã gửi đủ {policy.max_submissions:02d} lần cho phép."
        return None
    if policy.closes_at is not None and now > policy.closes_at:
        return f"biểu mẫu đã đóng sau {timeutil.format_instant_vi(policy.closes_at)}."
    if capped:
        return f"trường đã gửi đủ {policy.max_submissions:02d} lần cho phép."
    return None


def counted_send(policy: SubmissionPolicy, sends: list[datetime]) -> int | None:
    """Index in `sends` of the send that counts, or None if none does.

    Only sends inside the window count, and only the first `max_submissions` of them in time
    order (later ones were refused); among those the last (or first) by timestamp is kept.
    """
    order = sorted(range(len(sends)), key=lambda i: sends[i])
    valid = [i for i in order
             if (policy.opens_at is None or sends[i] >= policy.opens_at)
             and (policy.closes_at is None or sends[i] <= policy.closes_at)]
    if policy.max_submissions is not None:
        valid = valid[: policy.max_submissions]
    if not valid:
        return None
    return valid[-1] if policy.counts == "last" else valid[0]
