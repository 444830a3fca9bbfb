"""Issue 24 at the shape of a Sở: one plan per ward, fanned out together, ticks that cost what is due,
relative deadlines resolved once per anchor day; each reminder still written and sent exactly once."""
from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cdsflow.app import cli
from cdsflow.calendars.model import Milestone, RelativeRule, ReminderPolicy
from cdsflow.kernel.stages import Actor, Stage
from cdsflow.scheduler.ticker import run_due_reminders
from cdsflow.services import deadlines, fanout
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.fanout import plan_reminder
from cdsflow.storage.collation import vi_order
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.notifications_tables import OutboxMessage, ReminderRun, SinkMessage
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign, Unit
from tests.factories import calendar, load_units
from tests.integration.test_mail_delivery import free_port
from tests.integration.test_mail_support import seed_campaign

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAUNCHED = datetime(2025, 1, 6, 8, 0, tzinfo=VN)
# "hoi-dong" is due 31/1/2025 (in Tết); its overdue-2 point is Tuesday 4/2 at 07:00: every school
# is reminded, every ward gets its digest.
FIRE = datetime(2025, 2, 4, 7, 0, tzinfo=VN)
runner = CliRunner()


def reminding(relative: bool = False):
    """The test calendar with cdsflow's default reminders on every milestone."""
    cal = calendar()
    milestones = [dataclasses.replace(m, reminders=ReminderPolicy()) for m in cal.milestones]
    if relative:
        milestones.append(Milestone("nop-lai", "Gửi lại trong 5 ngày làm việc sau khi bị trả", Actor.SCHOOL,
                                    Stage.PROPOSAL, None, relative=RelativeRule(5, event="returned"),
                                    reminders=ReminderPolicy()))
    return dataclasses.replace(cal, milestones=tuple(milestones))


