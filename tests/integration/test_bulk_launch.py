"""A Sở's launch in chunks (issue 24, item 5): whole or not at all as users see it. Stopped half way
(a failure after a chunk, or a killed process), its campaigns stay drafts that nobody may act on;
launching again, here from the real `cdsflow` command, finishes it: every school opened exactly
once with one history line, the children as they were, and the campaigns launched. On the web a
province's launch runs behind a progress page."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from cdsflow.app.web import pages
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import bulk
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services.units import import_units
from cdsflow.storage.bulk_tables import BulkRun
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign
from tests.e2e.cli import ROOT, Cli
from tests.factories import calendar, unit_rows
from tests.web_support import build_world


def _units(tmp_path) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    rows = unit_rows(n_schools_per_bureau=12, bureaus=3)
    with UnitOfWork(engine) as uow:
        import_units(uow, rows)
    engine.dispose()
    return url, sum(1 for _, r in rows if r["kind"] == "Trường")


def _launch(uow: UnitOfWork) -> campaign_svc.LaunchResult:
    return campaign_svc.launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", calendar=calendar(),
                                        spawn_children=True, actor="Lê Thu Hà")


def _whole(engine, result: campaign_svc.LaunchResult) -> None:
    with UnitOfWork(engine) as uow:
        s = uow.session
        family = [result.campaign_id, *result.child_ids]
        statuses = set(s.scalars(select(Campaign.status).where(Campaign.id.in_(family))))
        assert statuses == {"launched"} and len(family) == 4  # the Sở's and one per ward
        files = s.execute(select(Assessment.school_id, func.count()).where(Assessment.campaign_id.in_(family))
                          .group_by(Assessment.school_id)).all()
        assert len(files) == result.assessments and all(n == 1 for _, n in files)
        lines = s.execute(select(AssessmentEvent.assessment_id, func.count()).where(AssessmentEvent.trigger == "launch")
                          .group_by(AssessmentEvent.assessment_id)).all()
        assert len(lines) == result.assessments and all(n == 1 for _, n in lines)
        assert s.scalars(select(BulkRun.status).where(BulkRun.kind == "launch")).all() == [bulk.DONE]


def test_a_launch_that_fails_after_chunk_2_is_drafts_then_launching_again_finishes_it(tmp_path, monkeypatch):
    url, _ = _units(tmp_path)
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:  # the same province launched in one go: what the chunks must give
        reference = _launch(uow)
    monkeypatch.setattr(campaign_svc, "LAUNCH_FIRST_CHUNK", 5)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 5)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)
    engine.dispose()
    (tmp_path / "again").mkdir()
    url, _ = _units(tmp_path / "again")
    engine = make_engine(url)
    monkeypatch.setattr(bulk, "after_chunk", lambda n: (_ for _ in ()).throw(RuntimeError("mất điện"))
                        if n == 2 else None)
    with pytest.raises(RuntimeError), UnitOfWork(engine) as uow:
        _launch(uow)
    with UnitOfWork(engine) as uow:
        assert set(uow.session.scalars(select(Campaign.status))) == {"draft"}  # nobody sees a half launch
        assert uow.session.scalar(select(func.count()).select_from(Assessment)) == 10
    monkeypatch.setattr(bulk, "after_chunk", None)
    with UnitOfWork(engine) as uow:
        result = _launch(uow)
    assert (result.assessments, len(result.child_ids), result.left_out) == \
           (reference.assessments, len(reference.child_ids), reference.left_out)
    _whole(engine, result)
    with pytest.raises(InvalidInput, match="đã có kế hoạch"), UnitOfWork(engine) as uow:
        _launch(uow)  # launched: a new launch is refused as before
    engine.dispose()


KILLED = """
import os
from cdsflow.app import wiring
from cdsflow.services import bulk, campaigns
from tests.factories import calendar
campaigns.LAUNCH_FIRST_CHUNK = bulk.MAX_CHUNK = 4
bulk.after_chunk = lambda n: os._exit(9) if n == 3 else None  # killed: nothing cleans up
with wiring.uow() as uow:
    campaigns.launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", spawn_children=True)
"""


def test_a_killed_launch_is_finished_by_the_same_cdsflow_campaign_launch(tmp_path):
    url, _ = _units(tmp_path)
    cli = Cli(tmp_path, url)
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED)], cwd=ROOT, env=cli.env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr
    out = cli("campaign", "launch", "--issuer", "SGD", "--year", "2024-2025", "--children").stdout
    engine = make_engine(url)
    with UnitOfWork(engine) as uow:
        parent = uow.session.scalars(select(Campaign).where(Campaign.parent_id.is_(None))).one()
        children = tuple(uow.session.scalars(select(Campaign.id).where(Campaign.parent_id == parent.id)
                                             .order_by(Campaign.id)))
        opened = uow.session.scalar(select(func.count()).select_from(Assessment))
    assert f"Đã phát động kế hoạch số {parent.id}: {opened} cơ sở giáo dục, 3 kế hoạch con." in out
    _whole(engine, campaign_svc.LaunchResult(parent.id, children, opened))
    engine.dispose()


def test_the_web_opens_a_provinces_files_behind_a_progress_page_and_finishes_a_stopped_launch(tmp_path,
                                                                                             monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    metadata.create_all(engine)
    world = build_world(engine, tmp_path)
    monkeypatch.setattr(pages, "INLINE_LAUNCH", 0)  # this small province as a big one runs
    monkeypatch.setattr(campaign_svc, "LAUNCH_FIRST_CHUNK", 2)
    monkeypatch.setattr(bulk, "MAX_CHUNK", 2)
    monkeypatch.setattr(bulk, "PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(bulk, "after_chunk", lambda n: (_ for _ in ()).throw(RuntimeError("máy chủ khởi động lại"))
                        if n == 2 else None)
    dept = world.client("dept")
    form = {"csrf_token": dept.headers.pop("X-CSRF-Token"), "school_year": "2025-2026", "index_set": "4725",
            "spawn_children": "true"}
    started = dept.post("/campaigns", data=form)
    assert started.status_code == 303 and started.headers["location"].endswith("/launch"), started.text
    cid = int(started.headers["location"].split("/")[2])
    page = dept.get(started.headers["location"]).text
    total = page.split("đã mở hồ sơ cho 4/")[1].split(" ")[0]
    assert "dừng vì lỗi" in page and "máy chủ khởi động lại" in page and "Phát động tiếp" in page
    with UnitOfWork(engine) as uow:
        assert uow.session.get(Campaign, cid).status == "draft"  # nobody acts on a half launch
    monkeypatch.setattr(bulk, "after_chunk", None)
    again = dept.post("/campaigns", data={k: v for k, v in form.items() if k != "spawn_children"})
    assert again.headers["location"] == f"/campaigns/{cid}/launch"  # the same launch, finished
    page = dept.get(again.headers["location"]).text
    assert f"đã mở hồ sơ cho {total}/{total}" in page and f"Đã phát động kế hoạch số {cid}" in page
    assert "Phát động tiếp" not in page and 'http-equiv="refresh"' not in page
    with UnitOfWork(engine) as uow:
        assert {c.status for c in uow.session.scalars(select(Campaign).where(
            (Campaign.id == cid) | (Campaign.parent_id == cid)))} == {"launched"}
        files = uow.session.execute(select(Assessment.school_id, func.count()).join(Campaign).where(
            Campaign.school_year == "2025-2026").group_by(Assessment.school_id)).all()
    assert len(files) == int(total) and all(n == 1 for _, n in files)
    assert world.client("officer2").get(f"/campaigns/{cid}/launch").status_code == 404  # another ward's officer
    engine.dispose()
