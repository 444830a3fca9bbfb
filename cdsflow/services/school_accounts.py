"""Accounts of every school of a campaign in one step: the head of school and the committee's
secretary, with the addresses of the unit list, each sent a link to set their own password."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import col, select

from cdsflow.kernel.errors import Forbidden, InvalidInput, NotFound
from cdsflow.kernel.text import sort_key
from cdsflow.notifications.settings import load_settings
from cdsflow.services import authorization, bulk
from cdsflow.services.accounts import NO_PASSWORD, clean_email, set_active_by_id
from cdsflow.services.campaigns import family_ids, get_campaign
from cdsflow.services.fanout import split_emails
from cdsflow.services.notices import render_link
from cdsflow.services.password_links import SETUP, link_rows, send_link
from cdsflow.storage.bulk_tables import BulkRun
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.web_tables import Account, PasswordToken
from cdsflow.workflow import events
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.events import PasswordLinksIssued
from cdsflow.workflow.roles import Role
from cdsflow.workflow.units import UnitKind

# (username suffix, role, full name prefix): two accounts per school. The secretary gets the
# school's second address when the unit list has one, else the same as the head.
SCHOOL_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    ("hieutruong", Role.SCHOOL_HEAD, "Hiệu trưởng"),
    ("thuky", Role.COMMITTEE, "Thư ký Hội đồng tự đánh giá"),
)
CHUNK = 1000  # rows per statement


@dataclass
class SchoolAccountsReport:
    """What a run did. The lists hold what this call did (or, dry run, would do); `counts` are the
    whole run's figures (a resumed run adds what the stopped attempt committed), `run_id` its
    record: the progress, and the details workbook of one line per school."""

    campaign_title: str
    schools: int = 0
    created: list[tuple[str, str, str]] = field(default_factory=list)  # (username, school, address)
    existing: list[str] = field(default_factory=list)  # usernames already there: kept as they are
    without_email: list[str] = field(default_factory=list)  # schools the unit list gives no address
    links: int = 0  # set-password mails queued
    sample_mail: tuple[str, str, str] | None = None  # (to, subject, text) shown before creating
    run_id: int | None = None
    resumed: int = 0  # schools a stopped attempt of the same run had already done
    counts: dict[str, int] = field(default_factory=dict)  # CREATED, EXISTING, NO_EMAIL, LINKS

    @property
    def accounts_created(self) -> int:
        return self.counts.get(CREATED, len(self.created))

    @property
    def accounts_existing(self) -> int:
        return self.counts.get(EXISTING, len(self.existing))

    @property
    def schools_without_email(self) -> int:
        return self.counts.get(NO_EMAIL, len(self.without_email))

    @property
    def links_queued(self) -> int:
        return self.counts.get(LINKS, self.links)


BULK_KIND = "school_accounts"
# Figures of a run (BulkRun.counts) and outcomes of a school (BulkItem.outcome).
CREATED, EXISTING, NO_EMAIL, LINKS = "accounts_created", "accounts_existing", "schools_without_email", "links"
OUTCOME_LABELS = {
    "created": "Đã tạo tài khoản",
    "existing": "Đã có từ trước, giữ nguyên",
    "partly": "Đã tạo phần còn thiếu (phần kia đã có)",
    "no_email": "Chưa có địa chỉ thư trong danh sách đơn vị: chưa tạo",
}


def school_username(code: str, suffix: str) -> str:
    """"DEMO-TH-KD" → "demo-th-kd.hieutruong": readable, unique, within the username rules."""
    base = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in code.strip().lower())
    return f"{base[:64 - len(suffix) - 1]}.{suffix}"


def create_school_accounts(uow: UnitOfWork, campaign_id: int, *, base_url: str | None = None,
                           now: datetime | None = None, dry_run: bool = False, by: str = "",
                           progress: bulk.Progress | None = None) -> SchoolAccountsReport:
    """Create what is missing and queue one set-password link per new account. Safe to run
    again (after fixing addresses in the unit list): existing accounts are left alone; a school
    without an address gets no account and is named. `dry_run`: the report of what would be
    done (and the mail), nothing written.

    Set-based (a few statements per chunk, no password hashed), and chunked (services/bulk.py):
    each chunk of schools commits on its own with its details lines and the run's progress, so
    a province's or the country's schools never hold the database for long. A run stopped half
    way (a crash, a killed process) is resumed by running the step again for the same campaign:
    the schools it committed are skipped, every account is made exactly once and each new account
    gets exactly one link. Accounts made before the crash are usable at once: each is whole
    (account, link, mail in one chunk), and an account is a school's own, so no user sees a
    half-done state that matters; the run's record says it is unfinished until its last chunk.
    Every value is right by construction: school units from the campaign, usernames from their
    codes, addresses checked here."""
    if dry_run:
        title, schools = _campaign_schools(uow, campaign_id)
        return _create(uow, title, "", schools, base_url=base_url, now=now, dry_run=True)
    job = start_school_accounts(uow, campaign_id, base_url=base_url, now=now, by=by)
    return run_school_accounts(uow, job, progress=progress)


def _campaign_schools(uow: UnitOfWork, campaign_id: int) -> tuple[str, list[Unit]]:
    campaign = get_campaign(uow, campaign_id)
    schools = uow.session.execute(
        select(Unit).join(Assessment, col(Assessment.school_id) == Unit.id)
        .where(col(Assessment.campaign_id).in_(family_ids(uow.session, campaign_id))).order_by(col(Unit.code))
    ).scalars().all()
    return campaign.title, list(schools)


def school_count(uow: UnitOfWork, campaign_id: int) -> int:
    """How many schools the campaign's accounts step runs over (a door picks how to run it)."""
    get_campaign(uow, campaign_id)
    return uow.session.scalar(select(func.count(func.distinct(Assessment.school_id)))
                              .where(col(Assessment.campaign_id).in_(family_ids(uow.session, campaign_id)))) or 0


