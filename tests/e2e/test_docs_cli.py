"""`cdsflow docs …` end to end: through Typer's CliRunner and, for the error path, a subprocess."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cdsflow.app import cli_docs
from cdsflow.documents.checks import check_docx
from cdsflow.kernel.stages import Stage
from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from tests.papers_world import launch, walk

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app():
    app = typer.Typer()
    cli_docs.register(app)
    return app


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    w = launch(engine, schools=3)
    walk(engine, w, "P1S1", Stage.PROPOSAL)
    walk(engine, w, "P1S2", Stage.PROPOSAL)
    walk(engine, w, "P1S3", Stage.COMMITTEE_FORMED)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    return {"campaign_id": w.campaign_id}


def test_sample_then_check(app, tmp_path):
    out = tmp_path / "qd.docx"
    result = CliRunner().invoke(app, ["docs", "sample", "qd_cong_nhan", str(out), "--hostile"])
    assert result.exit_code == 0, result.output
    assert check_docx(out.read_bytes(), "qd_cong_nhan") == []
    result = CliRunner().invoke(app, ["docs", "check", str(out), "qd_cong_nhan"])
    assert result.exit_code == 0 and "đúng thể thức" in result.output


def test_generate_for_a_school_and_a_whole_campaign_then_register_and_dossier(app, db, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["docs", "generate", "qd_hoi_dong", "--school", "P1S1", "--out", str(tmp_path / "a"),
                            "--date", "2024-11-05"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["docs", "generate", "to_trinh", "--campaign", str(db["campaign_id"]),
                            "--out", str(tmp_path / "b"), "--workers", "2", "--date", "2025-04-01"])
    assert r.exit_code == 0, r.output
    assert "Đã tạo 2 văn bản" in r.output and "Bỏ qua" in r.output and "P1S3" in r.output
    assert len(list((tmp_path / "b").glob("*.docx"))) == 2
    r = runner.invoke(app, ["docs", "register", "--unit", "P1S1", "--xlsx", str(tmp_path / "so.xlsx")])
    assert r.exit_code == 0 and "Đã xuất 2 dòng" in r.output
    zip_path = tmp_path / "hs.zip"
    r = runner.invoke(app, ["docs", "dossier", "--school", "P1S1", "--campaign", str(db["campaign_id"]),
                            "--out", str(zip_path)])
    assert r.exit_code == 0, r.output
    assert zipfile.ZipFile(zip_path).namelist() == ["00-muc-luc.docx", "01-bia_ho_so.docx", "02-to_trinh.docx"]
    assert "Chưa có" in r.output


def test_settings_command_changes_the_signature(app, db):
    r = CliRunner().invoke(app, ["docs", "settings", "P1S1", "--mode", "Q"])
    assert r.exit_code == 0 and "signature_mode: Q" in r.output


def test_errors_are_vietnamese_with_an_exit_code(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"}
    proc = subprocess.run([sys.executable, "-m", "cdsflow", "docs", "sample", "khong_co", str(tmp_path / "x.docx")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Không có mẫu cho loại «khong_co»" in proc.stderr
