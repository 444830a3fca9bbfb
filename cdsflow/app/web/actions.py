"""The web's use-cases: scope and role checks, then the same service calls the CLI makes.

Pages and the JSON API both call these, so a rule is checked in exactly one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from cdsflow.app.web.access import (
    actor,
    assessment_for,
    campaign_for,
    require,
    visible_campaign_ids,
)
from cdsflow.calendars import timeutil
from cdsflow.calendars.catalog import calendar_name, find_calendar, shipped_calendars
from cdsflow.calendars.loader import load_calendar
from cdsflow.kernel.errors import CdsError, Forbidden, InvalidInput, NotFound
from cdsflow.kernel.stages import STAGE_ORDER, Stage
from cdsflow.services import assessments as assessment_svc
from cdsflow.services import authorization, listing, overview
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services.accounts import Principal
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, AssessmentEvent, CampaignMilestone, Unit
from cdsflow.workflow.machine import (
    STEP_BY_TRIGGER,
    STEPS,
    forward_trigger,
    legal_sources,
)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


days_left = timeutil.days_left  # calendar days until the deadline, counted in Vietnam


# --- campaigns -------------------------------------------------------------------------------


def campaigns(uow: UnitOfWork, p: Principal) -> list[campaign_svc.CampaignRow]:
    require(p, "view_campaigns")
    ids = set(visible_campaign_ids(uow, p))
    return [r for r in campaign_svc.list_campaigns(uow) if r.id in ids]


def dashboard(uow: UnitOfWork, p: Principal, campaign_id: int, *, now: datetime | None = None,
              late_limit: int = 20) -> campaign_svc.CampaignStatusView:
    """The campaign's figures, kept in the database (`listing.dashboard_figures`), so every web
    process shows the same figures at once (no per-process cache)."""
    campaign_for(uow, p, campaign_id)
    return listing.dashboard_figures(uow, campaign_id, now=_now(now), late_limit=late_limit)[0]


def calendar_choices() -> list[str]:
    return [calendar_name(p) for p in shipped_calendars()]


def launch(
    uow: UnitOfWork,
    p: Principal,
    *,
    school_year: str,
    index_set_code: str,
    calendar: str | None = None,
    calendar_file: Path | None = None,
    title: str | None = None,
    spawn_children: bool = False,
    now: datetime | None = None,
) -> campaign_svc.LaunchResult:
    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không phát động được kế hoạch.")
    cal = load_calendar(calendar_file) if calendar_file is not None else chosen_calendar(uow, p, calendar)
    issuer = uow.session.get(Unit, p.unit_id)
    return campaign_svc.launch_campaign(
        uow, issuer_code=issuer.code, school_year=school_year.strip(), index_set=index_set_code, calendar=cal,
        title=title or None, spawn_children=spawn_children, actor=actor(p), now=now,
    )


def chosen_calendar(uow: UnitOfWork, p: Principal, calendar: str | None):
    """The launch form's calendar: a shipped name (or 'shipped:NAME'), or 'saved:ID' of the editor."""
    from cdsflow.services import calendar_drafts

    if not calendar:
        return None
    if calendar.startswith(calendar_drafts.SAVED + ":"):
        number = calendar.partition(":")[2]
        if not number.isdigit():
            raise InvalidInput(f"Không có lịch đã lưu «{calendar}»")
        return calendar_drafts.saved_calendar(uow, p.unit_id, int(number))
    calendar = calendar.removeprefix(calendar_drafts.SHIPPED + ":")
    if calendar not in calendar_choices():  # only shipped names: no path from a request
        raise InvalidInput(f"Không có lịch mẫu «{calendar}»")
    return load_calendar(find_calendar(calendar))


@dataclass
class LaunchPreview:
    issuer_name: str
    index_set: str
    calendar_label: str
    calendar_year: str | None
    covered: list = field(default_factory=list)  # the first lines only (describe_scope's limit)
    left_out: list = field(default_factory=list)
    covered_total: int = 0
    left_out_total: int = 0


