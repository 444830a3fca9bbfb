"""Index-set files: the shipped sets load, and broken files are refused naming file, item, problem."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from cdsflow.assessment.files import load_index_set_file, shipped_index_sets
from cdsflow.assessment.loader import IndexSetError, check_cover, load_yaml_text, parse_index_set, parse_interval
from cdsflow.assessment.model import AnswerKind, LevelScope


@pytest.fixture
def s4725():
    return shipped_index_sets()["4725"]


def _broken(s4725, mutate) -> IndexSetError:
    data = copy.deepcopy(s4725.content)
    mutate(data)
    with pytest.raises(IndexSetError) as err:
        parse_index_set(data, "thu.yaml")
    return err.value


def _crit(data, code):
    for g in data["groups"]:
        for c in g["criteria"]:
            if c["code"] == code:
                return c
            for i in c.get("items", []):
                if i["code"] == code:
                    return i
    raise KeyError(code)


def test_shipped_sets_are_4725_in_full_and_two_provisional_frames():
    sets = shipped_index_sets()
    assert set(sets) == {"4725", "3276", "3806"}
    s = sets["4725"]
    assert not s.provisional and s.scorable
    assert [g.max_points for g in s.groups] == [100, 100]
    assert [c for c, crit in s.criteria.items() if crit.mandatory] == ["1.1", "1.2", "2.1", "2.2"]
    assert len(s.items) == 30
    assert s.items["2.5"].kind is AnswerKind.CHOICE
    assert s.items["1.5.1"].kind is AnswerKind.POINTS and s.items["1.5.1"].uncertain
    assert "chưa tìm thấy" in s.items["1.5.1"].source.lower()  # where the figure came from: for maintainers
    for code in ("3276", "3806"):
        frame = sets[code]
        assert frame.provisional and not frame.scorable and frame.items == {}
    assert sets["3806"].level_scope is LevelScope.TOTAL


def test_content_hash_is_of_the_content_not_the_file_layout(s4725):
    again = parse_index_set(copy.deepcopy(s4725.content), "khac.yaml")
    assert again.content_hash == s4725.content_hash and len(s4725.content_hash) == 64
    changed = copy.deepcopy(s4725.content)
    _crit(changed, "1.4")["label"] += " (sửa)"
    assert parse_index_set(changed).content_hash != s4725.content_hash


def test_duplicate_codes_are_named(s4725):
    err = _broken(s4725, lambda d: _crit(d, "1.3.2").update(code="1.3.1"))
    assert "thu.yaml" in err.message
    assert any("trùng: 1.3.1" in d for d in err.details)


def test_items_must_sum_to_the_criterion_and_criteria_to_the_group(s4725):
    err = _broken(s4725, lambda d: _crit(d, "1.3.1").update(max_points=7))
    assert any(d.startswith("thu.yaml: tiêu chí 1.3:") and "(31)" in d and "(30)" in d for d in err.details)
    err = _broken(s4725, lambda d: d["groups"][1].update(max_points=90))
    assert any("nhóm 2" in d and "(100)" in d and "(90)" in d for d in err.details)


def test_overlapping_and_gapped_tiers_are_refused(s4725):
    err = _broken(s4725, lambda d: _crit(d, "1.4")["tiers"][1].update(range="[1, 25)"))
    assert any("1.4" in d and "chồng lên" in d for d in err.details)
    err = _broken(s4725, lambda d: _crit(d, "1.4")["tiers"][2].update(range="[21, 40)"))
    assert any("1.4" in d and "bỏ trống" in d for d in err.details)
    err = _broken(s4725, lambda d: _crit(d, "1.6.2")["tiers"][3].update(range="(60, 90]"))
    assert any("1.6.2" in d and "100" in d for d in err.details)


def test_tier_points_may_not_fall_or_exceed_the_cap(s4725):
    err = _broken(s4725, lambda d: _crit(d, "1.4")["tiers"][3].update(points=5))
    assert any("1.4" in d and "không được giảm" in d for d in err.details)
    err = _broken(s4725, lambda d: _crit(d, "1.4")["tiers"][3].update(points=12))
    assert any("1.4" in d and "vượt điểm tối đa" in d for d in err.details)


def test_unknown_answer_kind_and_keys(s4725):
    err = _broken(s4725, lambda d: _crit(d, "2.3.2").update(answer="rating"))
    assert any("mục 2.3.2" in d and "loại trả lời không rõ 'rating'" in d for d in err.details)
    err = _broken(s4725, lambda d: _crit(d, "2.3.2").update(maxpoints=6))
    assert any("2.3.2" in d and "khóa không rõ 'maxpoints'" in d for d in err.details)


def test_level_bands_must_cover_0_to_max_without_gaps(s4725):
    err = _broken(s4725, lambda d: d["levels"]["bands"][1].update(range="[51, 75]"))
    assert any("levels" in d and "bỏ trống" in d for d in err.details)
    err = _broken(s4725, lambda d: d["levels"]["bands"][1].update(range="[49, 75]"))
    assert any("levels" in d and "chồng lên" in d for d in err.details)


def test_mandatory_must_be_an_unscored_yes_no(s4725):
    err = _broken(s4725, lambda d: _crit(d, "1.1").update(max_points=5))
    assert any("tiêu chí 1.1" in d and "điều kiện bắt buộc" in d for d in err.details)


def test_a_non_provisional_set_needs_criteria_and_thresholds():
    frame = copy.deepcopy(shipped_index_sets()["3806"].content)
    frame["provisional"] = False
    with pytest.raises(IndexSetError) as err:
        parse_index_set(frame, "3806.yaml")
    assert any("ngưỡng điểm" in d for d in err.value.details)
    assert any("chưa có tiêu chí" in d for d in err.value.details)


def test_every_problem_is_reported_at_once(s4725):
    def many(d):
        _crit(d, "1.3.1").update(max_points=7)
        _crit(d, "2.3.2").update(answer="rating")
        d["policy"]["overall_level"] = "avg"
    err = _broken(s4725, many)
    assert len(err.details) >= 3
    assert any("overall_level không rõ 'avg'" in d for d in err.details)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    bad = tmp_path / "hong.yaml"
    bad.write_text("code: '4725'\ngroups: [\n  - a: b\n", encoding="utf-8")
    with pytest.raises(IndexSetError) as err:
        load_index_set_file(bad)
    assert "hong.yaml" in err.value.message and "dòng" in err.value.message


def test_missing_file_and_wrong_extension(tmp_path):
    with pytest.raises(IndexSetError):
        load_index_set_file(tmp_path / "khong-co.yaml")
    other = tmp_path / "a.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(IndexSetError, match=".yaml"):
        load_index_set_file(other)


def test_numeric_code_must_be_quoted():
    with pytest.raises(IndexSetError) as err:
        load_yaml_text("code: '1'\nversion: '1'\ntitle: t\nlevels: {bands: [{level: 1, name: a, range: '[0, 10]'}]}\n"
                       "groups: [{code: 1.5, name: n, max_points: 10, "
                       "criteria: [{code: a, label: b, answer: points, max_points: 10}]}]\n",
                       "so.yaml")
    assert any("dấu nháy" in d for d in err.value.details)


@pytest.mark.parametrize("text,inside,outside", [
    ("[0, 50)", ["0", "49.5"], ["50", "-1"]),
    ("[50, 75]", ["50", "75"], ["49.99", "75.5"]),
    ("(75, 100]", ["75.5", "100"], ["75"]),
    ("[40, )", ["40", "100000"], ["39"]),
])
def test_intervals(text, inside, outside):
    iv = parse_interval(text)
    assert all(iv.contains(Decimal(x)) for x in inside)
    assert not any(iv.contains(Decimal(x)) for x in outside)
    assert parse_interval(iv.text) == iv


def test_bad_interval_text():
    for text in ("0-50", "[50, 10]", "(5, 5]", None):
        with pytest.raises(ValueError):
            parse_interval(text)


def test_check_cover_accepts_exact_partitions():
    iv = [parse_interval(t) for t in ("[0, 50)", "[50, 75]", "(75, 100]")]
    assert check_cover(iv, Decimal(0), Decimal(100)) == []
    assert check_cover(iv[:2], Decimal(0), Decimal(100))


def test_yaml_problems_point_at_the_line_of_the_item(tmp_path):
    path = tmp_path / "dong.yaml"
    path.write_text(
        'code: "x"\nversion: "1"\ntitle: "Thử"\nlevels:\n  bands:\n    - {level: 1, name: a, range: "[0, 10]"}\n'
        'groups:\n  - code: "1"\n    name: Nhóm\n    max_points: 10\n    criteria:\n'
        '      - code: "1.1"\n        label: A\n        answer: rating\n        max_points: 10\n',
        encoding="utf-8",
    )
    with pytest.raises(IndexSetError) as err:
        load_index_set_file(path)
    assert err.value.details == [
        "dong.yaml: tiêu chí 1.1 (dòng 12): loại trả lời không rõ 'rating' (dùng: yes_no, count, percentage, choice, points)"
    ]


def test_who_a_set_covers_is_validated_data(s4725):
    err = _broken(s4725, lambda d: d.update(covers={"unit_kinds": ["school", "lop_hoc"], "education_levels": ["dai_hoc"]}))
    text = " ".join(err.details)
    assert "lop_hoc" in text and "dai_hoc" in text
    err = _broken(s4725, lambda d: d.update(covers={"unit_kinds": ["school"]}))
    assert any("cấp học" in d for d in err.details)
