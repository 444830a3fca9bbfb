"""What pages and the JSON API call: the scope check (access.py), then the use-case or read model
of services/ that the CLI calls too (the bulk step is `services.assessments.bulk_transition`, one
`transition` per school). No query lives here: the database is reached only through services.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

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
from cdsflow.kernel.errors import Forbidden, InvalidInput, NotFound
from cdsflow.kernel.stages import STAGE_ORDER, Stage
from cdsflow.services import accounts as account_svc
from cdsflow.services import assessments as assessment_svc
from cdsflow.services import authorization, calendar_drafts, listing, overview
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services import scoring as scoring_svc
from cdsflow.services.accounts import Principal
from cdsflow.services.assessments import BULK_TRIGGERS, BulkResult, require_bulk_trigger
from cdsflow.services.indexsets import require_final, resolve_index_set
from cdsflow.services.launch_scope import describe_scope, launch_scope
from cdsflow.services.mail import preview_reminder
from cdsflow.services.mail import remind_now as nudge
from cdsflow.services.mail import reminder_choices as choices
from cdsflow.services.units import supervisor_name, unit_by_id
from cdsflow.storage.db import UnitOfWork
from cdsflow.workflow.machine import (
    STEP_BY_TRIGGER,
)

__all__ = ["BULK_TRIGGERS", "BulkResult"]  # the pages read them from here


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
    return campaign_svc.run_launch(uow, start_launch(
        uow, p, school_year=school_year, index_set_code=index_set_code, calendar=calendar,
        calendar_file=calendar_file, title=title, spawn_children=spawn_children, now=now))


def start_launch(
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
) -> campaign_svc.LaunchJob:
    """The launch form's launch, started: its files are opened by `campaign_svc.run_launch`."""
    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không phát động được kế hoạch.")
    cal = load_calendar(calendar_file) if calendar_file is not None else chosen_calendar(uow, p, calendar)
    issuer = unit_by_id(uow, p.unit_id)
    return campaign_svc.start_launch(
        uow, issuer_code=issuer.code, school_year=school_year.strip(), index_set=index_set_code, calendar=cal,
        title=title or None, spawn_children=spawn_children, actor=actor(p), now=now,
    )


def chosen_calendar(uow: UnitOfWork, p: Principal, calendar: str | None):
    """The launch form's calendar: a shipped name (or 'shipped:NAME'), or 'saved:ID' of the editor."""
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
    warnings: list[str] = field(default_factory=list)  # a school year already over


def launch_preview(uow: UnitOfWork, p: Principal, *, school_year: str, index_set_code: str,
                   calendar: str | None) -> LaunchPreview:
    """What a launch would cover, from the same `launch_scope` the launch itself uses."""
    require(p, "launch_campaign")
    if p.unit_id is None:
        raise Forbidden("Tài khoản không gắn với Sở/Phòng nào nên không phát động được kế hoạch.")
    cal = chosen_calendar(uow, p, calendar)
    index_set = resolve_index_set(uow.session, index_set_code)
    require_final(index_set)
    issuer = unit_by_id(uow, p.unit_id)
    scope = launch_scope(uow, issuer, index_set, school_year.strip())
    covered, left = describe_scope(uow, scope)
    return LaunchPreview(issuer.name, f"{index_set.code} ({index_set.version})",
                         f"{cal.issuer} – năm học {cal.school_year}" if cal else "", cal.school_year if cal else None,
                         covered, left, len(scope.included), len(scope.left_out),
                         [w for w in [campaign_svc.past_year_warning(school_year.strip(), _now(None))] if w])


def advance_campaign(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str):
    campaign_for(uow, p, campaign_id)
    return campaign_svc.advance_campaign(uow, campaign_id, trigger, actor(p))


def bulk_transition(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str, *, limit: int = 2000,
                    now: datetime | None = None, selected: list[int] | None = None) -> BulkResult:
    """The bulk step of the schools list: scope here, the rest is the use-case's."""
    require_bulk_trigger(trigger)
    campaign_for(uow, p, campaign_id)
    return assessment_svc.bulk_transition(uow, actor(p), campaign_id, trigger, limit=limit, now=now,
                                          selected=selected)


# --- one school ------------------------------------------------------------------------------


SchoolPage = assessment_svc.SchoolPage


def school_page(uow: UnitOfWork, p: Principal, assessment_id: int, *, now: datetime | None = None) -> SchoolPage:
    return assessment_svc.school_page(uow, actor(p), assessment_for(uow, p, assessment_id), now=now)


def transition(uow: UnitOfWork, p: Principal, assessment_id: int, trigger: str, *, version: int | None,
               reason: str = "", criteria_notes: dict[str, str] | None = None, override_reason: str = "",
               now: datetime | None = None, grant_extra_send: bool = False) -> Stage:
    a = assessment_for(uow, p, assessment_id)  # "advance" and unknown steps: the use-case's, as for the CLI
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
    campaign_for(uow, p, campaign_id)
    authorization.check_campaign(uow.session, actor(p), "remind", campaign_id, now=now)  # before the input
    if milestone_key not in {k for k, _ in milestones(uow, campaign_id)}:
        raise InvalidInput(f"Kế hoạch số {campaign_id} không có mốc «{milestone_key}»")
    return nudge(uow.engine, campaign_id, milestone_key, _now(now), actor(p), base_url=base_url)


