"""Shared fixtures: real databases (a SQLite file, and the throw-away PostgreSQL from test.sh)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

# The CLI's rich consoles read the width once, when cdsflow.app.console is first imported; under
# pytest-xdist that may be by any test file in the worker. Tests read whole table rows, so wide.
os.environ["COLUMNS"] = "200"

import pytest
from sqlalchemy import text

from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata

# Tests (and the CLI processes they start, which inherit the environment) never write into the
# developer's real data home; a test that cares about the home sets its own.
os.environ["CDSFLOW_HOME"] = tempfile.mkdtemp(prefix="cdsflow-test-home-")
# A rule asked without the facts it reads raises MissingFacts here (in production it refuses): a
# use-case that forgets to gather a fact is found by its tests, CLI and web processes included.
os.environ["CDSFLOW_STRICT_RULES"] = "1"


def _own_postgres_database_per_worker() -> None:
    """Under pytest-xdist (test.sh runs one worker per core) each worker gets a database of its own on
    the throw-away server: tests that empty the shared test database (DROP SCHEMA public) would
    otherwise pull it from under a test running in the other worker. Every test, and every CLI or web
    process a test starts, reads TEST_DATABASE_URL from the environment, so pointing it here is enough."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if not worker or not url or url.endswith(f"_{worker}"):
        return
    from sqlalchemy import create_engine

    name = f"{url.rsplit('/', 1)[1]}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    os.environ["TEST_DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name


_own_postgres_database_per_worker()


# What each marker needs from the machine. Without it a test is skipped on a developer's machine and
# FAILS under CI (CI=1 is set by .ci/run): a missing LibreOffice, PostgreSQL or Chromium in CI is a
# broken setup, never a silently thinner suite.
NEEDS = {
    "libreoffice": ("LibreOffice (soffice)", lambda: bool(shutil.which("soffice") or shutil.which("libreoffice"))),
    "postgres": ("PostgreSQL (TEST_DATABASE_URL, chạy qua ./test.sh)", lambda: bool(os.environ.get("TEST_DATABASE_URL"))),
    "browser": ("Chromium và gói playwright",
                lambda: Path("/usr/bin/chromium").exists() and importlib.util.find_spec("playwright") is not None),
    "softhsm": ("SoftHSM2 (libsofthsm2.so, softhsm2-util) và gói python-pkcs11",
                lambda: softhsm_module() is not None and bool(shutil.which("softhsm2-util"))
                and importlib.util.find_spec("pkcs11") is not None),
}
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                   "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so")


def softhsm_module() -> str | None:
    """SoftHSM2's PKCS#11 module, where Debian (or a source build) puts it."""
    return next((p for p in SOFTHSM_MODULES if Path(p).is_file()), None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (what, present) in NEEDS.items():
        if item.get_closest_marker(marker) is not None and not present():
            message = f"thiếu {what}"
            if os.environ.get("CI"):
                pytest.fail(f"CI phải chạy kiểm thử cần {what}: {message}", pytrace=False)
            pytest.skip(message)


def fresh_postgres_database(prefix: str) -> str:
    """A new, empty PostgreSQL database on the test server (for tests whose processes need one of
    their own: advisory locks and restores are per database). Tests using it are marked `postgres`."""
    import uuid

    from sqlalchemy import create_engine

    url = os.environ["TEST_DATABASE_URL"]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


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


# The test worlds' campaign is of 2024-2025: its review team works 1/4–20/5/2025 (the calendar's
# window) and may not be formed once that period is over. Tests that form it run on a day before.
BEFORE_THE_REVIEW = "2025-03-17 09:00:00+07:00"


@pytest.fixture
def before_the_review():
    """Today is 17/3/2025 (ticking): the 2024-2025 review team may still be formed."""
    from freezegun import freeze_time

    with freeze_time(BEFORE_THE_REVIEW, tick=True):
        yield
