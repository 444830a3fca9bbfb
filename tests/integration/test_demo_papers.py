"""The demo campaign (a school year after 2025) lets a văn thư issue every paper the product makes
for a recognised school and for the authority: ward-level names, no district, nothing refused."""
from __future__ import annotations

from datetime import UTC, datetime

from freezegun import freeze_time
from sqlalchemy import select

from cdsflow.services import papers as service
from cdsflow.services.demo import BUREAU, build_demo
from cdsflow.services.results import recognised_results
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Assessment, Unit

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@freeze_time(NOW)
def test_every_paper_of_the_demo_comes_out_true(sqlite_engine):
    with UnitOfWork(sqlite_engine) as uow:
        # As `cdsflow demo` does: the documents area issues the decision the demo publishes on.
        build_demo(uow, now=NOW, issue_decision=lambda cid: service.generate(sqlite_engine, "qd_cong_nhan",
                                                                             campaign_id=cid, actor="Văn thư"))
    with UnitOfWork(sqlite_engine) as uow:
        published = uow.session.execute(
            select(Unit.code, Assessment.id, Assessment.campaign_id).join(Assessment, Assessment.school_id == Unit.id)
            .where(Assessment.state == "published").order_by(Unit.code)).first()
        code, aid, cid = published
        res = recognised_results(uow.session, aid)
        assert res.phase == "external"  # the demo enters the review's scores before recognising
    records = []
    for paper in ("qd_hoi_dong", "bien_ban", "qd_phe_duyet", "to_trinh", "bao_cao", "bia_ho_so"):
        records.append(service.generate(sqlite_engine, paper, school_code=code)[0])
    records.append(service.generate(sqlite_engine, "qd_doan_danh_gia", campaign_id=cid)[0])
    with UnitOfWork(sqlite_engine) as uow:  # the decision the demo issued before publishing
        from cdsflow.services.results import recognition_decision

        records.append(recognition_decision(uow.session, uow.session.get(Assessment, aid)))
    records.append(service.generate(sqlite_engine, "giay_chung_nhan", school_code=code)[0])
    for rec in records:
        assert rec.note == "", (rec.doc_type, rec.note)  # no quận/huyện after 1/7/2025, nothing backdated
        header = rec.context.get("header") or {"issuer": rec.context.get("issuer", ""), "parent_org": ""}
        assert "QUẬN" not in header["issuer"] + header["parent_org"], rec.doc_type
    decision = next(r for r in records if r.doc_type == "qd_cong_nhan")
    assert decision.context["header"]["issuer"] == "PHÒNG VĂN HÓA - XÃ HỘI PHƯỜNG BA ĐÌNH"
    assert decision.context["authority_line"] == "TRƯỞNG PHÒNG VĂN HÓA - XÃ HỘI PHƯỜNG BA ĐÌNH"
    assert decision.context["signature"]["name"] == "Lê Thị Thu Hà"
    assert code in decision.context["school_codes"]
    with UnitOfWork(sqlite_engine) as uow:
        assert uow.session.execute(select(Unit.name).where(Unit.code == BUREAU)).scalar_one().endswith("phường Ba Đình")