def remind_preview(uow: UnitOfWork, p: Principal, campaign_id: int, milestone_key: str, *,
                   now: datetime | None = None, base_url: str | None = None):
    """What «Nhắc ngay» would queue (recipients, rendered mail), nothing written."""
    campaign_for(uow, p, campaign_id)
    return preview_reminder(uow.engine, campaign_id, milestone_key, _now(now), actor(p), base_url=base_url)


def reminder_choices(uow: UnitOfWork, campaign_id: int, *, now: datetime | None = None):
    return choices(uow.session, campaign_id, _now(now))


# --- confirmations -----------------------------------------------------------------------------

# Steps a person confirms on a page that names the schools before anything is written.
CONFIRM_STEPS = ("submit_proposal", "recognise", "publish", "return_for_supplement")


def step_done_message(uow: UnitOfWork, p: Principal, assessment_id: int) -> str | None:
    """What the last step on this file did, said plainly: "Đã gửi tờ trình lần 1/3 lúc 10:42 …"."""
    return assessment_svc.step_done_message(uow, assessment_for(uow, p, assessment_id))


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
    mail: tuple[str, str, str] | None = None  # (to, subject, text) of the mail the step sends, shown first
    # Beyond the lines shown: a national step names its first lines and counts the rest (a bounded page).
    more: int = 0
    more_skipped: int = 0
    marks: list[str] = field(default_factory=list)  # papers citing the one voided/replaced: «Cần xử lý» after
    warnings: list[str] = field(default_factory=list)  # what `docs check` and the register say before numbering


def confirm_step(uow: UnitOfWork, p: Principal, assessment_id: int, trigger: str, version: int, *,
                 reason: str = "", notes: list[tuple[str, str]] | None = None) -> Confirmation:
    """`reason` and `notes` (("note:1.2", text) per criterion) are a return's: posted again on confirming."""
    a = assessment_for(uow, p, assessment_id)
    name = unit_by_id(uow, a.school_id).name
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
    if trigger == "return_for_supplement":
        c.fields["reason"] = reason
        c.repeated += [(k, v) for k, v in notes or [] if v.strip()]
        said = [f"Lý do: {reason.strip()}." if reason.strip() else "Chưa ghi lý do: hãy quay lại và ghi lý do."]
        said += [f"Tiêu chí {k[5:]}: {v.strip()}." for k, v in notes or [] if k.startswith("note:") and v.strip()]
        c.note = (f"Hồ sơ trở về giai đoạn «{Stage.SELF_ASSESSMENT.label}»; nhà trường nhận thư báo và phải bổ sung, "
                  "gửi lại tờ trình. " + " ".join(said))
    if trigger == "submit_proposal":
        cap, counts = assessment_svc.proposal_cap(uow, a)
        c.note = (f"Đây là lần gửi thứ {a.proposal_count + 1}{f' (tối đa {cap} lần)' if cap else ''}; "
                  f"{'lần gửi cuối cùng' if counts == 'last' else 'lần gửi đầu tiên'} được dùng để đánh giá. "
                  f"Sau khi gửi, điểm tự đánh giá bị khóa và {supervisor_name(uow, a.school_id)} nhận hồ sơ.")
    return c


def confirm_bulk(uow: UnitOfWork, p: Principal, campaign_id: int, trigger: str, *, limit: int = 2000,
                 selected: list[int] | None = None, back_url: str = "") -> Confirmation:
    """A dry run of a bulk step: which schools it will move and which it will skip, and why."""
    require_bulk_trigger(trigger)
    if selected is not None and not selected:
        raise InvalidInput("Chưa chọn cơ sở nào: đánh dấu các cơ sở trong danh sách rồi chọn thao tác")
    campaign_for(uow, p, campaign_id)
    rows = assessment_svc.bulk_refusals(uow, actor(p), campaign_id, trigger, selected=selected, limit=limit)
    c = Confirmation(f"Xác nhận: {STEP_BY_TRIGGER[trigger].label} (hàng loạt)", f"/campaigns/{campaign_id}/bulk",
                     {"trigger": trigger, **({"selection": "1"} if selected is not None else {})},
                     back_url=back_url or f"/campaigns/{campaign_id}")
    for aid, name, problems in rows:
        if problems:
            c.skipped.append((name, "; ".join(problems)))
        else:
            c.ready.append(name)
            if selected is not None:  # the confirmation posts exactly the schools it named as ready
                c.repeated.append(("ids", str(aid)))
    found = {aid for aid, _, _ in rows}
    c.skipped += [(f"Hồ sơ số {aid}", "không thuộc kế hoạch này") for aid in (selected or []) if aid not in found]
    return c


def confirm_disable(uow: UnitOfWork, p: Principal, account_id: int) -> Confirmation:
    """Before locking an account: whose, and that its sessions end at once."""
    require_accounts(p)
    account = account_svc.get_account(uow, account_id)
    if account_id == p.account_id:
        raise InvalidInput("Không tự khóa tài khoản của chính mình.")
    c = Confirmation("Xác nhận: khóa tài khoản", f"/accounts/{account_id}/active", {"active": "0"},
                     back_url="/accounts", noun="tài khoản",
                     note="Người này bị đăng xuất ngay và không đăng nhập được cho tới khi tài khoản được mở khóa.")
    c.ready.append(f"{account.full_name} ({account.username}){f' — {account.email}' if account.email else ''}")
    return c


def confirm_evidence_removal(uow: UnitOfWork, p: Principal, evidence_id: int) -> Confirmation:
    """Deleting a minh chứng (and its file) cannot be undone: name it, and say why not if the rulebook refuses."""
    entry = scoring_svc.find_evidence(uow, evidence_id)
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
