"""`cdsflow account create|list` and `cdsflow serve` through the real command in a subprocess."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from cdsflow.services.units import import_units
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.storage.schema import metadata
from tests.e2e.cli import ROOT, Cli
from tests.factories import unit_rows


def _database(tmp_path, with_units: bool = True) -> None:
    """The schema and the test units, made in-process (the commands under test are the account ones)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cds.db'}")
    metadata.create_all(engine)
    if with_units:
        with UnitOfWork(engine) as uow:
            import_units(uow, unit_rows())
    engine.dispose()


def test_account_create_list_and_refusal(tmp_path):
    cli = Cli(tmp_path)
    _database(tmp_path)
    done = cli("account", "create", "hieutruong", "--name", "Nguyễn Thị Hoa", "--role", "school_head",
               "--unit", "P1S1", "--password", "mat-khau-dai-du")
    assert "Đã tạo tài khoản «hieutruong» (Hiệu trưởng)" in done.stdout
    bad = cli("account", "create", "x", "--name", "", "--role", "vua", "--password", "ngan", ok=False)
    assert bad.returncode == 2
    assert "tên đăng nhập không hợp lệ" in bad.stderr and "vai trò không rõ" in bad.stderr
    listed = cli("account", "list")
    assert "hieutruong" in listed.stdout and "Trường Tiểu học Số 1.1" in listed.stdout and "1 tài khoản" in listed.stdout


def test_serve_prints_its_address_and_answers_in_vietnamese(tmp_path):
    cli = Cli(tmp_path)
    _database(tmp_path, with_units=False)
    env = {**cli.env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "cdsflow", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        base = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        r = httpx.get(base, follow_redirects=True, timeout=10)
        assert r.status_code == 200 and "Đăng nhập" in r.text and str(r.url).endswith("/login?next=/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert os.path.exists(tmp_path / "cds.db")
