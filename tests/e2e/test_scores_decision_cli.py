"""Issue 23 through the command line: a rate read the same whatever its spelling (YAML and an
openpyxl-made workbook), answers from an earlier form refused by item, unconfirmed tiers that
advise, `indexset diff` and `score rescore` on the shipped sets, stored results that keep their
version."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from sqlmodel import Session, select

from cdsflow.assessment.files import load_index_set_file, shipped_index_sets
from cdsflow.services.indexsets import pin_index_set
from cdsflow.storage.assessment_tables import AssessmentAnswer, AssessmentScore
from cdsflow.storage.db import make_engine
from cdsflow.storage.tables import Assessment, AssessmentEvent, Campaign
from tests.e2e.test_indexset_cli import assessment_id, cli  # noqa: F401  (fixtures)

S = shipped_index_sets()["4725"]
OLD_FILE = Path(__file__).with_name("fixtures_4725_before_1_6_1_rate.yaml")


def stored(tmp_path, aid):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as s:
        row = s.exec(select(AssessmentScore).where(AssessmentScore.assessment_id == aid)).first()
        answers = {a.item_code: a.value for a in s.exec(select(AssessmentAnswer)
                                                        .where(AssessmentAnswer.assessment_id == aid))}
    engine.dispose()
    return (dict(row.item_points) if row else {}), answers


def answer_file(tmp_path, answers, *, digest=S.digest, name="a.yaml"):
    path = tmp_path / name
    head = {"index_set": "4725", "version": S.version, **({"digest": digest} if digest else {})}
    path.write_text(yaml.safe_dump({**head, "answers": answers}, allow_unicode=True), encoding="utf-8")
    return path


# ---------------------------------------------------------------- one rate reader, YAML


@pytest.mark.parametrize(("spelling", "points"), [
    (70, 7), ("70", 7), ("70%", 7), ("70 %", 7), ("0,7%", 2), ("29,5", 2), ("30%", 4),
])
def test_a_rate_in_an_answer_file_reads_as_people_write_it(cli, tmp_path, assessment_id, spelling, points):  # noqa: F811
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.2": spelling}), "--assessment", assessment_id,
            "--by", "Nguyễn Thị Lan")
    assert r.exit_code == 0, r.output
    item_points, _ = stored(tmp_path, assessment_id)
    assert item_points["1.6.2"] == points


@pytest.mark.parametrize("spelling", ["0,7", "0.7", 0.7])
def test_a_bare_rate_under_one_is_refused_naming_the_item_and_what_to_write(cli, tmp_path, assessment_id,  # noqa: F811
                                                                             spelling):
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.2": spelling, "1.3.1": "có"}), "--assessment",
            assessment_id, "--by", "Nguyễn Thị Lan")
    assert r.exit_code != 0
    text = " ".join(r.output.split())
    assert "1.6.2" in text and "ghi 70 hoặc 70%" in text
    assert stored(tmp_path, assessment_id) == ({}, {})  # nothing kept


def test_a_percent_sign_on_a_count_is_refused_not_dropped(cli, tmp_path, assessment_id):  # noqa: F811
    r = cli("score", "enter", answer_file(tmp_path, {"1.4": "45%"}), "--assessment", assessment_id, "--by", "Lan")
    assert r.exit_code != 0 and "1.4" in r.output and "không ghi dấu %" in " ".join(r.output.split())
    assert stored(tmp_path, assessment_id) == ({}, {})


# ---------------------------------------------------------------- one rate reader, Excel


@pytest.mark.parametrize(("value", "fmt", "points"), [
    (0.7, None, 7),  # 70 typed in the form's %-formatted cell: Excel keeps 0.7
    (70, "General", 7),
    ("70%", "@", 7),
    ("70 %", "@", 7),
    (0.007, "0.0%", 2),  # "0,7%" typed
])
def test_a_rate_in_the_answer_workbook_reads_as_meant(cli, tmp_path, assessment_id, value, fmt, points):  # noqa: F811
    path = tmp_path / "phieu.xlsx"
    assert cli("score", "form", "4725", path).exit_code == 0
    wb = load_workbook(path)
    ws = wb["Trả lời"]
    row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "1.6.2")
    row[5].value = value
    if fmt:
        row[5].number_format = fmt
    wb.save(path)
    r = cli("score", "enter", path, "--assessment", assessment_id, "--by", "Lan")
    assert r.exit_code == 0, r.output
    assert stored(tmp_path, assessment_id)[0]["1.6.2"] == points


@pytest.mark.parametrize(("value", "fmt"), [("0,7", "@"), ("0.7", "@"), (0.7, "General")])
def test_a_bare_rate_under_one_in_a_workbook_is_refused_by_its_cell(cli, tmp_path, assessment_id, value,  # noqa: F811
                                                                     fmt):
    path = tmp_path / "phieu.xlsx"
    assert cli("score", "form", "4725", path).exit_code == 0
    wb = load_workbook(path)
    ws = wb["Trả lời"]
    row = next(r for r in ws.iter_rows(min_row=3) if r[0].value == "1.6.2")
    row[5].value, row[5].number_format = value, fmt
    wb.save(path)
    r = cli("score", "enter", path, "--assessment", assessment_id, "--by", "Lan")
    text = " ".join(r.output.split())
    assert r.exit_code != 0 and f"Ô F{row[5].row}" in text and "1.6.2" in text and "ghi 70 hoặc 70%" in text
    assert stored(tmp_path, assessment_id) == ({}, {})


# ---------------------------------------------------------------- versions


def test_the_earlier_form_answer_is_refused_naming_1_6_1(cli, tmp_path, assessment_id):  # noqa: F811
    old = load_index_set_file(OLD_FILE)
    for digest in (old.digest, None):
        r = cli("score", "enter", answer_file(tmp_path, {"1.6.1": 5, "1.6.2": 45}, digest=digest), "--assessment",
                assessment_id, "--by", "Lan")
        text = " ".join(r.output.split())
        assert r.exit_code != 0 and "mục 1.6.1 đã đổi nghĩa" in text
        assert "điểm do người đánh giá cho" in text and "tỉ lệ %" in text and "45%" in text  # both meanings, what to write
        assert stored(tmp_path, assessment_id) == ({}, {})
    # Written the new way it is read: 5 % → the (0, 30) tier
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.1": "5%"}, digest=None), "--assessment", assessment_id,
            "--by", "Lan")
    assert r.exit_code == 0, r.output and stored(tmp_path, assessment_id)[0]["1.6.1"] == 2


def test_the_blank_form_carries_the_version_and_digest(cli, tmp_path):  # noqa: F811
    assert cli("score", "form", "4725", tmp_path / "f.yaml").exit_code == 0
    data = yaml.safe_load((tmp_path / "f.yaml").read_text(encoding="utf-8"))
    assert (data["version"], data["digest"]) == (S.version, S.digest)
    assert cli("score", "form", "4725", tmp_path / "f.xlsx").exit_code == 0
    head = [c.value for c in load_workbook(tmp_path / "f.xlsx")["Trả lời"][2]]
    assert head[3] == S.version and head[7] == S.content_hash


def test_indexset_diff_names_the_item_whose_meaning_changed(cli):  # noqa: F811
    r = cli("indexset", "diff", OLD_FILE, "4725")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "1.6.1" in text and "points" in text and "percentage" in text and "1.6.2" not in text.split("Nay")[1]


def _campaign_on_old_version(tmp_path, aid, answers):
    """The demo made before the change: a campaign launched on the earlier content, answers stored."""
    old = load_index_set_file(OLD_FILE)
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as s:
        pin_index_set(s, old)
        a = s.get(Assessment, aid)
        camp = s.get(Campaign, a.campaign_id)
        camp.index_set_hash, camp.index_set_version = old.content_hash, old.version
        s.add(camp)
        s.commit()
        cid = camp.id
    engine.dispose()
    return old, cid


def test_stored_results_keep_their_version_and_rescore_is_an_officers_recorded_act(  # noqa: F811
        cli, tmp_path, assessment_id):  # noqa: F811
    old, cid = _campaign_on_old_version(tmp_path, assessment_id, {})
    answers = {c: (True if i.kind.value == "yes_no" else 0) for c, i in old.items.items()}
    answers.update({"1.6.1": 5, "1.6.2": 45, "2.5": "khong"})
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({"index_set": "4725", "digest": old.digest, "answers": answers}), encoding="utf-8")
    r = cli("score", "enter", path, "--assessment", assessment_id, "--by", "Lan")
    assert r.exit_code == 0, r.output  # the campaign scores under the version it launched with
    before = stored(tmp_path, assessment_id)[0]
    assert before["1.6.1"] == 5  # 5 points, as the earlier form meant
    # Upgrading (the shipped 4725 changed) does not move it: the file is scored under its version.
    r = cli("score", "compare", "--assessment", assessment_id)
    assert r.exit_code == 0 and stored(tmp_path, assessment_id)[0] == before
    assert "5" in [c.strip() for c in r.output.split("1.6.1")[1].split("│")[2:3]]
    # The dry run lists the school and why; nothing changes.
    r = cli("score", "rescore", "--campaign", cid, "--to", "4725", "--dry-run")
    text = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert "Trường TH A" in text and "1.6.1" in text and "xem trước" in text
    assert stored(tmp_path, assessment_id)[0] == before
    # Applying is the officer's act: the answer whose meaning changed is set aside to be answered
    # again (not reread as 5 %), and the act is recorded in the school's history.
    r = cli("score", "rescore", "--campaign", cid, "--to", "4725", "--by", "Trần Minh Tuấn", "--reason", "Bản mới")
    assert r.exit_code == 0, r.output
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as s:
        assert s.get(Campaign, cid).index_set_hash == S.content_hash
        event = s.exec(select(AssessmentEvent).where(AssessmentEvent.trigger == "rescore")).one()
        score_row = s.exec(select(AssessmentScore).where(AssessmentScore.assessment_id == assessment_id)).one()
    engine.dispose()
    assert event.actor == "Trần Minh Tuấn" and event.details["index_set_from"] == old.content_hash
    assert event.details["cleared"] == {"self": ["1.6.1"]}
    assert score_row.index_set_hash == S.content_hash and score_row.item_points["1.6.1"] is None
    assert "1.6.1" not in stored(tmp_path, assessment_id)[1] or stored(tmp_path, assessment_id)[1]["1.6.1"] is None


# ---------------------------------------------------------------- unconfirmed tiers advise


def test_an_unconfirmed_tier_advises_and_does_not_cap(cli, tmp_path, assessment_id):  # noqa: F811
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.1": {"value": "10%", "points": 5}}), "--assessment",
            assessment_id, "--by", "Lan")
    assert r.exit_code == 0, r.output
    assert "bậc điểm chưa xác nhận" in " ".join(r.output.split())
    assert stored(tmp_path, assessment_id)[0]["1.6.1"] == 5
    # A confirmed tier still caps: 1.6.2's (0, 30) tier gives at most 2.
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.2": {"value": "10%", "points": 5}}), "--assessment",
            assessment_id, "--by", "Lan")
    assert r.exit_code != 0 and "vượt mức tối đa 2" in " ".join(r.output.split())
    # Beyond the item's maximum is refused even on an unconfirmed tier.
    r = cli("score", "enter", answer_file(tmp_path, {"1.6.1": {"value": "10%", "points": 8}}), "--assessment",
            assessment_id, "--by", "Lan")
    assert r.exit_code != 0 and "vượt mức tối đa 7" in " ".join(r.output.split())
