"""Launching the same campaign at the same instant makes one campaign; the others are told why."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, func, select

from cdsflow.kernel.errors import InvalidInput
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Campaign
from tests.e2e.cli import ROOT, Cli
from tests.factories import unit_rows

pytestmark = pytest.mark.faults

UNITS = ROOT / "cdsflow" / "demo" / "units.csv"
RACERS = 6  # the audit launched six at once


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        campaigns = conn.execute(select(func.count()).select_from(Campaign)).scalar_one()
        assessments = conn.execute(select(func.count()).select_from(Assessment)).scalar_one()
    engine.dispose()
    return campaigns, assessments


def test_six_cli_launches_at_once_make_one_campaign(tmp_path, database_url):
    cli = Cli(tmp_path, database_url)
    cli("init")
    cli("units", "import", str(UNITS))
    args = [sys.executable, "-m", "cdsflow", "campaign", "launch", "--issuer", "DEMO-PGD-BD", "--year", "2024-2025",
            "--index-set", "4725", "--calendar", "hanoi/ba-dinh-2024-2025"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(RACERS)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    won = [r for r in results if r[0] == 0]
    lost = [r for r in results if r[0] != 0]
    assert len(won) == 1, results
    for code, _out, err in lost:
        assert code == 2 and "đã có kế hoạch" in err and "Traceback" not in err, err
    assert _counts(database_url) == (1, 26)


def test_threads_launching_together_make_one_campaign(engine):
    with UnitOfWork(engine) as uow:
        import_units(uow, unit_rows())
    gate = threading.Barrier(RACERS)
    outcomes: list[object] = []

    def launch():
        with UnitOfWork(engine) as uow:
            gate.wait()
            try:
                outcomes.append(launch_campaign(uow, issuer_code="SGD", school_year="2024-2025",
                                                spawn_children=True).campaign_id)
            except InvalidInput as err:
                outcomes.append(err)

    threads = [threading.Thread(target=launch) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ids = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, InvalidInput)]
    assert len(ids) == 1 and len(refused) == RACERS - 1, outcomes
    assert all("đã có kế hoạch" in e.message for e in refused)
    with UnitOfWork(engine) as uow:
        parents = uow.session.execute(select(func.count()).select_from(Campaign)
                                      .where(Campaign.parent_id.is_(None))).scalar_one()
        twice = uow.session.execute(select(Assessment.school_id).group_by(Assessment.school_id)
                                    .having(func.count() > 1)).all()
    assert parents == 1 and twice == []  # no school has two assessments
