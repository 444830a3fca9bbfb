"""Shared fixtures: real databases (a SQLite file, and the throw-away PostgreSQL from test.sh)."""
from __future__ import annotations

import os
import tempfile

import pytest
from sqlalchemy import text

from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata

# Tests (and the CLI processes they start, which inherit the environment) never write into the
# developer's real data home; a test that cares about the home sets its own.
os.environ["CDSFLOW_HOME"] = tempfile.mkdtemp(prefix="cdsflow-test-home-")


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url and os.environ.get("CI"):
        raise RuntimeError("CI needs TEST_DATABASE_URL (run the suite through ./test.sh)")
    return url


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cdsflow.db'}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine():
    url = _postgres_url()
    if not url:
        pytest.skip("không có PostgreSQL (TEST_DATABASE_URL): chạy qua ./test.sh")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    """Integration tests that take `engine` run against both SQLite and PostgreSQL."""
    yield request.getfixturevalue(f"{request.param}_engine")
