"""One text gate: XML-invalid characters are refused where typed, and a paper that cannot be built takes no number."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from cdsflow.app import cli_docs
from cdsflow.documents.samples import seed_database
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import TextError, clean_text
from cdsflow.services import papers as service
from cdsflow.storage.db import make_engine
from cdsflow.storage.documents_tables import DocumentCounter, GeneratedDocument
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import CommitteeMember
from tests.web_support import COMMITTEE


@pytest.mark.parametrize("bad", ["\ufffe", "\uffff", "\ud800", "\x00", "\x0b", "\x1b", "\x85"])
def test_clean_text_refuses_what_xml_cannot_hold(bad):
    with pytest.raises(TextError) as err:
        clean_text(f"Nguyễn{bad}Văn An", field="họ và tên")
    assert "họ và tên" in str(err.value) and "U+" in str(err.value)


def test_clean_text_keeps_tab_and_newline_and_folds_cr():
    assert clean_text("dòng 1\r\ndòng 2\r\tx", allow_newlines=True) == "dòng 1\ndòng 2\n\tx"
    assert clean_text("Tie\u0302\u0301ng Vie\u0323\u0302t") == "Tiếng Việt"  # NFC


def test_committee_name_with_u_fffe_is_refused_through_the_api(sqlite_engine, tmp_path):
    from tests.web_support import build_world

    world = build_world(sqlite_engine, tmp_path)
    c = world.client("head")
    members = [dict(m) for m in COMMITTEE]
    members[0]["full_name"] = "Nguyễn Thị\ufffe Hoa"
    r = c.put(f"/api/assessments/{world.p1s1}/committee", json={"version": 1, "members": members})
    assert r.status_code == 422 and "U+FFFE" in str(r.json())
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CommitteeMember)).scalar_one() == 0


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        docs = conn.execute(select(func.count()).select_from(GeneratedDocument)).scalar_one()
        last = conn.execute(select(func.coalesce(func.max(DocumentCounter.last_number), 0))).scalar_one()
    return docs, last


def test_a_paper_with_an_invalid_character_is_refused_and_takes_no_number(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    seed_database(engine, 2)
    # A name stored before the gate existed (or by a raw import): the renderer must still refuse.
    with engine.begin() as conn:
        conn.execute(update(CommitteeMember).values(full_name="Nguyễn\uffff An"))
    with pytest.raises(InvalidInput) as err:
        service.generate(engine, "qd_hoi_dong", school_code="THHT")
    assert "U+FFFF" in err.value.message
    assert _counts(engine) == (0, 0)


def test_docs_generate_data_file_goes_through_the_gate(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    seed_database(engine, 2)
    monkeypatch.setenv("DATABASE_URL", url)
    data = tmp_path / "them.yaml"
    data.write_text('consider: "Xét đề nghị\\uFFFE của Hội đồng"\n', encoding="utf-8")
    import typer

    app = typer.Typer()
    cli_docs.register(app)
    r = CliRunner().invoke(app, ["docs", "generate", "qd_hoi_dong", "--school", "THHT", "--out", str(tmp_path / "o"),
                                 "--data", str(data)])
    assert isinstance(r.exception, InvalidInput) and "U+FFFE" in str(r.exception), r.output
    assert _counts(engine) == (0, 0)


def test_campaign_title_goes_through_the_gate(sqlite_engine):
    from cdsflow.services.campaigns import launch_campaign
    from cdsflow.services.units import import_units
    from cdsflow.storage.db import UnitOfWork
    from cdsflow.storage.tables import Campaign
    from tests.factories import unit_rows

    with UnitOfWork(sqlite_engine) as uow:
        import_units(uow, unit_rows())
    with UnitOfWork(sqlite_engine) as uow, pytest.raises(InvalidInput) as err:
        launch_campaign(uow, issuer_code="SGD", school_year="2024-2025", title="Kế hoạch\uffff 2024")
    assert "tên kế hoạch" in err.value.message and "U+FFFF" in err.value.message
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Campaign)).scalar_one() == 0


def test_the_paper_use_case_asks_the_rule_table_whoever_calls_it(tmp_path):
    """Issuing is the rule table's `issue_school_paper`, asked by the use-case itself (not only by the
    web): another school's head is refused and no number is taken."""
    from sqlalchemy import select

    from cdsflow.kernel.errors import Forbidden
    from cdsflow.storage.db import UnitOfWork
    from cdsflow.storage.tables import Unit
    from cdsflow.workflow.context import ActorRef
    from cdsflow.workflow.roles import Role

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    seed_database(engine, 2)
    with UnitOfWork(engine) as uow:
        schools = [u for u in uow.session.execute(select(Unit).where(Unit.kind == "school")).scalars()]
    other = next(u for u in schools if u.code != "THHT")
    with pytest.raises(Forbidden):
        service.generate(engine, "qd_hoi_dong", school_code="THHT",
                         actor=ActorRef("Hiệu trưởng trường khác", other.id, Role.SCHOOL_HEAD))
    assert _counts(engine) == (0, 0)
    own = next(u for u in schools if u.code == "THHT")
    record, _ = service.generate(engine, "qd_hoi_dong", school_code="THHT",
                                 actor=ActorRef("Hiệu trưởng", own.id, Role.SCHOOL_HEAD))
    assert record.number == 1 and record.created_by == "Hiệu trưởng"
