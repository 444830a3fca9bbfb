"""The number register on SQLite and PostgreSQL: never a number twice, even under concurrency."""
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cdsflow.documents.register import next_number, register_rows, series_for
from cdsflow.kernel.errors import InvalidInput
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.documents_tables import DocumentCounter, GeneratedDocument
from cdsflow.storage.tables import Unit


def _unit(engine, code="THHT") -> int:
    with UnitOfWork(engine) as uow:
        unit = Unit(code=code, name="Trường Tiểu học Hùng Thắng", short_code=code, kind="school")
        uow.session.add(unit)
        uow.commit()
        return unit.id


def _issue(engine, unit_id: int, series: str = "QĐ", year: int = 2026) -> int:
    with UnitOfWork(engine) as uow:
        n = next_number(uow.session, unit_id, year, series)
        uow.session.add(GeneratedDocument(unit_id=unit_id, doc_type="qd_hoi_dong", series=series, year=year,
                                          number=n, template_hash="x" * 64, context={"n": n},
                                          created_at=datetime.now(UTC)))
        uow.commit()
        return n


def test_numbers_run_per_unit_year_and_series(engine):
    a, b = _unit(engine, "THHT"), _unit(engine, "THDH")
    assert [_issue(engine, a) for _ in range(3)] == [1, 2, 3]
    assert _issue(engine, a, "TTr") == 1  # another type: its own run (default keying)
    assert _issue(engine, b) == 1  # another unit
    assert _issue(engine, a, year=2027) == 1  # a new year starts at 01
    assert _issue(engine, a, series_for("bien_ban", council=True)) == 1  # the council's own series
    assert _issue(engine, a) == 4


def test_a_rolled_back_issue_gives_its_number_back(engine):
    a = _unit(engine)
    assert _issue(engine, a) == 1
    with UnitOfWork(engine) as uow:
        assert next_number(uow.session, a, 2026, "QĐ") == 2
        uow.rollback()
    assert _issue(engine, a) == 2


def test_keying_and_series_names():
    assert series_for("qd_hoi_dong") == "QĐ"
    assert series_for("to_trinh") == "TTr"
    assert series_for("qd_hoi_dong", keying="unit_year") == "*"
    assert series_for("bien_ban", council=True) == "HĐ:BB"
    assert series_for("giay_chung_nhan") == "giay_chung_nhan"  # certificates: their own register
    with pytest.raises(InvalidInput):
        series_for("qd_hoi_dong", keying="per_month")


def test_the_database_refuses_a_reused_number(engine):
    a = _unit(engine)
    _issue(engine, a)
    with UnitOfWork(engine) as uow, pytest.raises(IntegrityError):
        uow.session.add(GeneratedDocument(unit_id=a, doc_type="qd_hoi_dong", series="QĐ", year=2026, number=1,
                                          template_hash="x" * 64, context={}))
        uow.commit()


def test_concurrent_issuers_in_threads_never_share_a_number(engine):
    a = _unit(engine)
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda _: _issue(engine, a), range(120)))
    assert sorted(numbers) == list(range(1, 121))
    with UnitOfWork(engine) as uow:
        stored = [r.number for r in register_rows(uow.session, a)]
        counter = uow.session.execute(select(DocumentCounter)).scalar_one()
    assert stored == list(range(1, 121)) and counter.last_number == 120


def _worker(url: str, unit_id: int, count: int, queue) -> None:
    engine = make_engine(url)
    queue.put([_issue(engine, unit_id) for _ in range(count)])
    engine.dispose()


def test_concurrent_issuers_in_processes_never_share_a_number(engine):
    a = _unit(engine)
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, a, 30, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    numbers = [n for _ in procs for n in queue.get(timeout=60)]
    for p in procs:
        p.join(timeout=60)
    assert sorted(numbers) == list(range(1, 91))
