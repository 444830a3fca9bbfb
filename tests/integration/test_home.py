"""One data home: CDSFLOW_HOME wins, the platform's user data folder otherwise; stored paths are
relative to it, so two processes started in different folders find the same files."""
from __future__ import annotations

import subprocess
import sys

from cdsflow.kernel import home
from cdsflow.storage.db import database_url
from tests.e2e.cli import ROOT


def test_everything_lives_under_cdsflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CDSFLOW_HOME", str(tmp_path / "nha"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert home.home() == (tmp_path / "nha").resolve()
    assert database_url() == f"sqlite:///{tmp_path / 'nha' / 'cdsflow.db'}"
    for folder in (home.uploads_dir(), home.papers_dir(), home.logs_dir(), home.pdf_cache_dir()):
        assert folder.parent == home.home() and folder.is_dir()
    paper = home.papers_dir() / "attachments" / "qd.docx"
    assert home.to_stored(paper) == "papers/attachments/qd.docx"
    assert home.to_stored(tmp_path / "elsewhere.docx") == str(tmp_path / "elsewhere.docx")  # outside: absolute
    assert not (tmp_path / "var").exists()


def test_a_process_started_elsewhere_resolves_stored_paths_to_the_same_file(tmp_path):
    (tmp_path / "nha" / "papers").mkdir(parents=True)
    (tmp_path / "nha" / "papers" / "qd.docx").write_bytes(b"x")
    (tmp_path / "elsewhere").mkdir()
    code = "from cdsflow.kernel import home; p = home.from_stored('papers/qd.docx'); print(p, p.is_file())"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "elsewhere", capture_output=True, text=True,
                          env={"CDSFLOW_HOME": str(tmp_path / "nha"), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=60)
    assert done.stdout.split() == [str((tmp_path / "nha" / "papers" / "qd.docx").resolve()), "True"], done.stderr


def test_default_is_the_platform_user_data_folder(tmp_path):
    code = "from cdsflow.kernel import home; print(home.home())"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == str(tmp_path / ".local" / "share" / "cdsflow"), done.stderr


def test_the_cli_finds_the_home_run_sh_made_in_its_checkout(tmp_path, monkeypatch):
    """Issue 26, item 10: after ./run.sh (data in var/ of the checkout) `cdsflow mail list` run from the
    checkout reads that database without CDSFLOW_HOME; a checkout without one keeps the platform folder."""
    checkout = tmp_path / "cdsflow"
    (checkout / "var").mkdir(parents=True)
    (checkout / "run.sh").write_text("#!/bin/sh\n")
    monkeypatch.setattr(home, "CHECKOUT", checkout)
    monkeypatch.delenv("CDSFLOW_HOME", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nguoi-dung"))
    assert home.home() != (checkout / "var").resolve()  # no database there yet: not a home
    (checkout / "var" / "cdsflow.db").write_bytes(b"")
    assert home.home() == (checkout / "var").resolve()
    assert database_url() == f"sqlite:///{checkout / 'var' / 'cdsflow.db'}"
    monkeypatch.setenv("CDSFLOW_HOME", str(tmp_path / "khac"))  # named by hand: that one wins
    assert home.home() == (tmp_path / "khac").resolve()