def launch_preview(uow: UnitOfWork, p: Principal, *, school_year: str, index_set_code: str,
                   calendar: str | None) -> LaunchPreview:
    """What a launch would cover, from the same `launch_scope` the launch itself uses."""
    from cdsflow.services.indexsets import require_final, resolve_index_set
    from cdsflow.services.launch_scope import describe_scope, launch_scope

    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không phát động được kế hoạch.")
    cal = chosen_calendar(uow, p, calendar)
    index_set = resolve_index_set(uow.session, index_set_code)
    require_final(index_set)
    issuer = uow.session.get(Unit, p.unit_id)
    scope = launch_scope(uow, issuer, index_set, school_year.strip())
    covered, left = describe_scope(uow, scope)
    return LaunchPreview(issuer.name, f"{index_set.code} ({index_set.version})",
                         f"{cal.issuer} – năm học {cal.school_year}" if cal else "", cal.school_year if cal else None,
                         covered, left, len(scope.included), len(scope.left_out))


def advance_campaign(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str):
    campaign_for(uow, p, campaign_id)
    return campaign_svc.advance_campaign(uow, campaign_id, trigger, actor(p))


@dataclass
class BulkResult:
    trigger: str
    done: int = 0
    refused: list[str] = field(default_factory=list)


BULK_TRIGGERS = ("start_review", "recognise", "publish")


def _bulk_rows(uow: UnitOfWork, campaign_id: int, trigger: str, selected: list[int] | None, limit: int):
    """(assessment id, school name) the bulk step considers: every school of the campaign standing
    where the step starts, or, when the officer ticked schools in the list, exactly those."""
    where = [Assessment.campaign_id.in_(campaign_svc.family_ids(uow.session, campaign_id))]
    if selected is None:
        where.append(Assessment.state.in_(legal_sources(trigger)))
    else:
        if len(selected) > limit:
            raise InvalidInput(f"Chọn tối đa {limit} cơ sở cho một lần thao tác hàng loạt")
        where.append(Assessment.id.in_(selected))
    return uow.session.execute(
        select(Assessment.id, Unit.name).join(Unit, Unit.id == Assessment.school_id)
        .where(*where).order_by(Unit.name, Assessment.id).limit(limit)
    ).all()


def bulk_transition(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str, *, limit: int = 2000,
                    now: datetime | None = None, selected: list[int] | None = None) -> BulkResult:
    """The same step for every school of the campaign that stands where the step starts (or for the
    schools ticked in the list); one transaction per school so that one refusal does not undo the others."""
    if trigger not in BULK_TRIGGERS:
        raise InvalidInput(f"Không làm hàng loạt được thao tác «{trigger}»")
    campaign_for(uow, p, campaign_id)
    authorization.check_campaign(uow.session, actor(p), "bulk", campaign_id, now=now)
    rows = _bulk_rows(uow, campaign_id, trigger, selected, limit)
    result = BulkResult(trigger)
    for aid, name in rows:
        try:
            assessment_svc.transition(uow, aid, trigger, actor(p), now=now)
            result.done += 1
        except CdsError as err:
            uow.rollback()
            result.refused.append(f"{name}: {err}")
    return result


# --- one school ------------------------------------------------------------------------------


@dataclass
class SchoolPage:
    view: assessment_svc.AssessmentView
    unit_name: str
    days_left: int | None
    triggers: list[tuple[str, str]]  # (trigger, Vietnamese label) the principal may try now
    can_edit_committee: bool
    history: list[AssessmentEvent]
    criteria: list[tuple[str, str]] = field(default_factory=list)  # for notes when returning the file
    role_labels: dict[str, str] = field(default_factory=lambda: dict(assessment_svc.ROLE_LABELS))


def school_page(uow: UnitOfWork, p: Principal, assessment_id: int, *, now: datetime | None = None) -> SchoolPage:
    a = assessment_for(uow, p, assessment_id)
    view = assessment_svc.show_assessment(uow, a.id)
    left = days_left(view.next_milestone[1], _now(now)) if view.next_milestone else None
    offered = authorization.allowed_steps(uow.session, actor(p), a, [s.trigger for s in STEPS])
    triggers = [(s.trigger, s.label) for s in STEPS if s.trigger in offered]
    criteria: list[tuple[str, str]] = []
    if any(t == "return_for_supplement" for t, _ in triggers):
        from cdsflow.services.indexsets import index_set_for_assessment

        criteria = [(c.code, c.label) for c in index_set_for_assessment(uow.session, a.id).criteria.values()]
    return SchoolPage(
        view=view, unit_name=uow.session.get(Unit, a.school_id).name, days_left=left, triggers=triggers,
        can_edit_committee=authorization.may_school(uow.session, actor(p), "set_committee", a),
        history=assessment_svc.history(uow, a.id), criteria=criteria,
    )


