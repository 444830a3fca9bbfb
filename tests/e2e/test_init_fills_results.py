"""`cdsflow init` on a database scored before the lists' result table existed fills that table once:
the schools list filters levels from it, so an empty table would list every scored school as unscored."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.e2e.cli import Cli


def test_init_fills_the_result_lines_of_an_older_database(tmp_path):
    cli = Cli(tmp_path)
    cli("init")
    cli("demo")
    engine = create_engine(cli.env["DATABASE_URL"])
    with engine.begin() as conn:
        before = conn.execute(text("SELECT count(*) FROM assessment_result")).scalar_one()
        conn.execute(text("DELETE FROM assessment_result"))  # as a database from before the table
    assert before > 0
    out = cli("init").stdout
    assert f"Đã lập bảng kết quả cho danh sách: {before} hồ sơ đã có điểm." in out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assessment_result")).scalar_one() == before
    assert "Đã lập bảng kết quả" not in cli("init").stdout  # once: a filled table is left alone
    engine.dispose()
