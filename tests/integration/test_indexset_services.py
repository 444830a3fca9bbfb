"""Index-set versions in a real database: import (YAML, XLSX), resolve, by hash, pin, refusals."""
from __future__ import annotations

import copy

import pytest
import yaml
from sqlmodel import Session, select

from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.loader import IndexSetError
from cdsflow.assessment.xlsx import write_index_set_workbook
from cdsflow.kernel.errors import InvalidInput, NotFound
from cdsflow.services import indexsets as svc
from cdsflow.storage.assessment_tables import IndexSetVersion
from cdsflow.storage.tables import Assessment, Campaign, Unit

S = shipped_index_sets()["4725"]


def _write(tmp_path, content: dict, name: str) -> object:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _revised(version: str = "2025-01-01", points: int = 4) -> dict:
    data = copy.deepcopy(S.content)
    data["version"] = version
    crit = next(c for c in data["groups"][0]["criteria"] if c["code"] == "1.4")
    crit["tiers"][1]["points"] = points
    return data


def test_shipped_sets_resolve_without_any_import(engine):
    with Session(engine) as session:
        assert svc.resolve_index_set(session, "4725") is S
        assert svc.resolve_index_set(session, "4725", "2022-12-30") is S
        assert svc.index_set_by_hash(session, S.content_hash) is S
        with pytest.raises(NotFound, match="9999"):
            svc.resolve_index_set(session, "9999")
        with pytest.raises(NotFound, match="phiên bản 1900"):
            svc.resolve_index_set(session, "4725", "1900")


def test_import_yaml_adds_a_version_and_campaigns_keep_theirs(engine, tmp_path):
    with Session(engine, expire_on_commit=False) as session:
        new = svc.import_index_set(session, _write(tmp_path, _revised(), "4725-2025.yaml"), actor="Sở GDĐT")
        session.commit()
        assert new.version == "2025-01-01" and new.content_hash != S.content_hash
        assert svc.resolve_index_set(session, "4725").content_hash == new.content_hash  # latest imported
        assert svc.resolve_index_set(session, "4725", "2022-12-30") is S
        # a campaign launched on the shipped set still scores with it
        unit = Unit(code="phong", name="Phòng", short_code="P", kind="bureau")
        school = Unit(code="th", name="TH", short_code="TH", kind="school")
        session.add_all([unit, school])
        session.flush()
        camp = Campaign(issuer_id=unit.id, school_year="2024-2025", title="KH", index_set_code="4725",
                        index_set_version=S.version, index_set_hash=S.content_hash)
        session.add(camp)
        session.flush()
        a = Assessment(campaign_id=camp.id, school_id=school.id, state="self_assessment")
        session.add(a)
        session.commit()
        assert svc.index_set_for_assessment(session, a.id).content_hash == S.content_hash
        # the same content again is not a new version
        again = svc.import_index_set(session, _write(tmp_path, _revised(), "lai.yaml"))
        assert again.content_hash == new.content_hash
        assert len(session.exec(select(IndexSetVersion)).all()) == 1
        infos = svc.list_index_sets(session)
        assert [(i.code, i.version, i.origin) for i in infos if i.code == "4725"] == [
            ("4725", "2022-12-30", "kèm phần mềm"), ("4725", "2025-01-01", "đã nhập")]


def test_same_version_with_other_content_is_refused_and_nothing_stored(engine, tmp_path):
    with Session(engine) as session:
        svc.import_index_set(session, _write(tmp_path, _revised(), "a.yaml"))
        session.commit()
        with pytest.raises(InvalidInput, match="đã có phiên bản 2025-01-01"):
            svc.import_index_set(session, _write(tmp_path, _revised(points=5), "b.yaml"))
        session.rollback()
        assert len(session.exec(select(IndexSetVersion)).all()) == 1


def test_broken_file_is_refused_and_nothing_stored(engine, tmp_path):
    data = _revised()
    data["groups"][1]["max_points"] = 90
    with Session(engine) as session:
        with pytest.raises(IndexSetError) as err:
            svc.import_index_set(session, _write(tmp_path, data, "hong.yaml"))
        assert "hong.yaml" in err.value.message and any("nhóm 2" in d for d in err.value.details)
        session.rollback()
        assert session.exec(select(IndexSetVersion)).all() == []


