"""Pure rules of the reminder pipeline: which database errors are waited out, how long mail
stays useful, which missed reminder points run after a downtime."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exc

from cdsflow.notifications.dbretry import backoff, is_transient
from cdsflow.notifications.settings import load_settings
from cdsflow.scheduler.ticker import select_due, still_useful
from cdsflow.services.fanout import useful_until
from cdsflow.services.planner import PlannedReminder

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = datetime(2025, 3, 31, 23, 59, tzinfo=VN)
SETTINGS = load_settings({})


class _PgError(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _op(orig: Exception) -> exc.OperationalError:
    return exc.OperationalError("UPDATE outbox_message …", {}, orig)


def test_locks_lost_connections_and_serialization_failures_are_transient():
    assert is_transient(_op(sqlite3.OperationalError("database is locked")))
    assert is_transient(_op(_PgError("could not serialize access due to concurrent update", "40001")))
    assert is_transient(_op(_PgError("deadlock detected", "40P01")))
    assert is_transient(_op(_PgError("terminating connection due to administrator command", "57P01")))
    assert is_transient(_op(_PgError("server closed the connection unexpectedly", "08006")))
    lost = exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_transient(lost)


def test_real_mistakes_are_not_retried():
    assert not is_transient(_op(sqlite3.OperationalError("no such table: outbox_message")))
    assert not is_transient(exc.IntegrityError("INSERT …", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))
    assert not is_transient(ValueError("naive datetime"))


def test_backoff_doubles_and_is_capped():
    assert [backoff(i, base=1, cap=10) for i in range(6)] == [1, 2, 4, 8, 10, 10]


def test_a_reminder_is_useful_until_its_deadline_an_overdue_one_for_the_grace():
    before = datetime(2025, 3, 26, 7, 0, tzinfo=VN)
    assert useful_until(DUE, before, SETTINGS) == DUE
    after = datetime(2025, 4, 2, 7, 0, tzinfo=VN)
    assert useful_until(DUE, after, SETTINGS) == after + timedelta(hours=48)
    assert useful_until(DUE, after, replace(SETTINGS, reminder_grace_hours=6)) == after + timedelta(hours=6)


def _p(offset: str, day: int, overdue: bool = False, milestone: str = "to_trinh") -> PlannedReminder:
    at = datetime(2025, 3, day, 7, 0, tzinfo=VN) if day <= 31 else datetime(2025, 4, day - 31, 7, 0, tzinfo=VN)
    return PlannedReminder(f"remind:1:{milestone}:{offset}", 1, milestone, offset, at, overdue, DUE)


POINTS = [_p("before-7", 20), _p("before-3", 26), _p("before-1", 28), _p("overdue-2", 33, True),
          _p("before-3", 24, milestone="hoi_dong")]


def test_missed_points_of_one_milestone_coalesce_into_the_latest():
    now = datetime(2025, 3, 28, 9, 0, tzinfo=VN)
    run, folded, late = select_due(POINTS, {("to_trinh", "before-7")}, now, SETTINGS)
    assert sorted(p.offset_key + "@" + p.milestone_key for p in run) == ["before-1@to_trinh", "before-3@hoi_dong"]
    assert [p.offset_key for p in folded] == ["before-3"] and late == []


def test_points_already_run_or_ahead_do_not_run():
    now = datetime(2025, 3, 26, 9, 0, tzinfo=VN)
    done = {("to_trinh", "before-7"), ("to_trinh", "before-3"), ("hoi_dong", "before-3")}
    assert select_due(POINTS, done, now, SETTINGS) == ([], [], [])


def test_a_point_past_its_usefulness_is_not_run():
    # Back on 10 April: overdue-2 (2 April) is older than the 48 h grace.
    now = datetime(2025, 4, 10, 9, 0, tzinfo=VN)
    run, folded, late = select_due(POINTS[:4], set(), now, SETTINGS)
    assert run == [] and [p.offset_key for p in late] == ["overdue-2"] and len(folded) == 3
    assert still_useful(POINTS[3], datetime(2025, 4, 3, 9, 0, tzinfo=VN), SETTINGS)
    assert not still_useful(POINTS[1], datetime(2025, 4, 1, 0, 0, tzinfo=VN), SETTINGS)  # past the deadline
