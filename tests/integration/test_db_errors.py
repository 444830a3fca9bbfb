"""Database refusals reach the user as Vietnamese sentences naming the rule and the value."""
from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError

from cdsflow.storage.dberrors import describe, status
from cdsflow.storage.tables import Campaign, Unit
from tests.web_support import build_world


def _refusal(engine, stmt) -> DBAPIError:
    with engine.connect() as conn, pytest.raises(DBAPIError) as err:
        conn.execute(stmt)
    return err.value


def test_duplicate_unit_code_names_the_column(engine):
    with engine.begin() as conn:
        conn.execute(insert(Unit).values(code="TH-A", name="Trường A", kind="school", short_code="X"))
    err = _refusal(engine, insert(Unit).values(code="TH-A", name="Trường A lần hai", kind="school", short_code="X"))
    text = describe(err)
    assert text.startswith("Dữ liệu trùng") and "mã" in text and status(err) == 409
    if engine.dialect.name == "postgresql":
        assert "«TH-A»" in text  # PostgreSQL reports the value too


def test_second_open_campaign_names_the_rule(engine):
    with engine.begin() as conn:
        unit = conn.execute(insert(Unit).values(code="PGD", name="Phòng", kind="bureau", short_code="P")
                            .returning(Unit.id)).scalar()
        row = dict(issuer_id=unit, school_year="2024-2025", title="KH", status="launched", index_set_code="4725",
                   dossier=[])
        conn.execute(insert(Campaign).values(**row))
    text = describe(_refusal(engine, insert(Campaign).values(**row)))
    assert "một kế hoạch đang mở cho một năm học và một bộ chỉ số" in text


def test_too_long_value_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    err = _refusal(engine, insert(Unit).values(code="X" * 100, name="n", kind="school", short_code="X"))
    assert describe(err) == "Giá trị quá dài (tối đa 64 ký tự)." and status(err) == 422


def test_huge_ids_and_unpublished_campaigns_give_404(sqlite_engine, tmp_path):
    world = build_world(sqlite_engine, tmp_path)
    admin, anyone = world.client("admin"), world.client()
    for path in ("/assessments/99999999999999999999", "/api/assessments/3000000000", "/campaigns/-99999999999",
                 "/api/campaigns/99999999999999999999/team"):
        assert admin.get(path).status_code == 404, path
    # Nothing published yet: the public API and page say the same as for a campaign that does not exist.
    for cid in (world.campaign_id, 987654):
        r = anyone.get(f"/api/public/campaigns/{cid}")
        assert r.status_code == 404 and r.json()["error"] == f"Không tìm thấy kế hoạch số {cid}"
        page = anyone.get(f"/results/{cid}")
        assert page.status_code == 404 and "Trường" not in page.text