def sở_with_wards(engine, wards: int, schools: int, *, relative: bool = False) -> list[int]:
    """Units through the import service, then the Sở's plan launched with one child plan per ward."""
    metadata.create_all(engine)
    load_units(engine, n_schools_per_bureau=schools, bureaus=wards)
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=reminding(relative),
                                 spawn_children=True, now=LAUNCHED)
    return [result.campaign_id, *result.child_ids]


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    cli._register()
    url = f"sqlite:///{tmp_path / 'cdsflow.db'}"
    engine = make_engine(url)
    sở_with_wards(engine, wards=3, schools=4)
    for k, v in {"COLUMNS": "200", "DATABASE_URL": url, "CDSFLOW_SMTP_PORT": str(free_port()),
                 "CDSFLOW_FANOUT_CHUNK": "3"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("CDSFLOW_SMTP_HOST", raising=False)
    monkeypatch.chdir(tmp_path)
    yield engine
    engine.dispose()


def test_a_crash_between_chunks_then_a_rerun_sends_each_reminder_once(cli_env, monkeypatch):
    engine = cli_env
    with Session(engine) as s:
        schools = dict(s.execute(select(Unit.emails, Unit.supervisor_id).join(Assessment, Assessment.school_id == Unit.id)).all())
        # The three wards, and the Sở for the upper-secondary school it supervises itself.
        supervisors = dict(s.execute(select(Unit.id, Unit.emails).where(Unit.id.in_(set(schools.values())))).all())
    assert len(schools) >= 12 and len(supervisors) == 4
    written = real = fanout._write_chunk

    def power_cut(engine, part):  # the first chunk of 3 rows is committed, then the process dies
        monkeypatch.setattr(fanout, "_write_chunk", crashed)
        return real(engine, part)

    def crashed(engine, part):
        raise RuntimeError("mất điện")

    monkeypatch.setattr(fanout, "_write_chunk", power_cut)
    with freeze_time(FIRE, tick=True):
        first = runner.invoke(cli.app, ["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "vòng lập lịch lỗi" in first.output and "mất điện" in first.output
    with Session(engine) as s:
        assert s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) == 3
        assert s.scalars(select(ReminderRun)).all() == []  # nothing recorded: the points are still due
    monkeypatch.setattr(fanout, "_write_chunk", written)
    with freeze_time(FIRE + timedelta(minutes=5), tick=True):
        again = runner.invoke(cli.app, ["worker", "--once"])
    assert again.exit_code == 0, again.output
    assert "lỗi" not in again.output and "Nhắc hạn hoi-dong (overdue-2)" in again.output
    with Session(engine) as s:
        received = Counter(r for (r,) in s.execute(select(SinkMessage.rcpt_tos)))
        kinds = Counter(k for (k,) in s.execute(select(OutboxMessage.kind)))
        runs = s.execute(select(ReminderRun.offset_key, ReminderRun.written, ReminderRun.note)).all()
    # Every school of every ward once, every ward's digest once: nothing lost, nothing twice.
    assert received == Counter({**{e: 1 for e in schools}, **{e: 1 for e in supervisors.values()}})
    assert kinds == Counter({"reminder": len(schools), "overdue_digest": 4})
    ran = [(k, n) for k, n, note in runs if not note]
    # One point per plan with schools (3 wards, the Sở's own); the rerun wrote all but the first chunk.
    assert sorted(k for k, _ in ran) == ["overdue-2"] * 4 and sum(n for _, n in ran) == len(schools) + 4 - 3
    # The earlier points of the milestone passed before the worker ever ran: folded into it.
    assert Counter(note for _, _, note in runs if note) == Counter({"gộp vào lượt overdue-2": 12})


def _statements(engine, fn) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_tick_with_nothing_due_costs_the_same_over_3_or_30_ward_plans(tmp_path):
    counts, first = {}, {}
    quiet = datetime(2025, 1, 7, 9, 0, tzinfo=VN)  # the day after the launch: the first point is 16/1
    for wards in (3, 30):
        engine = make_engine(f"sqlite:///{tmp_path / f'{wards}.db'}")
        campaigns = sở_with_wards(engine, wards=wards, schools=1)
        assert len(campaigns) == wards + 1
        # The launch said when each milestone first has work: the very first tick reads nothing more.
        first[wards] = _statements(engine, lambda e=engine: run_due_reminders(e, quiet))
        # One point per ward, and the Sở's own plan (the upper-secondary school it supervises).
        assert len(run_due_reminders(engine, FIRE).ran) == wards + 1
        counts[wards] = _statements(engine, lambda e=engine: run_due_reminders(e, FIRE + timedelta(minutes=1)))
        # The next point (overdue-4, Thursday 6/2) is found again when it comes, once per ward.
        assert len(run_due_reminders(engine, datetime(2025, 2, 6, 7, 0, tzinfo=VN)).ran) == wards + 1
        engine.dispose()
    assert counts[3] == counts[30] == first[3] == first[30] == 1  # one indexed range, nothing else


def test_relative_deadlines_in_bulk_equal_the_school_by_school_ones(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'rel.db'}")
    campaigns = sở_with_wards(engine, wards=2, schools=5, relative=True)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Assessment.id).order_by(Assessment.id)))
        # Returns on a few days, some either side of midnight in Hà Nội (a late-evening return and
        # one just after midnight fall on different days though an hour apart).
        times = [datetime(2025, 3, 20, 23, 30, tzinfo=VN), datetime(2025, 3, 21, 0, 30, tzinfo=VN),
                 datetime(2025, 3, 21, 9, 15, tzinfo=VN), datetime(2025, 3, 28, 16, 0, tzinfo=VN)]
        returned = ids[::2]
        conn.execute(update(Assessment).where(Assessment.id.in_(returned)).values(state="self_assessment"))
        conn.execute(insert(AssessmentEvent), [
            {"assessment_id": aid, "at": times[i % len(times)], "actor": "x", "trigger": "return_for_supplement",
             "from_state": "external_review", "to_state": "self_assessment"} for i, aid in enumerate(returned)])
    with Session(engine) as s:
        bulk = deadlines.deadlines_of(s, campaigns)
        assert sorted(bulk) == ids
        for aid in ids:
            a = s.get(Assessment, aid)
            rows = deadlines.milestones(s, a.campaign_id)
            one = deadlines.resolve_for(rows, deadlines.event_times(s, [aid]).get(aid, {}),
                                        s.get(Campaign, a.campaign_id).launched_at)
            assert bulk[aid] == one
        own = {aid: bulk[aid]["nop-lai"] for aid in returned}
        assert own[returned[0]] != own[returned[1]]  # 23:30 and 00:30 count from different days
        assert own[returned[1]] == own[returned[2]]
        ward = campaigns[1]
        in_ward = list(s.scalars(select(Assessment.id).where(Assessment.campaign_id == ward)))
        assert deadlines.superseded(s, ward, Stage.PROPOSAL, in_ward) == set(in_ward) & set(returned)
    engine.dispose()


NAMES = ["Trường Tiểu học Đông Hải", "trường tiểu học đông hải", "Trường Tiểu học Dương Kinh", "Trường Tiểu học Số 10",
         "Trường Tiểu học Số 2", "Trường Mầm non Ánh Dương", "Trường Mầm non Anh Đào", "Trường THCS Ỷ Lan",
         "Trường THCS Y Lan", "Trường Tiểu học Đông Hải"]


def test_reminders_keep_the_vietnamese_order_of_the_database(engine):
    """SQLite's rows are sorted in Python by the vi collation's own key: the same order as ORDER BY … COLLATE vi."""
    seeded = seed_campaign(engine, ["self_assessment"] * len(NAMES))
    with Session(engine) as s:
        for sid, name in zip(seeded.school_ids, NAMES, strict=True):
            s.execute(update(Unit).where(Unit.id == sid).values(name=name))
        s.commit()
        expected = list(s.scalars(select(Unit.id).where(Unit.id.in_(seeded.school_ids))
                                  .order_by(Unit.supervisor_id, vi_order(Unit.name), Unit.id)))
        plan = plan_reminder(s, seeded.campaign_id, "to_trinh", "before-3", datetime(2025, 3, 26, 7, 0, tzinfo=VN))
    assert [r["unit_id"] for r in plan.rows if r["kind"] == "reminder"] == expected
