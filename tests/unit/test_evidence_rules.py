"""Pure evidence rules: what the proposal guard asks for, and what rolls over to a new year."""
from __future__ import annotations

from datetime import date

from cdsflow.assessment.evidence import evidence_needed, proposal_gaps_for, still_valid
from cdsflow.assessment.files import shipped_index_sets
from cdsflow.assessment.scoring import score

S = shipped_index_sets()["4725"]


def test_nothing_answered_lists_every_item_and_all_required_evidence():
    gaps = proposal_gaps_for(S, None, [])
    assert sum("chưa được chấm điểm" in g for g in gaps) == 30
    assert sum("chưa có minh chứng" in g for g in gaps) == len([c for c in S.criteria.values() if c.evidence_required])


def test_evidence_is_asked_only_for_what_the_school_claims():
    r = score(S, {"1.1": False, "1.2": True, "1.4": 0, "2.5": "pdf"})
    assert evidence_needed(S, r) == ["1.2", "2.5"]


def test_evidence_on_a_sub_item_covers_its_criterion():
    r = score(S, {"1.3.2": True})
    assert any(g.startswith("Tiêu chí 1.3 chưa có minh chứng") for g in proposal_gaps_for(S, r, []))
    assert not any(g.startswith("Tiêu chí 1.3 ") for g in proposal_gaps_for(S, r, ["1.3.5"]))


def test_gap_messages_name_the_item_and_what_is_expected():
    r = score(S, {"1.4": 30})
    gaps = proposal_gaps_for(S, r, [])
    assert "Mục 1.3.1 chưa được chấm điểm: Phần mềm dạy học trực tuyến trực tiếp (đồng bộ), có bản quyền" in gaps
    assert "Tiêu chí 1.4 chưa có minh chứng (cần: Đường link đến học liệu số và danh mục, số lượng học liệu)" in gaps


def test_still_valid():
    assert still_valid(None, date(2030, 1, 1))
    assert still_valid(date(2025, 5, 31), date(2025, 5, 31))
    assert not still_valid(date(2025, 5, 31), date(2025, 6, 1))
