"""The package as a user gets it: build the wheel, install it into a clean virtual environment
outside the repository (dependencies at the lock file's versions), and use it from there: init,
demo, a paper, a served page and a worker that delivers mail to a real SMTP server."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest
from docx import Document

from cdsflow.notifications.sink import MemorySinkStore, start_sink
from tests.e2e.cli import ROOT
from tests.e2e.served import served

pytestmark = pytest.mark.wheel


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} → {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the venv's bin/ with cdsflow installed from it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: setuptools leaves build/ in the source tree, and a stale build/lib
    # would slip deleted files into the next wheel.
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", "var"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
          "-w", str(tmp / "dist"), str(source)])
    (wheel,) = (tmp / "dist").glob("cdsflow-*.whl")
    _run([sys.executable, "-m", "venv", str(tmp / "venv")])
    bin_dir = tmp / "venv" / "bin"
    # Core only (no extras), at the lock file's versions; pip's cache makes this quick after the first run.
    _run([str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check",
          "-c", str(ROOT / "requirements.lock"), str(wheel)])
    return wheel, bin_dir


def test_every_data_file_is_in_the_wheel(installed):
    wheel, _ = installed
    tracked = _run(["git", "ls-files", "cdsflow"], cwd=ROOT).stdout.split()
    data = {p for p in tracked if not p.endswith(".py")}
    names = set(zipfile.ZipFile(wheel).namelist())
    assert data and not data - names, sorted(data - names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for field in ("License-Expression: MIT", "Project-URL: Source", "Description-Content-Type: text/markdown",
                  "Provides-Extra: postgres", "Provides-Extra: pdf"):
        assert field in text, field
    assert "itsdangerous" not in text


def test_installed_package_runs_outside_the_repository(installed, tmp_path):
    _, bin_dir = installed
    cdsflow = str(bin_dir / "cdsflow")
    work = tmp_path / "somewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL", "VIRTUAL_ENV")}
    env.update(CDSFLOW_HOME=str(tmp_path / "home"), COLUMNS="200", NO_COLOR="1")

    def cli(*args: str) -> str:
        return _run([cdsflow, *args], cwd=work, env=env).stdout

    assert cli("--version").strip() == f"cdsflow {_version(bin_dir)}"
    assert "Đã khởi tạo" in cli("init")
    cli("demo")
    cli("account", "demo")
    assert (tmp_path / "home" / "cdsflow.db").is_file() and not list(work.iterdir())  # data in the home only

    cli("docs", "generate", "qd_hoi_dong", "--school", "DEMO-TH-KD", "--campaign", "1", "--out", "van-ban")
    (paper,) = (work / "van-ban").glob("*.docx")
    text = "\n".join(p.text for p in Document(paper).paragraphs)
    assert "QUYẾT ĐỊNH" in text and "Trường Tiểu học Kim Đồng" in text

    with served([cdsflow], env, work) as base:
        page = httpx.get(base, follow_redirects=True, timeout=10)
        assert page.status_code == 200 and "Đăng nhập" in page.text
        assert httpx.get(base + "static/app.css", timeout=10).status_code == 200
        assert httpx.get(base + "readyz", timeout=10).json()["status"] == "ready"

    # Worker round trip: a school's file is returned, the worker sends the mail to a real SMTP server.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = MemorySinkStore()
    sink = start_sink(store, port=port)
    env.update(CDSFLOW_SMTP_HOST="127.0.0.1", CDSFLOW_SMTP_PORT=str(port))
    try:
        cli("assessment", "return", "DEMO-TH-KD", "--by", "Phạm Quang Hùng", "--reason", "Bổ sung minh chứng 1.3")
        worker = subprocess.Popen([cdsflow, "worker", "--poll", "0.5"], cwd=work, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while not any("[Yêu cầu bổ sung]" in s for s in _subjects(store)):
                assert time.monotonic() < deadline and worker.poll() is None, _subjects(store)
                time.sleep(0.3)
        finally:
            worker.terminate()
            out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0 and "Đã dừng tiến trình nền" in out, out
    finally:
        sink.stop()
    assert not list(work.glob("var")), "nothing written relative to where the command was started"


def _subjects(store: MemorySinkStore) -> list[str]:
    return [str(make_header(decode_header(message_from_bytes(raw)["Subject"]))) for _, _, raw in store.messages]


def _version(bin_dir: Path) -> str:
    return _run([str(bin_dir / "python"), "-c", "import cdsflow; print(cdsflow.__version__)"]).stdout.strip()
