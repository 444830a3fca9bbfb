"""`cdsflow backup` then `cdsflow restore` into an empty home (and an empty database): the same
campaign, the same numbered papers (byte for byte), the same uploaded evidence file."""
from __future__ import annotations

import os
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import fresh_postgres_database
from tests.e2e.cli import Cli
from tests.e2e.served import login, served
from tests.factories import tiny_pdf

CDSFLOW = [sys.executable, "-m", "cdsflow"]


class HomeCli(Cli):
    """The real command with its own data home; the database is the home's SQLite file unless given."""

    def __init__(self, tmp_path, home, database_url: str | None = None) -> None:
        super().__init__(tmp_path)
        self.env["CDSFLOW_HOME"] = str(home)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL")


def _postgres_pair() -> tuple[str, str]:
    """The shared test database emptied, and an empty database to restore into."""
    url = os.environ["TEST_DATABASE_URL"]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    admin.dispose()
    return url, fresh_postgres_database("cdsflow_restore")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request):
    return (None, None) if request.param == "sqlite" else _postgres_pair()


def test_backup_restores_into_an_empty_home(tmp_path, databases):
    source_url, target_url = databases
    a = HomeCli(tmp_path, tmp_path / "home-a", source_url)
    a("init")
    a("demo")
    a("account", "demo")
    a("docs", "generate", "qd_hoi_dong", "--school", "DEMO-TH-KD", "--campaign", "1", "--out", str(tmp_path / "out"))
    pdf = tiny_pdf("minh chung " + uuid.uuid4().hex)
    with served(CDSFLOW, a.env, tmp_path) as base:
        head = login(base, "hieutruong", "demo-hieutruong")
        mine = head.get("/api/me").json()["unit_name"]
        officer = login(base, "chuyenvien", "demo-chuyenvien")
        (school,) = [s for page in (1, 2, 3) for s in officer.get(f"/api/campaigns/1/schools?page={page}").json()
                     if s["school_name"] == mine]
        r = head.post(f"/assessments/{school['assessment_id']}/evidence",
                      data={"csrf_token": head.headers["X-CSRF-Token"], "criterion": "1.1", "title": "Kế hoạch"},
                      files={"file": ("ke-hoach.pdf", pdf, "application/pdf")})
        assert r.status_code == 303, r.text
        listed = head.get(f"/api/assessments/{school['assessment_id']}/evidence").json()
        (evidence,) = [e for e in listed if e.get("title") == "Kế hoạch"]
    uploads = [p for p in (tmp_path / "home-a" / "uploads").rglob("*") if p.is_file()]
    # The evidence, and the demo's decision signed with its test certificate (its signed copy).
    assert sorted(p.parent.name for p in uploads) == ["evidence", "signed"]
    assert [p.read_bytes() for p in uploads if p.parent.name == "evidence"] == [pdf]
    before = {cmd: a(*cmd.split()).stdout for cmd in ("campaign status 1", "docs register", "campaign list")}
    a("docs", "reproduce", "1", str(tmp_path / "before.docx"))

    done = a("backup", str(tmp_path / "sao-luu.tar.gz"))
    assert "Đã sao lưu" in done.stdout and "2 tệp" in done.stdout

    b = HomeCli(tmp_path, tmp_path / "home-b", target_url)  # empty home, empty database
    done = b("restore", str(tmp_path / "sao-luu.tar.gz"))
    assert "Đã khôi phục" in done.stdout
    after = {cmd: b(*cmd.split()).stdout for cmd in before}
    assert after == before
    assert "QĐ-THKĐ" in after["docs register"] and "2 văn bản đã cấp số" in after["docs register"]
    b("docs", "reproduce", "1", str(tmp_path / "after.docx"))
    assert (tmp_path / "after.docx").read_bytes() == (tmp_path / "before.docx").read_bytes()
    with served(CDSFLOW, b.env, tmp_path) as base:
        officer = login(base, "chuyenvien", "demo-chuyenvien")  # accounts came back too
        got = officer.get(f"/evidence/{evidence['id']}/file")
        assert got.status_code == 200 and got.content == pdf
        assert officer.get("/readyz").json()["status"] == "ready"

    # A second restore onto data refuses, says why in Vietnamese and changes nothing.
    (tmp_path / "home-b" / "uploads" / "marker").write_text("x")
    refused = b("restore", str(tmp_path / "sao-luu.tar.gz"), ok=False)
    assert refused.returncode == 2 and "Nơi khôi phục đã có dữ liệu" in refused.stderr
    assert (tmp_path / "home-b" / "uploads" / "marker").exists()
    assert b("campaign", "status", "1").stdout == before["campaign status 1"]


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    b = HomeCli(tmp_path, tmp_path / "home")
    (tmp_path / "x.tar.gz").write_bytes(b"not a tarball")
    done = b("restore", str(tmp_path / "x.tar.gz"), ok=False)
    assert done.returncode == 2 and "Không đọc được tệp sao lưu x.tar.gz" in done.stderr
    assert not (tmp_path / "home" / "cdsflow.db").exists() or b("campaign", "list", ok=False).returncode != 0
