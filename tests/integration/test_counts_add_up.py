"""Issue 26, item 6: counts that add up. "Chưa đạt mức" is a school whose finished score reached no
level, never one that was not scored; the demo's own figures are read from its data."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from cdsflow.services import result_lines
from cdsflow.services.demo import BUREAU, build_demo
from cdsflow.services.listing import ListQuery, school_list
from cdsflow.storage.assessment_tables import AssessmentScore
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Campaign, Unit
from tests.factories import complete_self_assessment
from tests.web_support import build_world


def test_below_level_one_counts_only_schools_that_were_scored(engine, tmp_path):
    w = build_world(engine, tmp_path)
    complete_self_assessment(engine, w.p1s1, strength=0.0)
    complete_self_assessment(engine, w.p1s2, strength=0.9)  # finished, with a level
    with UnitOfWork(engine) as uow:  # P1S1's finished score reached no level in group 1 (4725 gives level 1
        # for 0 points; a failed required item is what leaves a school below level 1)
        uow.session.execute(update(AssessmentScore).where(AssessmentScore.assessment_id == w.p1s1)
                            .values(group1_level=None))
        result_lines.refresh(uow.session, [w.p1s1])
        uow.commit()
    with UnitOfWork(engine) as uow:
        parent = uow.session.get(Campaign, w.campaign_id).parent_id
        page = school_list(uow.session, parent, ListQuery(level1="0"))
        assert [r.code for r in page.rows] == ["P1S1"] and page.total == 1
        assert school_list(uow.session, parent, ListQuery()).total == 7  # the others exist, unscored
    shown = w.client("dept").get(f"/campaigns/{parent}/schools", params={"level1": "0"}).text
    assert "<strong>1</strong> cơ sở" in shown and "P1S1" in shown and "P2S1" not in shown


def test_the_demo_says_how_many_schools_it_imports(sqlite_engine):
    said: list[str] = []
    with UnitOfWork(sqlite_engine) as uow:
        build_demo(uow, progress=said.append)
    imported = next(m for m in said if m.startswith("Nhập danh sách đơn vị mẫu"))
    shown = int(re.search(r"(\d+) trường", imported).group(1))
    with UnitOfWork(sqlite_engine) as uow:
        bureau = uow.session.execute(select(Unit.id).where(Unit.code == BUREAU)).scalar_one()
        schools = uow.session.execute(select(func.count()).where(Unit.supervisor_id == bureau)).scalar_one()
    assert shown == schools == 30
