"""A real `cdsflow serve` subprocess on 127.0.0.1 for the web fault tests."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.cli import ROOT, Cli


@contextmanager
def served(cli: Cli, **env: str):
    """Yield (process, base url) of `cdsflow serve` on the cli's database; stopped afterwards."""
    full_env = {**cli.env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=cli.cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, line + proc.stdout.read()
        base = found.group(0).rstrip("/")
        httpx.get(f"{base}/login", timeout=10)  # warm: routes, templates, DB pool loaded
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cds.db'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs TEST_DATABASE_URL")
        pytest.skip("không có PostgreSQL (TEST_DATABASE_URL): chạy qua ./test.sh")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