@dataclass
class SchoolAccountsJob:
    """A started (or resumed) run, its record committed: `run_school_accounts` does its chunks,
    here or in another thread (the web runs a big one behind its progress page)."""

    job: bulk.Chunked[_Plan]
    report: SchoolAccountsReport
    now: datetime
    base_url: str


def start_school_accounts(uow: UnitOfWork, campaign_id: int, *, base_url: str | None = None,
                          now: datetime | None = None, by: str = "") -> SchoolAccountsJob:
    """The run's record for the campaign's school accounts, or the stopped run it resumes.
    Refused (nothing written) while a run of the same campaign is alive elsewhere."""
    title, schools = _campaign_schools(uow, campaign_id)
    return _start(uow, title, f"campaign:{campaign_id}", schools, base_url=base_url, now=now, by=by)


def run_school_accounts(uow: UnitOfWork, job: SchoolAccountsJob, *,
                        progress: bulk.Progress | None = None) -> SchoolAccountsReport:
    """Do a started run's chunks; the report holds the whole run's figures."""
    report = job.report
    run = bulk.run_chunks(uow, job.job, lambda u, part: _work(u, part, report, now=job.now, base_url=job.base_url),
                          progress=progress)
    report.counts = bulk.counts_of(run)
    return report


def _start(uow: UnitOfWork, title: str, subject: str, schools: list[Unit], *, base_url: str | None,
           now: datetime | None, by: str) -> SchoolAccountsJob:
    now = now or datetime.now(UTC)
    report = SchoolAccountsReport(title, schools=len(schools))
    job = bulk.start(uow, BULK_KIND, subject, title, [_plan(s) for s in schools], lambda p: p.school.code,
                     by=by, now=now)
    report.run_id, report.resumed = job.run.id, job.resumed
    return SchoolAccountsJob(job, report, now, base_url or load_settings().base_url)


@dataclass
class _Plan:
    """A school's accounts, planned: (username, role, full name, address or "") per account."""

    school: Unit
    accounts: list[tuple[str, Role, str, str]]


def _plan(school: Unit) -> _Plan:
    problems: list[str] = []
    emails = [e for e in (clean_email(a, problems) for a in split_emails(school.emails or "")) if e]
    return _Plan(school, [(school_username(school.code, suffix), role, f"{title_} {school.name}"[:200],
                           emails[min(n, len(emails) - 1)] if emails else "")
                          for n, (suffix, role, title_) in enumerate(SCHOOL_ACCOUNTS)])


def _create(uow: UnitOfWork, title: str, subject: str, schools: list[Unit], *, base_url: str | None,
            now: datetime | None, dry_run: bool, by: str = "",
            progress: bulk.Progress | None = None) -> SchoolAccountsReport:
    if dry_run:
        now = now or datetime.now(UTC)
        report = SchoolAccountsReport(title, schools=len(schools))
        _work(uow, [_plan(s) for s in schools], report, now=now, base_url=base_url or load_settings().base_url,
              write=False)
        return report
    job = _start(uow, title, subject, schools, base_url=base_url, now=now, by=by)
    return run_school_accounts(uow, job, progress=progress)


