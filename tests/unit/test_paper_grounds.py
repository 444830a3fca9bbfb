"""documents/grounds.py: which căn cứ a paper may cite on its date."""
from datetime import date

from cdsflow.documents.grounds import grounds_in_force, stale_reason

PLAN_2025 = "Kế hoạch số 330/KH-SGDĐT ngày 05/02/2025 của Sở GDĐT Hà Nội"
DISTRICT = "Đề án số 1044/ĐA-UBND ngày 25/5/2021 của UBND quận Ba Đình"
PRESCHOOL = "Quyết định số 3276/QĐ-BGDĐT ngày 30/10/2024 của Bộ GDĐT"
GENERAL = "Quyết định số 4725/QĐ-BGDĐT ngày 30/12/2022 của Bộ GDĐT"


def test_a_2026_paper_cites_neither_the_old_plan_nor_the_district_nor_an_unused_index_set():
    kept = grounds_in_force([GENERAL, PRESCHOOL, PLAN_2025, DISTRICT], day=date(2026, 10, 1), school_year="2026-2027",
                            index_sets=["4725"], known_sets=["4725", "3276", "3806"])
    assert kept == [GENERAL]
    assert "năm học trước" in stale_reason(PLAN_2025, day=date(2026, 10, 1), school_year="2026-2027",
                                           index_sets=["4725"], known_sets=["4725"])


def test_before_the_reform_the_same_grounds_stand():
    kept = grounds_in_force([GENERAL, PLAN_2025, DISTRICT], day=date(2025, 3, 10), school_year="2024-2025",
                            index_sets=["4725"], known_sets=["4725", "3276"])
    assert kept == [GENERAL, PLAN_2025, DISTRICT]