def transition(uow: UnitOfWork, p: Principal, assessment_id: int, trigger: str, *, version: int | None,
               reason: str = "", criteria_notes: dict[str, str] | None = None, override_reason: str = "",
               now: datetime | None = None, grant_extra_send: bool = False) -> Stage:
    a = assessment_for(uow, p, assessment_id)
    if trigger == "advance":
        trigger = forward_trigger(a.state)
    if trigger not in STEP_BY_TRIGGER:
        raise InvalidInput(f"Thao tác không tồn tại: «{trigger}»")
    return assessment_svc.transition(uow, a.id, trigger, actor(p), reason=reason, criteria_notes=criteria_notes,
                                     override_reason=override_reason, expected_version=version, now=now,
                                     grant_extra_send=grant_extra_send)


def set_committee(uow: UnitOfWork, p: Principal, assessment_id: int, members: list[assessment_svc.MemberInput],
                  *, version: int | None, now: datetime | None = None) -> int:
    a = assessment_for(uow, p, assessment_id)
    return assessment_svc.set_committee(uow, a.id, members, actor(p), expected_version=version, now=now)


def parse_criteria_notes(text: str) -> dict[str, str]:
    """'1.2: thiếu minh chứng' per line → {'1.2': 'thiếu minh chứng'}; a line without ':' is refused."""
    notes: dict[str, str] = {}
    bad = []
    for i, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        code, sep, note = line.partition(":")
        if not sep or not code.strip() or not note.strip():
            bad.append(f"dòng {i}: cần dạng «mã tiêu chí: ghi chú» («{line.strip()[:60]}»)")
            continue
        notes[code.strip()] = note.strip()
    if bad:
        raise InvalidInput("Ghi chú theo tiêu chí có lỗi; chưa lưu gì:", details=bad)
    return notes


# --- lists, charts and public results live in the service layer (workflow/services/overview.py) ---


def my_assessments(uow: UnitOfWork, p: Principal) -> list[tuple[int, str, str]]:
    return overview.own_assessments(uow.session, p.unit_id)


def public_results(uow: UnitOfWork, campaign_id: int) -> overview.PublicResults:
    return overview.public_results(uow.session, campaign_id)


def school_list(uow: UnitOfWork, p: Principal, campaign_id: int, query: listing.ListQuery, *,
                now: datetime | None = None, with_options: bool = True) -> listing.SchoolListPage:
    campaign_for(uow, p, campaign_id)
    return listing.school_list(uow.session, campaign_id, query, now=_now(now), with_options=with_options)


def school_lines(uow: UnitOfWork, p: Principal, campaign_id: int, query: listing.ListQuery, *,
                 now: datetime | None = None):
    """Every matching school, streamed: what the Excel exports write."""
    campaign_for(uow, p, campaign_id)
    return listing.iter_school_lines(uow.session, campaign_id, query, now=_now(now))


def province(uow: UnitOfWork, p: Principal, campaign_id: int, *, now: datetime | None = None) -> listing.ProvinceView:
    campaign_for(uow, p, campaign_id)
    return listing.province_view(uow.session, campaign_id, now=_now(now))


def level_charts(uow: UnitOfWork, campaign_id: int) -> list[overview.LevelChart]:
    return listing.dashboard_figures(uow, campaign_id)[1]


def milestones(uow: UnitOfWork, campaign_id: int) -> list[tuple[str, str]]:
    return overview.milestones(uow.session, campaign_id)


def stage_labels() -> list[tuple[str, str]]:
    return [(s.value, s.label) for s in STAGE_ORDER]


def require_accounts(p: Principal) -> None:
    require(p, "manage_accounts")