def _work(uow: UnitOfWork, plans: list[_Plan], report: SchoolAccountsReport, *, now: datetime, base_url: str,
          write: bool = True) -> list[bulk.ItemResult]:
    """One chunk: the schools' missing accounts, their links and mails (in the caller's
    transaction), and each school's line for the details."""
    wanted = [a[0] for p in plans for a in p.accounts]
    taken: set[str] = set()
    for part in _chunks(wanted, CHUNK):
        taken |= set(uow.session.execute(select(col(Account.username)).where(col(Account.username).in_(part))).scalars())
    new: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    results: list[bulk.ItemResult] = []
    for plan in plans:
        school = plan.school
        made: list[str] = []
        kept: list[str] = []
        missing = False
        for n, (username, role, full_name, email) in enumerate(plan.accounts):
            if username in taken:
                report.existing.append(username)
                kept.append(username)
                continue
            if not email:
                if n == 0:
                    report.without_email.append(school.name)
                    missing = True
                continue
            new.append({"username": username, "full_name": full_name, "role": role.value,
                        "unit_id": school.id, "password_hash": NO_PASSWORD, "active": True, "created_at": now,
                        "email": email})
            names[username] = school.name
            report.created.append((username, school.name, email))
            made.append(f"{username} → {email}")
        outcome = "no_email" if missing else "partly" if made and kept else "created" if made else "existing"
        results.append(bulk.ItemResult(
            school.code, school.name, outcome, "; ".join(made + [f"{u} (đã có)" for u in kept]),
            {CREATED: len(made), EXISTING: len(kept), NO_EMAIL: int(missing)}))
    if not write:
        if new:  # the mail the first new account would receive, its link left out (each has its own)
            sample = Account(id=0, **new[0])
            _, link = link_rows(sample, SETUP, now=now, unit_name=names[sample.username])
            to, subject, text = render_link(link, base_url)
            report.sample_mail = (to, subject, _without_link(text, base_url))
        return results
    for part in _chunks(new, CHUNK):
        made_rows = uow.session.execute(insert(Account).returning(Account), part).scalars().all()
        links = [link_rows(a, SETUP, now=now, unit_name=names[a.username]) for a in made_rows]
        uow.session.execute(insert(PasswordToken), [t for t, _ in links])
        # One event per statement: the mail is written by its handler (services/notices.py), as all mail is.
        events.publish(uow.session, PasswordLinksIssued(tuple(link for _, link in links), now, base_url))
        report.links += len(links)
    if results and new:
        results[0].counts[LINKS] = len(new)
    return results


def latest_run(uow: UnitOfWork, campaign_id: int) -> BulkRun:
    """The campaign's last school-accounts run (its progress, then its summary)."""
    run: BulkRun | None = uow.session.execute(
        select(BulkRun).where(BulkRun.kind == BULK_KIND, BulkRun.subject == f"campaign:{campaign_id}")
        .order_by(col(BulkRun.id).desc())).scalars().first()
    if run is None:
        raise NotFound(f"Chưa có lần tạo tài khoản các trường nào cho kế hoạch số {campaign_id}")
    return run


def run_report(uow: UnitOfWork, run_id: int, *, names: int = 20) -> SchoolAccountsReport:
    """A run's summary as a report: its figures, and the first `names` schools without an address
    (the rest are in the details)."""
    run = bulk.get_run(uow, run_id, BULK_KIND)
    report = SchoolAccountsReport(run.title, schools=run.total, run_id=run.id, counts=bulk.counts_of(run))
    report.without_email = [i.name for i in bulk.first_items(uow, run.id, "no_email", names)]
    return report


DETAIL_COLUMNS = ("STT", "Mã trường", "Tên trường", "Kết quả", "Tài khoản (→ địa chỉ nhận liên kết)")


def details(uow: UnitOfWork, run_id: int) -> tuple[str, Iterator[tuple[int, str, str, str, str]]]:
    """(heading, rows) of the run's details: one row per school, in the run's order."""
    run = bulk.get_run(uow, run_id, BULK_KIND)
    return bulk.heading(run), bulk.details_rows(uow, run.id, OUTCOME_LABELS)


def _without_link(text: str, base_url: str) -> str:
    """A mail's text as shown before sending: the secret link is made when the mail is written."""
    return re.sub(re.escape(base_url.rstrip("/")) + r"\S*", "[liên kết riêng của tài khoản]", text)


# --- the ward runs its own schools' accounts (rule `manage_school_accounts`) ---------------------------


