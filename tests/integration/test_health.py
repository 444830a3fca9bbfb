"""/healthz answers while the process lives; /readyz only when the database answers at this release's schema."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from cdsflow import __version__
from cdsflow.app.web.app import create_app
from cdsflow.storage.db import make_engine
from cdsflow.storage.migrate import init_db


def test_ready_only_once_migrated_and_reachable(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cdsflow.db'}")
    client = TestClient(create_app(engine, uploads_dir=tmp_path / "uploads"))
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__}

    r = client.get("/readyz")
    assert r.status_code == 503 and "chưa được khởi tạo" in r.json()["reason"]

    init_db(engine)
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"

    with engine.begin() as conn:  # an older schema than the code expects
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    r = client.get("/readyz")
    assert r.status_code == 503 and "chưa ở phiên bản mới nhất" in r.json()["reason"]
    assert client.get("/healthz").status_code == 200  # the process itself is fine


def test_not_ready_when_the_database_cannot_be_reached(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'cdsflow.db'}")
    client = TestClient(create_app(engine, uploads_dir=tmp_path / "uploads"))
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "Không kết nối được cơ sở dữ liệu"
    assert client.get("/healthz").status_code == 200
