"""Reading at the command line asks the rule table as the web does: a unit given with `--unit` reads
what its line allows (its own file, its schools) and is refused another school's file (exit code 6);
without `--unit` the installation's administrator reads everything."""
from pathlib import Path

import pytest

from tests.e2e.cli import Cli

UNITS = Path(__file__).resolve().parents[2] / "cdsflow" / "demo" / "units.csv"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    c = Cli(tmp_path_factory.mktemp("reads"))
    c("init")
    c("units", "import", str(UNITS))
    c("campaign", "launch", "--issuer", "DEMO-PGD-BD", "--year", "2024-2025", "--index-set", "4725",
      "--calendar", "hanoi/ba-dinh-2024-2025")
    return c


def test_a_school_reads_its_own_file_and_not_another(cli):
    own = cli("assessment", "show", "DEMO-TH-KD", "--unit", "DEMO-TH-KD")
    assert "Trường Tiểu học Kim Đồng" in own.stdout and "Đã ban hành kế hoạch" in own.stdout
    other = cli("assessment", "show", "DEMO-TH-NTT", "--unit", "DEMO-TH-KD", ok=False)
    assert other.returncode == 6 and "Không thể xem hồ sơ đánh giá" in other.stderr
    assert "Trường Tiểu học Nguyễn Trung Trực" not in other.stdout
    history = cli("assessment", "history", "DEMO-TH-NTT", "--unit", "DEMO-TH-KD", ok=False)
    assert history.returncode == 6


def test_the_supervisor_and_the_administrator_read_every_school(cli):
    assert "Trường Tiểu học Nguyễn Trung Trực" in cli("assessment", "show", "DEMO-TH-NTT",
                                                      "--unit", "DEMO-PGD-BD").stdout
    assert "Trường Tiểu học Nguyễn Trung Trực" in cli("assessment", "show", "DEMO-TH-NTT").stdout


def test_a_campaigns_figures_are_read_by_its_issuer_not_by_a_school(cli):
    assert "Đã nộp tờ trình" in cli("campaign", "status", "1", "--unit", "DEMO-PGD-BD").stdout
    refused = cli("campaign", "status", "1", "--unit", "DEMO-TH-KD", ok=False)
    assert refused.returncode == 6 and "Không thể xem kế hoạch" in refused.stderr


def test_the_list_of_campaigns_and_the_review_team_follow_the_reading_lines(cli):
    listed = cli("campaign", "list", "--unit", "DEMO-PGD-BD").stdout
    assert "DEMO-PGD-BD" not in listed and "Ba Đình" in listed  # the issuer reads its campaign
    assert "Ba Đình" not in cli("campaign", "list", "--unit", "DEMO-TH-KD").stdout  # a school lists none
    assert "chưa có Đoàn đánh giá ngoài" in cli("team", "show", "1", "--unit", "DEMO-PGD-BD").stdout
    refused = cli("team", "show", "1", "--unit", "DEMO-TH-KD", ok=False)
    assert refused.returncode == 6 and "Không thể xem đoàn đánh giá ngoài" in refused.stderr
