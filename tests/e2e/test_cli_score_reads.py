"""The scoring reads of the CLI ask the rule table's reading line, as the web does: a unit that may
not read a school's file is refused (exit 6) and told why; its own school and its supervisor read it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _cli(home, *args):
    env = {**os.environ, "CDSFLOW_HOME": str(home), "COLUMNS": "200"}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "cdsflow", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    assert _cli(home, "init").returncode == 0
    done = _cli(home, "demo")
    assert done.returncode == 0, done.stderr
    return home


@pytest.mark.parametrize("command", [["score", "gaps"], ["score", "compare"], ["evidence", "list"],
                                     ["evidence", "progress"]])
def test_a_school_cannot_read_another_schools_scores(home, command):
    # Assessment 1 is DEMO-TH-KD's; DEMO-TH-NTT is another school of the same ward.
    other = _cli(home, *command, "--assessment", "1", "--unit", "DEMO-TH-NTT")
    assert other.returncode == 6, other.stdout + other.stderr
    assert "Không thể xem hồ sơ đánh giá" in other.stdout + other.stderr
    for unit in ("DEMO-TH-KD", "DEMO-PGD-BD"):  # the school itself, its ward
        ward = _cli(home, *command, "--assessment", "1", "--unit", unit)
        assert ward.returncode in (0, 1), ward.stdout + ward.stderr  # gaps exits 1 when something is missing
        assert "Không thể" not in ward.stdout + ward.stderr
