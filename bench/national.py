"""Vietnam-scale test data shared by the benchmarks: one Sở, 136 bureaus, N schools."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from cdsflow.storage.tables import Unit

BUREAUS = 34 * 4  # ~4 school-managing units per province, 34 provinces since 7/2025


def national_db(path: Path, schools: int, bureaus: int = BUREAUS) -> Engine:
    """A fresh SQLite file holding the unit tree, inserted in bulk (one statement per level)."""
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with Session(engine) as s:
        s.execute(insert(Unit), [{"code": "SGD", "name": "Sở GDĐT", "short_code": "SGDĐT", "kind": "department"}])
        s.execute(insert(Unit), [{"code": f"P{b}", "name": f"Phòng {b}", "short_code": "PGDĐT", "kind": "bureau",
                                  "supervisor_id": 1} for b in range(bureaus)])
        s.execute(insert(Unit), [{"code": f"S{i}", "name": f"Trường Tiểu học số {i}", "short_code": f"TH{i}",
                                  "kind": "school", "education_level": "tieu_hoc", "supervisor_id": 2 + i % bureaus}
                                 for i in range(schools)])
        s.commit()
    return engine
