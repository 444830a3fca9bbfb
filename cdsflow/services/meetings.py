"""The self-assessment council's meeting facts: recorded by the school, printed by the Biên bản.

Nothing a person did not record is printed as fact: the Biên bản reads the latest row stored here
and is refused (final paper) while there is none. Takes a Session and never commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from cdsflow.calendars.timeutil import TZ as VN_TZ
from cdsflow.calendars.timeutil import iso_dates
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import authorization
from cdsflow.services.units import unit_by_id
from cdsflow.storage.assessment_tables import CommitteeMeeting
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, CommitteeMember, Unit
from cdsflow.workflow.context import ActorRef


@dataclass(frozen=True)
class MeetingInput:
    started_at: datetime
    ended_at: datetime
    place: str
    chaired_by: str
    secretary: str
    attendees_present: int
    attendees_total: int
    vote_for: int
    vote_against: int = 0
    vote_abstain: int = 0
    conclusions: str = ""
    absent: list[dict[str, Any]] = field(default_factory=list)  # [{"full_name": …, "reason": …}]


def _text(value: object, what: str, *, required: bool = True, newlines: bool = False, max_len: int = 300) -> str:
    try:
        text = clean_text(None if value is None else str(value), field=what, allow_newlines=newlines)
    except TextError as exc:
        raise InvalidInput(str(exc)) from None
    if required and not text:
        raise InvalidInput(f"Thiếu {what}")
    if len(text) > max_len:
        raise InvalidInput(f"{what} dài quá {max_len} ký tự")
    return text


def meeting_problems(m: MeetingInput, members: list[str]) -> list[str]:
    """Pure consistency checks of one record (Vietnamese reasons)."""
    problems = []
    if m.started_at.tzinfo is None or m.ended_at.tzinfo is None:
        problems.append("thời gian họp phải kèm múi giờ")
    elif m.ended_at <= m.started_at:
        problems.append("giờ kết thúc phải sau giờ bắt đầu")
    if m.attendees_total < 1 or not 0 < m.attendees_present <= m.attendees_total:
        problems.append(f"số thành viên có mặt ({m.attendees_present}) phải từ 1 đến tổng số ({m.attendees_total})")
    if len(m.absent) != max(0, m.attendees_total - m.attendees_present):
        problems.append(f"vắng {m.attendees_total - m.attendees_present} người nhưng ghi tên {len(m.absent)} người vắng")
    if min(m.vote_for, m.vote_against, m.vote_abstain) < 0:
        problems.append("số phiếu không được âm")
    if m.vote_for + m.vote_against + m.vote_abstain > m.attendees_present:
        problems.append("tổng số phiếu biểu quyết lớn hơn số thành viên có mặt")
    if members:
        for who, name in (("người chủ trì", m.chaired_by), ("thư ký", m.secretary)):
            if name not in members:
                problems.append(f"{who} «{name}» không có trong danh sách Hội đồng")
        if m.attendees_total != len(members):
            problems.append(f"Hội đồng có {len(members)} thành viên, không phải {m.attendees_total}")
    return problems


def meeting_date_problems(started_at: datetime, now: datetime, committee_since: datetime | None) -> list[str]:
    """A meeting is recorded after it took place, and the council met only once it existed."""
    day = started_at.astimezone(VN_TZ).date() if started_at.tzinfo else started_at.date()
    today = now.astimezone(VN_TZ).date()
    problems = []
    if started_at.tzinfo and started_at > now:
        problems.append(f"ngày họp {day:%d/%m/%Y} chưa đến (hôm nay là {today:%d/%m/%Y}): chỉ ghi cuộc họp đã diễn ra")
    if committee_since is not None and day < committee_since.astimezone(VN_TZ).date():
        problems.append(f"ngày họp {day:%d/%m/%Y} trước ngày thành lập Hội đồng tự đánh giá "
                        f"({committee_since.astimezone(VN_TZ):%d/%m/%Y})")
    return problems


def _committee_since(session: Session, assessment_id: int) -> datetime | None:
    """When the council was formed (the `form_committee` step of the file's history)."""
    at = session.exec(select(AssessmentEvent.at).where(AssessmentEvent.assessment_id == assessment_id,
                                                       AssessmentEvent.trigger == "form_committee")
                      .order_by(col(AssessmentEvent.at))).first()
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def record_meeting(session: Session, assessment_id: int, m: MeetingInput, actor: ActorRef, *,
                   now: datetime | None = None) -> CommitteeMeeting:
    """Store the meeting facts; the rulebook's `record_meeting` (the school's own staff, while its
    file is open, in an active campaign). Refused when dated in the future or before the council."""
    a = session.get(Assessment, assessment_id)
    if a is None:
        raise NotFound(f"Không tìm thấy hồ sơ đánh giá số {assessment_id}")
    authorization.check_school(session, actor, "record_meeting", a)
    place = _text(m.place, "địa điểm họp")
    chaired_by = _text(m.chaired_by, "người chủ trì", max_len=200)
    secretary = _text(m.secretary, "thư ký cuộc họp", max_len=200)
    conclusions = _text(m.conclusions, "kết luận", newlines=True, max_len=4000)
    absent = [{"full_name": _text(x.get("full_name"), "tên người vắng", max_len=200),
               "reason": _text(x.get("reason"), "lý do vắng", required=False, max_len=300)} for x in m.absent]
    members = [r.full_name for r in session.exec(
        select(CommitteeMember).where(CommitteeMember.assessment_id == a.id)).all()]
    clean = MeetingInput(m.started_at, m.ended_at, place, chaired_by, secretary, m.attendees_present,
                         m.attendees_total, m.vote_for, m.vote_against, m.vote_abstain, conclusions, absent)
    problems = meeting_problems(clean, members)
    if not problems:  # dates are compared only once they are well-formed
        problems += meeting_date_problems(clean.started_at, now or datetime.now(UTC), _committee_since(session, a.id))
    problems += [f"người vắng «{x['full_name']}» không có trong danh sách Hội đồng"
                 for x in absent if members and x["full_name"] not in members]
    if problems:
        raise InvalidInput("Thông tin cuộc họp chưa hợp lệ", details=problems)
    row = CommitteeMeeting(
        assessment_id=a.id, started_at=clean.started_at, ended_at=clean.ended_at, place=place,
        chaired_by=chaired_by, secretary=secretary, attendees_present=clean.attendees_present,
        attendees_total=clean.attendees_total, absent=absent, vote_for=clean.vote_for,
        vote_against=clean.vote_against, vote_abstain=clean.vote_abstain, conclusions=conclusions,
        recorded_by=_text(actor.name, "người ghi", max_len=200), recorded_at=datetime.now(UTC))
    session.add(row)
    session.flush()
    return row


def latest_meeting(session: Session, assessment_id: int) -> CommitteeMeeting | None:
    """The meeting the Biên bản prints (the last recorded); None when nothing was recorded."""
    return session.exec(select(CommitteeMeeting).where(CommitteeMeeting.assessment_id == assessment_id)
                        .order_by(col(CommitteeMeeting.id).desc())).first()


@dataclass(frozen=True)
class MeetingPage:
    """What the council meeting page shows: the last recorded meeting, the council, and whether the
    person may record one (the rulebook's `record_meeting`)."""
    school: Unit
    meeting: CommitteeMeeting | None
    members: list[CommitteeMember]
    can_record: bool


def meeting_page(uow: UnitOfWork, actor: ActorRef, a: Assessment) -> MeetingPage:
    members = list(uow.session.exec(select(CommitteeMember).where(CommitteeMember.assessment_id == a.id)
                                    .order_by(col(CommitteeMember.position_order))).all())
    return MeetingPage(school=unit_by_id(uow, a.school_id), meeting=latest_meeting(uow.session, a.id),
                       members=members, can_record=authorization.may_school(uow.session, actor, "record_meeting", a))


_VN = "Asia/Ho_Chi_Minh"


def _when(value: object, what: str, day: datetime | None = None) -> datetime:
    """`2026-03-10 08:00` (or `08:00` on the start's day), read in Vietnam's time zone."""
    from zoneinfo import ZoneInfo

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(_VN))
    text = str(value or "").strip().replace("T", " ")
    try:
        if day is not None and len(text) <= 5:
            h, m = text.split(":")
            return day.replace(hour=int(h), minute=int(m))
        return datetime.fromisoformat(iso_dates(text)).replace(tzinfo=ZoneInfo(_VN))  # 10/03/2026 08:00 too
    except ValueError:
        raise InvalidInput(f"{what} không hợp lệ: «{text}» (viết ngày/tháng/năm giờ:phút, ví dụ 10/03/2026 08:00)") from None


