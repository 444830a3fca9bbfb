"""Accounts of every school of a campaign in one step: the head of school and the committee's
secretary, with the addresses of the unit list, each sent a link to set their own password."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from cdsflow.services.accounts import NO_PASSWORD, clean_email
from cdsflow.services.campaigns import family_ids, get_campaign
from cdsflow.services.fanout import split_emails
from cdsflow.services.password_links import SETUP, link_rows
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Unit
from cdsflow.storage.web_tables import Account, PasswordToken
from cdsflow.workflow import events
from cdsflow.workflow.events import PasswordLinksIssued
from cdsflow.workflow.roles import Role

# (username suffix, role, full name prefix): two accounts per school. The secretary gets the
# school's second address when the unit list has one, else the same as the head.
SCHOOL_ACCOUNTS: tuple[tuple[str, Role, str], ...] = (
    ("hieutruong", Role.SCHOOL_HEAD, "Hiệu trưởng"),
    ("thuky", Role.COMMITTEE, "Thư ký Hội đồng tự đánh giá"),
)
CHUNK = 1000  # rows per statement


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
    are left alone; a school without an address gets no account and is named.

    Set-based (a few statements per thousand accounts, no password hashed): a province's or
    the country's schools in one go. Every value is right by construction: school units from
    the campaign, usernames from their codes, addresses checked here."""
    now = now or datetime.now(UTC)
    campaign = get_campaign(uow, campaign_id)
    report = SchoolAccountsReport(campaign.title)
    schools = uow.session.execute(
        select(Unit).join(Assessment, col(Assessment.school_id) == Unit.id)
        .where(col(Assessment.campaign_id).in_(family_ids(uow.session, campaign_id))).order_by(col(Unit.code))
    ).scalars().all()
    report.schools = len(schools)
    wanted = [school_username(s.code, suffix) for s in schools for suffix, _, _ in SCHOOL_ACCOUNTS]
    taken: set[str] = set()
    for part in _chunks(wanted, CHUNK):
        taken |= set(uow.session.execute(select(col(Account.username)).where(col(Account.username).in_(part))).scalars())
    new: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for school in schools:
        problems: list[str] = []
        emails = [e for e in (clean_email(a, problems) for a in split_emails(school.emails or "")) if e]
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
            new.append({"username": username, "full_name": f"{title} {school.name}"[:200], "role": role.value,
                        "unit_id": school.id, "password_hash": NO_PASSWORD, "active": True, "created_at": now,
                        "email": email})
            names[username] = school.name
            report.created.append((username, school.name, email))
    for part in _chunks(new, CHUNK):
        made = uow.session.execute(insert(Account).returning(Account), part).scalars().all()
        links = [link_rows(a, SETUP, now=now, unit_name=names[a.username]) for a in made]
        uow.session.execute(insert(PasswordToken), [t for t, _ in links])
        # One event per chunk: the mail is written by its handler (services/notices.py), as all mail is.
        events.publish(uow.session, PasswordLinksIssued(tuple(link for _, link in links), now, base_url))
        report.links += len(links)
    uow.commit()
    return report


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
