"""Calendar costs: validating the shipped files, planning reminders, working-day arithmetic.

Run from the repository root: .venv/bin/python -m bench.bench_calendar  (prints figures; never a test)
The naive baseline builds the `holidays` table on every day lookup, which is what a
straightforward `date in holidays.country_holidays("VN")` per call does.
"""
from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import holidays

from cdsflow.calendars import timeutil
from cdsflow.calendars.catalog import shipped_calendars
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.reminders import reminder_points
from cdsflow.calendars.validator import check_calendar


def _median(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _naive_is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in holidays.country_holidays("VN", years=d.year)


def main() -> None:
    files = shipped_calendars()
    t = _median(lambda: [check_calendar(f) for f in files])
    print(f"validate {len(files)} shipped calendars: {t * 1000:.1f} ms ({t / len(files) * 1000:.2f} ms per file)")

    milestones = [m for f in files for m in load_calendar(f).milestones]
    t = _median(lambda: [reminder_points(m) for m in milestones])
    print(f"reminder_points for {len(milestones)} milestones: {t * 1000:.2f} ms "
          f"({t / len(milestones) * 1e6:.0f} µs per milestone)")

    days = [date(2024, 9, 1) + timedelta(days=i) for i in range(365)]
    fast = _median(lambda: sum(timeutil.is_working_day(d) for d in days))
    naive = _median(lambda: sum(_naive_is_working_day(d) for d in days), runs=3)
    assert sum(timeutil.is_working_day(d) for d in days) == sum(_naive_is_working_day(d) for d in days)
    print(f"working days of a school year (365 lookups): {fast * 1000:.2f} ms cached vs "
          f"{naive * 1000:.1f} ms naive (x{naive / fast:.0f})")


if __name__ == "__main__":
    main()
