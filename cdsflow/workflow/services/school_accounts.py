"""Accounts of every school of a campaign in one step: the head of school and the committee's
secretary, with the addresses of the unit list, each sent a link to set their own password."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select

from cdsflow.notifications.fanout import split_emails
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.web_tables import Account
from cdsflow.workflow.roles import Role
from cdsflow.workflow.services import password_links
from cdsflow.workflow.services.accounts import create_account
from cdsflow.workflow.services.campaigns import family_ids, get_campaign

# (username suffix, role, full name prefix): two accounts per school. The secretary gets the
# school's second address when the unit list has one, else the same as the head.
SCHOOL_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    ("hieutruong", Role.SCHOOL_HEAD, "Hiệu trưởng"),
    ("thuky", Role.COMMITTEE, "Thư ký Hội đồng tự đánh giá"),
)


@dataclass
class SchoolAccountsReport:
    campaign_title: str
    schools: int = 0
    created: list[tuple[str, str, str]] = field(default_factory=list)  # (username, school, address)
    existing: list[str] = field(default_factory=list)  # usernames already there: kept as they are
    without_email: list[str] = field(default_factory=list)  # schools the unit list gives no address
    links: int = 0  # set-password mails queued


def school_username(code: str, suffix: str) -> str:
    """"DEMO-TH-KD" → "demo-th-kd.hieutruong": readable, unique, within the username rules."""
    base = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in code.strip().lower())
    return f"{base[:64 - len(suffix) - 1]}.{suffix}"


def create_school_accounts(uow: UnitOfWork, campaign_id: int, *, base_url: str | None = None,
                           now: datetime | None = None) -> SchoolAccountsReport:
    """Create what is missing, in one transaction, and queue one set-password link per new
    account. Safe to run again (after fixing addresses in the unit list): existing accounts
    are left alone; a school without an address gets no account and is named."""
    now = now or datetime.now(timezone.utc)
    campaign = get_campaign(uow, campaign_id)
    report = SchoolAccountsReport(campaign.title)
    schools = uow.session.execute(
        select(Unit).join(Assessment, Assessment.school_id == Unit.id)
        .where(Assessment.campaign_id.in_(family_ids(uow.session, campaign_id))).order_by(Unit.code)
    ).scalars().all()
    report.schools = len(schools)
    wanted = {school_username(s.code, suffix) for s in schools for suffix, _, _ in SCHOOL_ACCOUNTS}
    taken = set(uow.session.execute(select(Account.username).where(Account.username.in_(wanted))).scalars())
    for school in schools:
        emails = split_emails(school.emails or "")
        for n, (suffix, role, title) in enumerate(SCHOOL_ACCOUNTS):
            username = school_username(school.code, suffix)
            if username in taken:
                report.existing.append(username)
                continue
            if not emails:
                if n == 0:
                    report.without_email.append(school.name)
                continue
            email = emails[min(n, len(emails) - 1)]
            account = create_account(uow, username=username, full_name=f"{title} {school.name}", role=role.value,
                                     password=None, unit_code=school.code, email=email, now=now, commit=False)
            report.links += password_links.send_link(uow, account, password_links.SETUP, base_url=base_url,
                                                     now=now, unit_name=school.name)
            report.created.append((username, school.name, email))
    uow.commit()
    return report