def remind_now(uow: UnitOfWork, p: Principal, campaign_id: int, milestone_key: str, *, now: datetime | None = None,
               base_url: str | None = None):
    """The officer's manual nudge of the schools late for one milestone (at most once a day)."""
    from cdsflow.services.mail import remind_now as nudge

    campaign_for(uow, p, campaign_id)
    authorization.check_campaign(uow.session, actor(p), "remind", campaign_id, now=now)  # before the input
    if milestone_key not in {k for k, _ in milestones(uow, campaign_id)}:
        raise InvalidInput(f"Kế hoạch số {campaign_id} không có mốc «{milestone_key}»")
    return nudge(uow.engine, campaign_id, milestone_key, _now(now), actor(p), base_url=base_url)


def remind_preview(uow: UnitOfWork, p: Principal, campaign_id: int, milestone_key: str, *,
                   now: datetime | None = None, base_url: str | None = None):
    """What «Nhắc ngay» would queue (recipients, rendered mail), nothing written."""
    from cdsflow.services.mail import preview_reminder

    campaign_for(uow, p, campaign_id)
    return preview_reminder(uow.engine, campaign_id, milestone_key, _now(now), actor(p), base_url=base_url)


def reminder_choices(uow: UnitOfWork, campaign_id: int, *, now: datetime | None = None):
    from cdsflow.services.mail import reminder_choices as choices

    return choices(uow.session, campaign_id, _now(now))


# --- confirmations -----------------------------------------------------------------------------

# Steps a person confirms on a page that names the schools before anything is written.
CONFIRM_STEPS = ("submit_proposal", "recognise", "publish")


def _proposal_cap(uow: UnitOfWork, a: Assessment) -> tuple[int | None, str]:
    """(the calendar's cap on sends, which send counts) for the school's proposal milestone."""
    m = uow.session.execute(
        select(CampaignMilestone).where(CampaignMilestone.campaign_id == a.campaign_id,
                                        CampaignMilestone.stage == Stage.PROPOSAL.value)
        .order_by(CampaignMilestone.max_submissions.is_(None), CampaignMilestone.due_at)
    ).scalars().first()
    return (m.max_submissions, m.counts) if m is not None else (None, "last")


def _supervisor_name(uow: UnitOfWork, a: Assessment) -> str:
    school = uow.session.get(Unit, a.school_id)
    boss = uow.session.get(Unit, school.supervisor_id) if school.supervisor_id else None
    return boss.name if boss else "đơn vị quản lý"


def step_done_message(uow: UnitOfWork, p: Principal, assessment_id: int) -> str | None:
    """What the last step on this file did, said plainly: "Đã gửi tờ trình lần 1/3 lúc 10:42 …"."""
    a = assessment_for(uow, p, assessment_id)
    ev = uow.session.execute(select(AssessmentEvent).where(AssessmentEvent.assessment_id == a.id)
                             .order_by(AssessmentEvent.id.desc()).limit(1)).scalars().first()
    if ev is None or ev.trigger not in STEP_BY_TRIGGER:
        return None
    at = timeutil.short_instant(ev.at)
    if ev.trigger == "submit_proposal":
        cap, _ = _proposal_cap(uow, a)
        return (f"Đã gửi tờ trình lần {a.proposal_count}{f'/{cap}' if cap else ''} lúc {at}; "
                f"{_supervisor_name(uow, a)} đã nhận hồ sơ.")
    return (f"Đã {STEP_BY_TRIGGER[ev.trigger].label} lúc {at}; hồ sơ chuyển sang giai đoạn "
            f"«{Stage(ev.to_state).label}».")


@dataclass
class Confirmation:
    title: str
    action_url: str
    fields: dict[str, str]  # hidden fields posted again with confirm=1
    ready: list[str] = field(default_factory=list)  # schools the step will be taken for
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (school, why not)
    override: bool = False  # recognition without a complete review: ask for the written reason
    back_url: str = ""
    repeated: list[tuple[str, str]] = field(default_factory=list)  # hidden fields posted several times (ids)
    note: str = ""  # what the person should know before confirming (the send's number, the cap)
    noun: str = "cơ sở giáo dục"  # what is counted: "Xác nhận 2 cơ sở giáo dục", "Xác nhận 1 minh chứng"


