"""Login throttling against a real server: atomic under concurrency, and fair to the real user."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.cli import ROOT, Cli
from tests.faults.web_server import served

pytestmark = pytest.mark.faults

UNITS = ROOT / "cdsflow" / "demo" / "units.csv"
PASSWORD = "mat-khau-that-dai-2025"
GUESSES = 40


def _world(tmp_path, url: str) -> Cli:
    cli = Cli(tmp_path, url)
    cli("init")
    cli("units", "import", str(UNITS))
    cli("account", "create", "chuyenvien", "--name", "Trần Minh Tuấn", "--role", "officer", "--unit", "DEMO-PGD-BD",
        "--password", PASSWORD)
    return cli


def _login(base: str, password: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(f"{base}/api/login", json={"username": "chuyenvien", "password": password},
                      headers=headers, timeout=60).status_code


def test_forty_concurrent_wrong_passwords_get_at_most_five_checks(tmp_path, database_url):
    cli = _world(tmp_path, database_url)
    with served(cli) as (_proc, base), ThreadPoolExecutor(GUESSES) as pool:
        codes = list(pool.map(lambda i: _login(base, f"sai-{i}"), range(GUESSES)))
        checked = codes.count(401)
        print(f"\n{GUESSES} concurrent wrong passwords: {checked} password checks, {codes.count(429)} refused")
        assert checked <= 5 and checked + codes.count(429) == GUESSES
        assert _login(base, PASSWORD) == 429  # this address and name stay stopped


def test_someone_elses_guesses_do_not_lock_the_real_user_out(tmp_path, database_url):
    cli = _world(tmp_path, database_url)
    with served(cli, CDSFLOW_TRUSTED_PROXIES="127.0.0.1") as (_proc, base):
        # The owner's office browser logged in before: it carries the device cookie.
        office = httpx.Client(base_url=base, timeout=60, headers={"X-Forwarded-For": "198.51.100.20"})
        assert office.post("/api/login", json={"username": "chuyenvien", "password": PASSWORD}).status_code == 200
        # An attacker behind the trusted proxy, from thirty addresses: a handful of checks, then spaced.
        codes = [_login(base, "sai", f"203.0.113.{i}") for i in range(30)]
        assert set(codes) <= {401, 429} and codes.count(401) <= 12, codes
        # The owner's browser, from a new address (at home), gets in at once.
        office.headers["X-Forwarded-For"] = "192.0.2.77"
        assert office.post("/api/login", json={"username": "chuyenvien", "password": PASSWORD}).status_code == 200
        # A browser the owner never used waits out the spacing (seconds here, at most 30), then gets in.
        time.sleep(5)
        assert _login(base, PASSWORD, "192.0.2.78") == 200
        office.close()


def test_a_forged_forwarded_header_is_ignored_without_trusted_proxies(tmp_path):
    cli = _world(tmp_path, None)
    with served(cli) as (_proc, base):
        codes = [_login(base, "sai", f"10.0.{i}.1") for i in range(7)]
        # Rotating X-Forwarded-For does not give new addresses: the (name, 127.0.0.1) pair is stopped.
        assert codes == [401] * 5 + [429] * 2