def test_xlsx_template_filled_from_a_frame_imports_as_a_final_version(engine, tmp_path):
    """An officer takes the 3806 frame, fills the official table, and imports it."""
    from openpyxl import load_workbook

    frame = shipped_index_sets()["3806"]
    path = write_index_set_workbook(tmp_path / "3806.xlsx", frame)
    wb = load_workbook(path)
    info = wb["Thông tin"]
    for row in info.iter_rows(min_row=2):
        if row[0].value.startswith("Phiên bản"):
            row[1].value = "2025-chinh-thuc"
        if row[0].value.startswith("Bản tạm thời"):
            row[1].value = "không"
    for row, rng in zip(wb["Mức độ"].iter_rows(min_row=2), ["[0, 50)", "[50, 75]", "(75, 100]"], strict=False):
        row[2].value = rng
    ws = wb["Tiêu chí"]
    for row in ws.iter_rows(min_row=2):
        if row[2].value == "nhóm":
            row[4].value = 50
    # insert criteria under each group (rows appended in document order: rebuild the sheet body)
    groups = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    ws.delete_rows(2, ws.max_row)
    for g in groups:
        ws.append(g)
        code = g[1]
        ws.append([code, f"{code}.1", "tiêu chí", "Ban hành kế hoạch chuyển đổi số", 0, "yes_no", "x", None,
                   "Kế hoạch đã ban hành", "x", None, None])
        ws.append([code, f"{code}.2", "tiêu chí", "Tỉ lệ đơn vị đạt mức 2 trở lên", 30, "percentage", None,
                   "[0, 50) = 10 | Dưới một nửa\n[50, 100] = 30 | Từ một nửa trở lên", None, None, None, None])
        ws.append([code, f"{code}.3", "tiêu chí", "Dịch vụ công trực tuyến", 20, None, None, None,
                   "Đường link", "x", None, None])
        ws.append([code, f"{code}.3.1", "mục", "Có cổng dịch vụ", 8, "yes_no", None, None, None, None, None, None])
        ws.append([code, f"{code}.3.2", "mục", "Mức độ dịch vụ", 12, "choice", None,
                   "mot_phan = 6 | Một phần\ntoan_trinh = 12 | Toàn trình", None, None, "x", "chưa rõ"])
    wb.save(path)
    with Session(engine) as session:
        s = svc.import_index_set(session, path, actor="Cán bộ Sở")
        session.commit()
        assert (s.code, s.version, s.provisional, len(s.items)) == ("3806", "2025-chinh-thuc", False, 8)
        assert s.items["1.3.2"].uncertain and s.items["1.3.2"].note == "chưa rõ"
        assert s.criteria["2.1"].mandatory and s.criteria["2.3"].evidence_required
        svc.require_final(s)
        assert svc.resolve_index_set(session, "3806").content_hash == s.content_hash
        assert svc.index_set_by_hash(session, s.content_hash).content_hash == s.content_hash


def test_provisional_sets_are_refused_for_launch():
    with pytest.raises(InvalidInput, match="tạm thời"):
        svc.require_final(shipped_index_sets()["3276"])
    svc.require_final(S)


def test_pin_keeps_a_shipped_version_resolvable_by_hash(engine):
    with Session(engine) as session:
        svc.pin_index_set(session, S, actor="launch")
        svc.pin_index_set(session, S)
        session.commit()
        rows = session.exec(select(IndexSetVersion)).all()
        assert len(rows) == 1 and rows[0].content_hash == S.content_hash
        svc._parsed.clear()
        assert svc._from_row(rows[0]).content_hash == S.content_hash


def test_an_imported_set_with_a_new_code_covers_exactly_what_its_file_says(engine, tmp_path):
    """Scope is data: a set «4725-THCS» (a new code) naming only lower-secondary schools, imported from
    a file and launched, opens an assessment for the THCS school alone; the same set through Excel
    keeps its scope; a file that names nobody is refused at launch with the reason."""
    from cdsflow.services.campaigns import launch_campaign
    from cdsflow.services.units import import_units
    from cdsflow.storage.db import UnitOfWork
    from tests.factories import unit_rows

    rows = unit_rows(n_schools_per_bureau=1, bureaus=1)
    rows.append((len(rows) + 2, {"code": "THCS1", "name": "Trường THCS Nguyễn Du", "kind": "Trường",
                                 "education_level": "THCS", "supervisor_code": "P1"}))
    with UnitOfWork(engine) as uow:
        import_units(uow, rows)
    data = copy.deepcopy(S.content)
    data.update(code="4725-THCS", version="2026-01-01", covers={"unit_kinds": ["school"], "education_levels": ["thcs"]})
    with Session(engine) as session:
        imported = svc.import_index_set(session, _write(tmp_path, data, "thcs.yaml"), actor="Cán bộ Sở")
        session.commit()
    assert imported.covers_levels == ("thcs",)
    with UnitOfWork(engine) as uow:
        result = launch_campaign(uow, issuer_code="P1", school_year="2025-2026", index_set="4725-THCS")
    assert result.assessments == 1
    with Session(engine) as session:
        schools = session.exec(select(Unit.code).join(Assessment, Assessment.school_id == Unit.id)
                               .where(Assessment.campaign_id == result.campaign_id)).all()
    assert schools == ["THCS1"]
    # Excel round trip keeps the scope.
    book = tmp_path / "thcs.xlsx"
    write_index_set_workbook(book, imported)
    from cdsflow.assessment.files import load_index_set_file

    assert load_index_set_file(book).covers_levels == ("thcs",)
    # A set that names nobody cannot be launched.
    del data["covers"]
    data.update(code="9999", version="2026-01-02")
    with Session(engine) as session:
        svc.import_index_set(session, _write(tmp_path, data, "nobody.yaml"))
        session.commit()
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput, match="không ghi đối tượng được đánh giá"):
        launch_campaign(uow, issuer_code="P1", school_year="2025-2026", index_set="9999")