@dataclass
class WardSchool:
    school: Unit
    accounts: list[Account]


def _check(uow: UnitOfWork, actor: ActorRef, school_id: int) -> None:
    authorization.check_unit(uow.session, actor, "manage_school_accounts", school_id)


def ward_schools(uow: UnitOfWork, actor: ActorRef) -> list[WardSchool]:
    """The schools under the actor's unit (every level below it), in Vietnamese order, with their accounts."""
    if actor.unit_id is None:
        raise InvalidInput("Tài khoản của bạn không gắn với đơn vị nào: không có trường để quản lý tài khoản")
    tree = select(Unit.id).where(Unit.id == actor.unit_id).cte("ward", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.supervisor_id == tree.c.id))
    schools = list(uow.session.execute(select(Unit).where(col(Unit.id).in_(select(tree.c.id)),
                                                          Unit.kind == UnitKind.SCHOOL.value)).scalars())
    schools.sort(key=lambda u: sort_key(u.name))
    accounts: dict[int, list[Account]] = {}
    for a in uow.session.execute(select(Account).where(col(Account.unit_id).in_([s.id for s in schools]))
                                 .order_by(Account.username)).scalars():
        accounts.setdefault(a.unit_id, []).append(a)
    return [WardSchool(s, accounts.get(s.id, [])) for s in schools]


def create_for_schools(uow: UnitOfWork, actor: ActorRef, school_ids: list[int], *, base_url: str | None = None,
                       now: datetime | None = None, dry_run: bool = False) -> SchoolAccountsReport:
    """The ward's accounts for the schools it chose (or dry_run: what would be made, and the mail)."""
    if not school_ids:
        raise InvalidInput("Chưa chọn trường nào: đánh dấu các trường cần tạo tài khoản")
    schools = list(uow.session.execute(select(Unit).where(col(Unit.id).in_(school_ids))).scalars())
    if len(schools) != len(set(school_ids)):
        raise NotFound("Không tìm thấy một số trường đã chọn")
    for school in schools:
        _check(uow, actor, school.id)
    schools.sort(key=lambda u: sort_key(u.name))
    unit = uow.session.get(Unit, actor.unit_id) if actor.unit_id else None
    return _create(uow, f"Các trường của {unit.name if unit else 'đơn vị'}", f"unit:{actor.unit_id}", schools,
                   base_url=base_url, now=now, dry_run=dry_run, by=actor.name)


def school_account(uow: UnitOfWork, actor: ActorRef, account_id: int) -> Account:
    """An account of one of the actor's schools (refused otherwise, by the rulebook)."""
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Không tìm thấy tài khoản số {account_id}")
    school = uow.session.get(Unit, account.unit_id) if account.unit_id else None
    if school is None or school.kind != UnitKind.SCHOOL.value:
        raise Forbidden("Đây không phải tài khoản của một cơ sở giáo dục")
    _check(uow, actor, school.id)
    return account


def link_preview(uow: UnitOfWork, actor: ActorRef, account_id: int, *, base_url: str | None = None,
                 now: datetime | None = None) -> tuple[Account, tuple[str, str, str]]:
    """(the account, (to, subject, text)) of the set-password mail the school would receive."""
    account = school_account(uow, actor, account_id)
    if not account.email:
        raise InvalidInput(f"Tài khoản «{account.username}» chưa có địa chỉ thư: không gửi được liên kết.")
    base_url = base_url or load_settings().base_url
    school = uow.session.get(Unit, account.unit_id)
    assert school is not None  # school_account checked it
    _, link = link_rows(account, SETUP, now=now or datetime.now(UTC), unit_name=school.name)
    to, subject, text = render_link(link, base_url)
    return account, (to, subject, _without_link(text, base_url))


def send_school_link(uow: UnitOfWork, actor: ActorRef, account_id: int, *, base_url: str | None = None,
                     now: datetime | None = None) -> Account:
    """A new set-password link to the school account's address (its older unused links void)."""
    account = school_account(uow, actor, account_id)
    unit = uow.session.get(Unit, account.unit_id)
    assert unit is not None  # school_account found a school account: its unit_id is a foreign key
    send_link(uow, account, SETUP, base_url=base_url, now=now, unit_name=unit.name)
    uow.commit()
    return account


def set_school_account_active(uow: UnitOfWork, actor: ActorRef, account_id: int, active: bool) -> Account:
    """Lock (ending its sessions) or unlock one of the actor's schools' accounts."""
    account = school_account(uow, actor, account_id)
    set_active_by_id(uow, account.id, active)
    return account


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
