"""The dossier follows the calendar: its milestones' `documents` lists in calendar order (the cover
first) when it names no `dossier:` of its own; a school milestone's paper never issued is named as
missing, an authority's paper not about the school is simply not part of it."""
from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import date, datetime

from cdsflow.kernel.stages import Stage
from cdsflow.services import dossier as dossier_svc
from cdsflow.services import papers as service
from cdsflow.services.campaigns import launch_campaign
from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork
from tests.factories import calendar, unit_rows
from tests.papers_world import VN, Walked, walk

DOCS = {"hoi-dong": ("qd_hoi_dong",), "to-trinh": ("bien_ban", "qd_phe_duyet", "to_trinh"),
        "cong-nhan": ("qd_cong_nhan", "giay_chung_nhan")}


def test_dossier_follows_the_milestones_documents(sqlite_engine, tmp_path):
    cal = calendar()
    cal = replace(cal, milestones=tuple(replace(m, documents=DOCS.get(m.key, ())) for m in cal.milestones))
    with UnitOfWork(sqlite_engine) as uow:
        import_units(uow, unit_rows(n_schools_per_bureau=1))
    with UnitOfWork(sqlite_engine) as uow:
        result = launch_campaign(uow, issuer_code="P1", school_year="2024-2025", calendar=cal,
                                 now=datetime(2024, 10, 1, tzinfo=VN))
        from cdsflow.services.assessments import find_assessment

        aid = find_assessment(uow, "P1S1", result.campaign_id).id
    walk(sqlite_engine, Walked(result.campaign_id, {"P1S1": aid}), "P1S1", Stage.PROPOSAL)
    for code in ("to_trinh", "qd_phe_duyet"):
        service.generate(sqlite_engine, code, school_code="P1S1", campaign_id=result.campaign_id,
                         issued_on=date(2025, 3, 20))
    dossier = dossier_svc.build_dossier(sqlite_engine, "P1S1", result.campaign_id, tmp_path / "hs.zip")
    papers = [n for n in zipfile.ZipFile(dossier.path).namelist() if not n.startswith("minh-chung/")]
    assert papers == ["00-muc-luc.docx", "01-bia_ho_so.docx", "02-qd_phe_duyet.docx", "03-to_trinh.docx"]  # no gaps
    assert dossier.missing == ["Quyết định thành lập Hội đồng tự đánh giá", "Biên bản họp Hội đồng tự đánh giá"]