def confirm_step(uow: UnitOfWork, p: Principal, assessment_id: int, trigger: str, version: int) -> Confirmation:
    a = assessment_for(uow, p, assessment_id)
    name = uow.session.get(Unit, a.school_id).name
    label = STEP_BY_TRIGGER[trigger].label
    problems = assessment_svc.step_refusals(uow, a.id, trigger, actor(p))
    review_missing = trigger == "recognise" and any("đánh giá ngoài" in x and "lý do" in x for x in problems)
    c = Confirmation(f"Xác nhận: {label}", f"/assessments/{a.id}/transition",
                     {"trigger": trigger, "version": str(version)}, back_url=f"/assessments/{a.id}")
    if problems and not (review_missing and len(problems) == 1):
        c.skipped.append((name, "; ".join(problems)))
    else:
        c.ready.append(name)
        c.override = review_missing
    if trigger == "submit_proposal":
        cap, counts = _proposal_cap(uow, a)
        c.note = (f"Đây là lần gửi thứ {a.proposal_count + 1}{f' (tối đa {cap} lần)' if cap else ''}; "
                  f"{'lần gửi cuối cùng' if counts == 'last' else 'lần gửi đầu tiên'} được dùng để đánh giá. "
                  f"Sau khi gửi, điểm tự đánh giá bị khóa và {_supervisor_name(uow, a)} nhận hồ sơ.")
    return c


def confirm_bulk(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str, *, limit: int = 2000,
                 selected: list[int] | None = None, back_url: str = "") -> Confirmation:
    """A dry run of a bulk step: which schools it will move and which it will skip, and why."""
    if trigger not in BULK_TRIGGERS:
        raise InvalidInput(f"Không làm hàng loạt được thao tác «{trigger}»")
    if selected is not None and not selected:
        raise InvalidInput("Chưa chọn cơ sở nào: đánh dấu các cơ sở trong danh sách rồi chọn thao tác")
    campaign_for(uow, p, campaign_id)
    authorization.check_campaign(uow.session, actor(p), "bulk", campaign_id)
    rows = _bulk_rows(uow, campaign_id, trigger, selected, limit)
    c = Confirmation(f"Xác nhận: {STEP_BY_TRIGGER[trigger].label} (hàng loạt)", f"/campaigns/{campaign_id}/bulk",
                     {"trigger": trigger, **({"selection": "1"} if selected is not None else {})},
                     back_url=back_url or f"/campaigns/{campaign_id}")
    for aid, name in rows:
        problems = assessment_svc.step_refusals(uow, aid, trigger, actor(p))
        if problems:
            c.skipped.append((name, "; ".join(problems)))
        else:
            c.ready.append(name)
            if selected is not None:  # the confirmation posts exactly the schools it named as ready
                c.repeated.append(("ids", str(aid)))
    found = {aid for aid, _ in rows}
    c.skipped += [(f"Hồ sơ số {aid}", "không thuộc kế hoạch này") for aid in (selected or []) if aid not in found]
    return c


def confirm_evidence_removal(uow: UnitOfWork, p: Principal, evidence_id: int) -> Confirmation:
    """Deleting a minh chứng (and its file) cannot be undone: name it, and say why not if the rulebook refuses."""
    from cdsflow.storage.assessment_tables import EvidenceEntry

    entry = uow.session.get(EvidenceEntry, evidence_id)
    if entry is None:
        raise NotFound(f"Không tìm thấy minh chứng số {evidence_id}")
    a = assessment_for(uow, p, entry.assessment_id)
    what = f"Minh chứng «{entry.title}» của tiêu chí {entry.criterion_code}"
    c = Confirmation("Xác nhận: xóa minh chứng", f"/evidence/{evidence_id}/delete", {},
                     back_url=f"/assessments/{a.id}/scores#minh-chung",
                     note="Minh chứng và tệp đính kèm sẽ bị xóa hẳn, không khôi phục được.", noun="minh chứng")
    authorization.check_school(uow.session, actor(p), "evidence", a)  # refused here exactly as the deletion would be
    c.ready.append(what)
    return c
