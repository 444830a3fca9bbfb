"""The fault suite: real worker processes, a counting SMTP server, kills, locks, moved clocks."""
from __future__ import annotations

from tests.faults.web_server import database_url  # noqa: F401 - the SQLite/PostgreSQL fixture, for every file


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: fault-injection tests with real processes (tests/faults/)")