def _int(value: object, what: str, default: int | None = None) -> int:
    if value in (None, "") and default is not None:
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{what} phải là số nguyên (nhận «{value}»)") from None


def _absent(value: object) -> list[dict[str, Any]]:
    """A list of {full_name, reason}, or lines / ';'-separated `Họ tên = lý do`."""
    if isinstance(value, list):  # the CLI's repeated --absent «Họ tên=lý do», or a YAML list
        return [x for x in value if isinstance(x, dict)] + _absent(";".join(str(x) for x in value
                                                                            if not isinstance(x, dict)))
    out = []
    for part in str(value or "").replace("\n", ";").split(";"):
        if part.strip():
            name, _, reason = part.partition("=")
            out.append({"full_name": name.strip(), "reason": reason.strip()})
    return out


def meeting_input(values: dict[str, Any]) -> MeetingInput:
    """The meeting facts from a form, a CLI or a YAML file (keys as in MeetingInput; `start`/`end`
    accepted for the times), every value checked with a Vietnamese message."""
    start = _when(values.get("started_at") or values.get("start"), "giờ bắt đầu")
    end = _when(values.get("ended_at") or values.get("end"), "giờ kết thúc", day=start)
    return MeetingInput(
        started_at=start, ended_at=end, place=str(values.get("place") or ""),
        chaired_by=str(values.get("chaired_by") or ""), secretary=str(values.get("secretary") or ""),
        attendees_present=_int(values.get("attendees_present"), "số thành viên có mặt"),
        attendees_total=_int(values.get("attendees_total"), "tổng số thành viên"),
        vote_for=_int(values.get("vote_for"), "số phiếu tán thành"),
        vote_against=_int(values.get("vote_against"), "số phiếu không tán thành", 0),
        vote_abstain=_int(values.get("vote_abstain"), "số không biểu quyết", 0),
        conclusions=str(values.get("conclusions") or ""), absent=_absent(values.get("absent")))
