"""A living example: a Ba Đình-like bureau whose ~30 schools are spread over the stages.

It goes through the same use-cases as a real campaign (import, launch, committee, transitions),
so what a newcomer sees is what the product does.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import col, select

from cdsflow.assessment.model import AnswerKind, IndexSet
from cdsflow.calendars.catalog import find_calendar
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.model import Calendar, RelativeRule
from cdsflow.calendars.timeutil import is_working_day
from cdsflow.documents.demo_ca import demo_seal_png, demo_signature_png, make_test_identity
from cdsflow.documents.pdf import PdfUnavailable
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import fold
from cdsflow.services import assessments as assessment_svc
from cdsflow.services import signing
from cdsflow.services.accounts import create_demo_accounts
from cdsflow.services.campaigns import campaign_status, launch_campaign
from cdsflow.services.indexsets import index_set_for_assessment
from cdsflow.services.meetings import MeetingInput, latest_meeting, record_meeting
from cdsflow.services.review_teams import TeamMemberInput, VisitInput, schedule_visits, set_team, show_team
from cdsflow.services.scoring import add_evidence, list_evidence, save_answers
from cdsflow.services.units import UNIT_COLUMNS, get_unit, import_units_file
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.documents_tables import DocumentSetting, GeneratedDocument
from cdsflow.storage.tables import Assessment, Campaign, Unit
from cdsflow.storage.tabular import read_table
from cdsflow.workflow.context import ActorRef

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
UNITS_FILE = DEMO_DIR / "units.csv"
BUREAU = "DEMO-PGD-BD"
CALENDAR = "hanoi/ba-dinh-2024-2025"

# How many schools stop at each stage (the rest stay at plan_issued), in list order.
SPREAD = [(Stage.PUBLISHED, 2), (Stage.RECOGNITION, 2), (Stage.EXTERNAL_REVIEW, 3), (Stage.PROPOSAL, 4),
          (Stage.SELF_ASSESSMENT, 5), (Stage.COMMITTEE_FORMED, 4)]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Minh", "Thu", "Đức", "Thanh", "Ngọc", "Quang"]
GIVEN = ["Hoa", "Lan", "Hùng", "Hương", "Tuấn", "Mai", "Dũng", "Hạnh", "Sơn", "Yến", "Phương", "Khánh"]


def current_school_year(now: datetime) -> int:
    """The first calendar year of the school year running at `now` (it starts in August)."""
    return now.year if now.month >= 8 else now.year - 1


_D = TypeVar("_D", bound=date)
REFORM_YEAR = 2025  # from 1/7/2025 no quận/huyện: the ward's Phòng Văn hóa - Xã hội runs the plan
_REFORM_WORDS = (("Phòng GDĐT quận", "Phòng Văn hóa - Xã hội phường"), ("địa bàn quận", "địa bàn phường"))


def _after_reform(title: str) -> str:
    """A 2024-2025 milestone title as the ward says it after the district level was abolished."""
    for old, new in _REFORM_WORDS:
        title = title.replace(old, new)
    return title


def shift_calendar(cal: Calendar, years: int) -> Calendar:
    """The same timetable, moved whole years (the demo runs Ba Đình's plan in the current year)."""

    def move(d: _D | None) -> _D | None:
        if d is None:
            return None
        try:
            return d.replace(year=d.year + years)
        except ValueError:  # 29 February
            return d.replace(year=d.year + years, day=28)

    def move_rule(rule: RelativeRule | None) -> RelativeRule | None:  # a relative rule moves only its fixed cap
        return dataclasses.replace(rule, cap=move(rule.cap)) if rule is not None and rule.cap else rule

    first = int(cal.school_year[:4]) + years
    milestones = tuple(
        dataclasses.replace(
            m, title=_after_reform(m.title) if first >= REFORM_YEAR else m.title,
            due_at=move(m.due_at), opens_at=move(m.opens_at),
            submission=dataclasses.replace(m.submission, opens_at=move(m.submission.opens_at),
                                           closes_at=move(m.submission.closes_at),
                                           after_return=move_rule(m.submission.after_return)) if m.submission else None,
            relative=move_rule(m.relative),
        )
        for m in cal.milestones
    )
    return dataclasses.replace(cal, school_year=f"{first}-{first + 1}", milestones=milestones,
                               issued_on=move(cal.issued_on))


def person(i: int) -> str:
    return f"{FAMILY[i % len(FAMILY)]} {MIDDLE[(i // 3) % len(MIDDLE)]} {GIVEN[(i * 7) % len(GIVEN)]}"


def build_demo(uow: UnitOfWork, *, now: datetime | None = None, progress: Callable[[str], None] = lambda _: None,
               issue_decision: Callable[[int], None] | None = None) -> str:
    """`issue_decision(campaign_id)` issues the numbered Quyết định công nhận (the documents area,
    which this layer may not import): publication rests on it, so without it the schools meant to
    be published stay recognised."""
    now = now or datetime.now(UTC)
    bureau_id = get_unit_id_or_none(uow, BUREAU)
    existing = bureau_id and uow.session.execute(select(Campaign.id).where(Campaign.issuer_id == bureau_id)).first()
    if existing:
        progress("Dữ liệu mẫu đã có sẵn.")
        return _summary(uow, existing[0], now)

    # The count is read from the file, not written by hand (it once said 31 for 30 schools).
    schools = sum(1 for _, row in read_table(UNITS_FILE, UNIT_COLUMNS) if fold(row.get("kind", "")) == "truong")
    progress(f"Nhập danh sách đơn vị mẫu (Sở GDĐT Hà Nội, Phòng Văn hóa - Xã hội phường Ba Đình, {schools} trường)…")
    import_units_file(uow, UNITS_FILE)
    _paper_settings(uow)
    source = load_calendar(find_calendar(CALENDAR))
    year = current_school_year(now)
    cal = shift_calendar(source, year - int(source.school_year[:4]))
    progress(f"Phát động kế hoạch năm học {cal.school_year} theo lịch Ba Đình 2024-2025 (dời sang năm nay)…")
    result = launch_campaign(
        uow, issuer_code=BUREAU, school_year=cal.school_year, index_set="4725", calendar=cal,
        title=f"Kế hoạch triển khai đánh giá mức độ chuyển đổi số các cơ sở giáo dục năm học {cal.school_year}",
        actor="Trưởng phòng GDĐT", now=now - timedelta(days=40),
    )
    officer = ActorRef("Chuyên viên Trần Minh Tuấn", get_unit(uow, BUREAU).id)
    assessments = _assessments_in_order(uow, result.campaign_id)
    targets: list[Stage] = [stage for stage, n in SPREAD for _ in range(n)]
    progress(f"Đưa {len(targets)} trường qua các giai đoạn…")
    walked = list(enumerate(assessments[: len(targets)]))
    for i, (aid, school_id) in walked:
        target = min(targets[i], Stage.RECOGNITION, key=lambda s: s.order)
        _walk(uow, aid, school_id, target, officer, i, now - timedelta(days=35))
    to_publish = [aid for i, (aid, _) in walked if targets[i] == Stage.PUBLISHED]
    if to_publish and issue_decision is not None:
        progress("Ban hành Quyết định công nhận và công bố kết quả…")
        issue_decision(result.campaign_id)
        _sign_decisions(uow, result.campaign_id, progress)
        for aid in to_publish:
            assessment_svc.transition(uow, aid, "publish", officer, now=now - timedelta(days=1))
    _demo_accounts(uow)
    progress("Thành lập Đoàn đánh giá ngoài…")
    _review_team(uow, result.campaign_id, officer, now)
    return _summary(uow, result.campaign_id, now)


def _review_team(uow: UnitOfWork, campaign_id: int, officer: ActorRef, now: datetime) -> None:
    """The ward's external review team (the Quyết định thành lập đoàn and the Thông báo phân công are
    built from it) and its visits to the schools it has reviewed, on working days of the weeks the
    demo's reviews took place, so the Biên bản kiểm tra of each reviewed school can be made."""
    unit = "Phòng Văn hóa - Xã hội phường Ba Đình"
    start, end = (now - timedelta(days=40)).date(), now.date()
    set_team(uow, campaign_id, [
        TeamMemberInput("Lê Thị Thu Hà", "head", "Trưởng phòng", unit),
        TeamMemberInput("Trần Minh Tuấn", "secretary", "Chuyên viên", unit),
        TeamMemberInput("Phạm Quang Hùng", "member", "Chuyên viên", unit, username="doandanhgia"),
        TeamMemberInput("Đỗ Minh Chi", "member", "Hiệu trưởng", "Trường Tiểu học Ngọc Hà"),
    ], officer, period_start=start, period_end=end, now=now)
    reviewed = [s for s in show_team(uow, campaign_id).schools if s.stage.order >= Stage.EXTERNAL_REVIEW.order]
    days = [start + timedelta(days=d) for d in range(3, (end - start).days) if is_working_day(start + timedelta(days=d))]
    visits = [VisitInput(s.assessment_id, days[i // 2 % len(days)], "sáng" if i % 2 == 0 else "chiều")
              for i, s in enumerate(reviewed)]
    if visits:
        schedule_visits(uow, campaign_id, visits, officer)
    uow.commit()


def _sign_decisions(uow: UnitOfWork, campaign_id: int, progress: Callable[[str], None]) -> None:
    """The ward signs the decisions it issued with a throw-away test certificate (never trusted
    outside this demo database), so a newcomer finds signed PDFs and «đã ký số» in the register."""
    unit_name, signer, admin = "Phòng Văn hóa - Xã hội phường Ba Đình", "Lê Thị Thu Hà", "Quản trị viên (dữ liệu mẫu)"
    ident = make_test_identity(signer, unit_name)
    signing.set_identity(uow, BUREAU, ident.p12, ident.passphrase, admin)
    signing.set_image(uow, BUREAU, "signature", demo_signature_png(), admin, signer_name=signer)
    signing.set_image(uow, BUREAU, "seal", demo_seal_png(unit_name), admin)
    signing.add_trust_anchor(uow, BUREAU, ident.root_pem, admin)
    docs = uow.session.execute(select(GeneratedDocument.id).where(
        GeneratedDocument.campaign_id == campaign_id, GeneratedDocument.doc_type == "qd_cong_nhan",
        col(GeneratedDocument.number).is_not(None))).scalars().all()
    officer = ActorRef(signer, get_unit(uow, BUREAU).id)
    try:
        for doc_id in docs:
            done = signing.sign_paper(uow.engine, doc_id, officer)
            progress(f"Ký số Quyết định số {done.number_line} bằng chứng thư số thử nghiệm: {done.label}")
    except PdfUnavailable as exc:  # no LibreOffice on this machine: the papers stay unsigned .docx
        progress(f"Chưa ký số Quyết định mẫu: {exc}")


def _paper_settings(uow: UnitOfWork) -> None:
    """Who signs the ward's papers, set once as a unit would (the schools' heads come from their committees)."""
    uow.session.add(DocumentSetting(unit_id=get_unit(uow, BUREAU).id, signature_mode="head", head_title="TRƯỞNG PHÒNG",
                                    signer_name="Lê Thị Thu Hà", archive_unit="GDĐT",
                                    # the ward's own Kế hoạch and Công văn triển khai print its contact and link
                                    contact_name="Trần Minh Tuấn", contact_title="Chuyên viên",
                                    contact_email="tuantm@badinh.edu.vn", contact_phone="0912345678",
                                    submission_link="https://badinh.edu.vn/nop-ho-so-cds"))
    uow.session.add(DocumentSetting(unit_id=get_unit(uow, "DEMO-SGD-HN").id, signature_mode="head",
                                    head_title="GIÁM ĐỐC", signer_name="Trần Thế Cương", archive_unit="GDPT"))
    uow.commit()


def _demo_accounts(uow: UnitOfWork) -> None:
    """One web login per role (printed by `cdsflow account demo`)."""
    create_demo_accounts(uow)


def get_unit_id_or_none(uow: UnitOfWork, code: str) -> int | None:
    return uow.session.execute(select(Unit.id).where(Unit.code == code)).scalar_one_or_none()


def _assessments_in_order(uow: UnitOfWork, campaign_id: int) -> list[tuple[int, int]]:
    return list(uow.session.execute(
        select(Assessment.id, col(Assessment.school_id)).join(Unit, col(Unit.id) == Assessment.school_id)
        .where(Assessment.campaign_id == campaign_id).order_by(Unit.code)
    ).all())


def _walk(uow: UnitOfWork, aid: int, school_id: int, target: Stage, officer: ActorRef, i: int, start: datetime) -> None:
    """Take one school to `target` through the real use-cases: committee, self-assessment with its
    meeting recorded, proposal, review with external scores that differ from the school's (one file
    in three is returned once and sent again), recognition and publication."""
    head = ActorRef(f"Hiệu trưởng {person(i)}", school_id)
    at = start + timedelta(hours=i)
    members = [
        assessment_svc.MemberInput(head.name.removeprefix("Hiệu trưởng "), "Chủ tịch", "Hiệu trưởng"),
        assessment_svc.MemberInput(person(i + 11), "Phó Chủ tịch", "Phó Hiệu trưởng"),
        assessment_svc.MemberInput(person(i + 23), "Thư ký", "Giáo viên tin học"),
        assessment_svc.MemberInput(person(i + 37), "Ủy viên", "Tổ trưởng chuyên môn"),
        assessment_svc.MemberInput(person(i + 41), "Ủy viên", "Kế toán"),
    ]
    assessment_svc.set_committee(uow, aid, members, head, now=at)
    strength = 0.45 + 0.5 * ((i * 37) % 10) / 10  # from a school just over the line to a leading one
    plan = [("form_committee", head), ("start_self_assessment", head), ("submit_proposal", head),
            ("start_review", officer), ("recognise", officer), ("publish", officer)]
    returned = False
    while plan:
        trigger, actor = plan.pop(0)
        if assessment_svc.find_assessment(uow, aid).state == target.value:
            return
        if trigger == "submit_proposal":
            prepare_proposal(uow, aid, head.name, at, strength=strength)
            record_demo_meeting(uow, aid, members, head, at)
        if trigger == "recognise":
            enter_external_scores(uow, aid, officer.name, strength)
            if i % 3 == 0 and not returned:  # sent back once, supplemented, sent again
                returned = True
                at += timedelta(days=2)
                assessment_svc.transition(uow, aid, "return_for_supplement", officer, now=at,
                                          reason="Bổ sung minh chứng kế hoạch dạy học trực tuyến")
                plan[:0] = [("submit_proposal", head), ("start_review", officer), ("recognise", officer)]
                continue
        at += timedelta(days=3)
        assessment_svc.transition(uow, aid, trigger, actor, now=at)


def record_demo_meeting(uow: UnitOfWork, aid: int, members: list[Any], head: ActorRef, at: datetime) -> None:
    """The council's meeting as its secretary records it (the Biên bản prints these facts)."""
    if latest_meeting(uow.session, aid) is not None:
        return
    start = at.replace(hour=1, minute=30, second=0, microsecond=0)  # 8:30 in Hà Nội
    record_meeting(uow.session, aid, MeetingInput(
        started_at=start, ended_at=start + timedelta(hours=2), place="Phòng họp Hội đồng nhà trường",
        chaired_by=members[0].full_name, secretary=members[2].full_name, attendees_present=len(members) - 1,
        attendees_total=len(members), vote_for=len(members) - 1,
        absent=[{"full_name": members[-1].full_name, "reason": "đi công tác"}],
        conclusions="Hội đồng thống nhất thông qua kết quả tự đánh giá và đề nghị cấp trên đánh giá ngoài."), head)
    uow.commit()


def enter_external_scores(uow: UnitOfWork, aid: int, actor: str, strength: float) -> None:
    """The review team's scores: a little stricter than the school's own."""
    index_set = index_set_for_assessment(uow.session, aid)
    save_answers(uow.session, aid, "external", demo_answers(index_set, max(0.0, strength - 0.1)), actor)
    uow.commit()


def demo_answers(index_set: IndexSet, strength: float) -> dict[str, Any]:
    """Plausible answers for every item: strength 0 is a school just starting, 1 a leading one."""
    from decimal import ROUND_HALF_UP, Decimal

    answers: dict[str, Any] = {}
    for item in index_set.items.values():
        if item.kind == AnswerKind.YES_NO:
            answers[item.code] = item.mandatory or strength >= 0.35
        elif item.kind == AnswerKind.COUNT:
            answers[item.code] = int(60 * strength)
        elif item.kind == AnswerKind.PERCENTAGE:
            answers[item.code] = round(100 * strength, 1)
        elif item.kind == AnswerKind.CHOICE:
            ranked = sorted(item.choices, key=lambda c: c.points)
            answers[item.code] = ranked[round(strength * (len(ranked) - 1))].code
        else:
            half_points = (item.max_points * Decimal(str(strength)) * 2).quantize(Decimal(1), ROUND_HALF_UP) / 2
            answers[item.code] = min(half_points, item.max_points)
    return answers


def prepare_proposal(uow: UnitOfWork, aid: int, actor: str, at: datetime, strength: float = 0.7) -> None:
    """Fill the self-assessment a school enters before proposing: every item, evidence per criterion."""
    session = uow.session
    index_set = index_set_for_assessment(session, aid)
    save_answers(session, aid, "self", demo_answers(index_set, strength), actor)
    have = {e.criterion_code for e in list_evidence(session, aid)}
    for n, criterion in enumerate(index_set.criteria.values(), start=1):
        if criterion.code not in have:
            add_evidence(session, aid, criterion.code, f"Minh chứng tiêu chí {criterion.code}: {criterion.label[:120]}",
                         document_number=f"{n:02d}/MC", document_date=at.date(),
                         link=f"https://example.edu.vn/minh-chung/{aid}/{criterion.code}", actor=actor)
    uow.commit()


def _summary(uow: UnitOfWork, campaign_id: int, now: datetime) -> str:
    s = campaign_status(uow, campaign_id, now=now, late_limit=0)
    lines = [f"Kế hoạch mẫu số {campaign_id}: {s.title}", f"{s.issuer_name}: {s.total} cơ sở giáo dục, "
             f"đã nộp tờ trình {s.submitted}/{s.total}."]
    lines += [f"  {line.stage.label}: {line.count}" for line in s.stages if line.count]
    lines.append(f"Xem tiếp: cdsflow campaign status {campaign_id}")
    return "\n".join(lines)
