"""The indexset / score / evidence commands end to end (CliRunner, one real subprocess)."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from sqlmodel import Session
from typer.testing import CliRunner

from cdsflow.app import cli_indexset
from cdsflow.assessment.files import shipped_index_sets
from cdsflow.storage.db import make_engine
from cdsflow.storage.migrate import init_db
from cdsflow.storage.tables import Assessment, Campaign, CommitteeMember, Unit

ROOT = Path(__file__).resolve().parents[2]
S = shipped_index_sets()["4725"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    init_db(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))  # what `cdsflow init` does first
    app = typer.Typer()
    cli_indexset.register(app)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return run


@pytest.fixture
def assessment_id(tmp_path, cli):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    init_db(engine)
    with Session(engine) as s:
        bureau = Unit(code="p", name="Phòng GDĐT", short_code="P", kind="bureau")
        school = Unit(code="s", name="Trường TH A", short_code="THA", kind="school")
        s.add_all([bureau, school])
        s.flush()
        camp = Campaign(issuer_id=bureau.id, school_year="2024-2025", title="KH", index_set_code="4725",
                        index_set_hash=S.content_hash, status="launched")
        s.add(camp)
        s.flush()
        a = Assessment(campaign_id=camp.id, school_id=school.id, state="self_assessment")
        s.add(a)
        s.flush()
        s.add(CommitteeMember(assessment_id=a.id, full_name="Nguyễn Thị Lan", role="chair"))
        s.commit()
        aid = a.id
    engine.dispose()
    return aid


def test_list_and_show(cli):
    r = cli("indexset", "list")
    assert r.exit_code == 0 and "4725" in r.output and "tạm thời" in r.output and "chính thức" in r.output
    r = cli("indexset", "show", "4725")
    assert r.exit_code == 0
    assert "Mức đáp ứng tốt" in r.output and "1.6.2" in r.output and "(75, 100]" in r.output
    r = cli("indexset", "show", "3806")
    assert r.exit_code == 0 and "TẠM THỜI" in r.output


def test_blank_form_filled_and_scored(cli, tmp_path):
    form = tmp_path / "phieu.yaml"
    assert cli("score", "form", "4725", form).exit_code == 0
    data = yaml.safe_load(form.read_text(encoding="utf-8"))
    assert data["index_set"] == "4725" and len(data["answers"]) == 30
    data["answers"].update({"1.4": 25, "2.5": "pdf", "1.3.1": "có", "1.6.2": 45})
    form.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = cli("score", "show", "4725", form)
    assert r.exit_code == 0, r.output
    assert "Nhóm 1: 16/100 điểm — Mức 1 (Mức chưa đáp ứng)" in r.output
    assert "Nhóm 2: 3/100 điểm" in r.output and "Còn 26 mục chưa chấm" in r.output


def test_xlsx_form_round_trip(cli, tmp_path):
    from openpyxl import load_workbook

    form = tmp_path / "phieu.xlsx"
    assert cli("score", "form", "4725", form).exit_code == 0
    wb = load_workbook(form)
    ws = wb["Trả lời"]
    for row in ws.iter_rows(min_row=3):
        if row[0].value == "1.4":
            row[5].value, row[6].value = 45, 8
        if row[0].value == "2.3.3":
            row[5].value = 10
    wb.save(form)
    r = cli("score", "show", "4725", form)
    assert r.exit_code == 0, r.output
    # 45 falls in the unconfirmed [40, ) tier: it advises 10, the item's maximum (10) caps
    assert "Nhóm 1: 8/100" in r.output and "Nhóm 2: 10/100" in r.output and "cho 8/10" in r.output
    assert "bậc điểm chưa xác nhận" in r.output


def test_bad_answer_is_named_in_vietnamese(cli, tmp_path):
    form = tmp_path / "a.yaml"
    form.write_text('index_set: "4725"\nanswers:\n  "1.6.2": 130\n  "9.9": 1\n', encoding="utf-8")
    r = cli("score", "show", "4725", form)
    assert r.exit_code == 2
    assert "mục 1.6.2: tỉ lệ 130% vượt quá 100%" in r.output and "mục 9.9 không có" in r.output


def test_template_check_import(cli, tmp_path):
    out = tmp_path / "mau.xlsx"
    r = cli("indexset", "template", out, "--from", "4725")
    assert r.exit_code == 0 and out.exists()
    r = cli("indexset", "check", out)
    assert r.exit_code == 0 and S.content_hash[:12] in r.output
    blank = tmp_path / "trong.xlsx"
    assert cli("indexset", "template", blank).exit_code == 0
    r = cli("indexset", "check", blank)
    assert r.exit_code == 2 and "trong.xlsx" in r.output and "thiếu" in r.output
    data = copy.deepcopy(S.content)
    data["version"] = "2025"
    new = tmp_path / "4725-2025.yaml"
    new.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = cli("indexset", "import", new, "--by", "Sở")
    assert r.exit_code == 0 and "phiên bản 2025" in r.output
    r = cli("indexset", "list")
    assert "đã nhập" in r.output
    data["groups"][0]["criteria"][2]["items"][0]["max_points"] = 7
    new.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = cli("indexset", "import", new)
    assert r.exit_code == 2 and "tiêu chí 1.3" in r.output


def test_enter_answers_evidence_and_gaps(cli, tmp_path, assessment_id):
    form = tmp_path / "a.yaml"
    answers = {c: (True if i.kind.value == "yes_no" else 0) for c, i in S.items.items()}
    # 1.6.1 changed meaning (points → rate): a file naming no version writes the rate with its sign
    answers.update({"1.4": 25, "2.5": "khong", "1.6.1": "0%"})
    form.write_text(yaml.safe_dump({"index_set": "4725", "answers": answers}, allow_unicode=True), encoding="utf-8")
    r = cli("score", "enter", form, "--assessment", assessment_id, "--by", "Nguyễn Thị Lan")
    assert r.exit_code == 0, r.output
    assert "Đã lưu 30 câu trả lời" in r.output
    r = cli("score", "gaps", "--assessment", assessment_id)
    assert r.exit_code == 1 and "Tiêu chí 1.4 chưa có minh chứng" in r.output
    r = cli("evidence", "add", "--assessment", assessment_id, "--criterion", "1.4", "--title", "Danh mục học liệu",
            "--link", "https://truong.edu.vn/hoc-lieu", "--date", "2024-09-05")
    assert r.exit_code == 0, r.output
    r = cli("evidence", "list", "--assessment", assessment_id)
    assert "Danh mục học liệu" in r.output and "05/09/2024" in r.output
    r = cli("evidence", "add", "--assessment", assessment_id, "--criterion", "1.4", "--title", "X", "--date", "5/9/2024",
            "--link", "https://a.vn")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = cli("evidence", "assign", "--assessment", assessment_id, "--criterion", "1.4", "--member", 1, "--role", "chu_tri")
    assert r.exit_code == 0, r.output
    r = cli("evidence", "progress", "--assessment", assessment_id)
    assert "Nguyễn Thị Lan" in r.output
    r = cli("score", "compare", "--assessment", assessment_id)
    assert r.exit_code == 0 and "Tự đánh giá" in r.output


def test_real_command_line_is_wired():
    out = subprocess.run([sys.executable, "-m", "cdsflow", "indexset", "check",
                          str(ROOT / "cdsflow/assessment/indexsets/4725.yaml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "hợp lệ" in out.stdout and "30 mục" in out.stdout


def test_rollover_command(cli, assessment_id, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as s:
        old = s.get(Assessment, assessment_id)
        camp = Campaign(issuer_id=1, school_year="2025-2026", title="KH 2025", index_set_code="4725",
                        index_set_hash=S.content_hash, status="launched")
        s.add(camp)
        s.flush()
        new = Assessment(campaign_id=camp.id, school_id=old.school_id, state="plan_issued")
        s.add(new)
        s.commit()
        new_id = new.id
    engine.dispose()
    assert cli("evidence", "add", "--assessment", assessment_id, "--criterion", "1.2", "--title", "Quy chế",
               "--link", "https://a.vn/qc").exit_code == 0
    r = cli("evidence", "rollover", "--from", assessment_id, "--to", new_id)
    assert r.exit_code == 0, r.output
    assert "Đã chép 1 thành viên, 0 phân công, 1 minh chứng" in r.output


def test_xlsx_form_validates_cells_and_reads_rates_as_meant(cli, tmp_path):
    from openpyxl import load_workbook

    form = tmp_path / "phieu.xlsx"
    assert cli("score", "form", "4725", form).exit_code == 0
    wb = load_workbook(form)
    ws = wb["Trả lời"]
    rows = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    checks = {str(c.sqref): (c.type, c.formula1, c.formula2) for c in ws.data_validations.dataValidation}
    f = lambda code: rows[code][5].coordinate  # noqa: E731
    assert checks[f("1.1")] == ("list", '"có,không"', None)
    assert checks[f("2.5")][0] == "list" and "ky_so" in checks[f("2.5")][1]
    assert checks[f("1.4")][:2] == ("whole", "0")
    assert checks[f("1.6.2")] == ("decimal", "0", "1") and "%" in rows["1.6.2"][5].number_format
    assert checks[f("2.3.1")][0] == "decimal"
    # what Excel stores: "70%" typed → 0.7 in a %-formatted cell; 85 typed in a General cell; text "70%"
    rows["1.6.2"][5].value = 0.7
    rows["1.6.1"][5].value, rows["1.6.1"][5].number_format = 85, "General"
    rows["1.7.1"][5].value, rows["1.7.1"][5].number_format = "70%", "@"
    wb.save(form)
    r = cli("score", "show", "4725", form)
    assert r.exit_code == 0, r.output
    assert "Nhóm 1: 22/100" in r.output  # 1.6.2 70 % → 7, 1.6.1 85 % → 7, 1.7.1 70 % → 8

    rows["1.4"][5].value = "nhiều"
    rows["2.3.1"][5].value, rows["2.3.1"][6].value = 5, 99
    wb.save(form)
    r = cli("score", "show", "4725", form)
    assert r.exit_code == 2
    assert f"Ô {f('1.4')}: mục 1.4: số lượng không phải là số" in r.output
    assert f"Ô {rows['2.3.1'][6].coordinate}: mục 2.3.1: điểm 99" in r.output
