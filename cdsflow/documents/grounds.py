"""Which căn cứ a paper may cite on its date: pure rules, one place (issue 22, item 4).

- From 1/7/2025 Vietnam has no district level (Nghị quyết 202/2025/QH15): a ground issued by a
  quận/huyện (an Đề án of a district People's Committee) belongs to a unit that no longer exists.
- The superior's plan is that of the campaign's school year: a plan dated before June of the
  year the school year starts was made for an earlier year and was replaced since.
- A Bộ index-set decision is cited only when the campaign uses that index set.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date

NO_DISTRICTS_FROM = date(2025, 7, 1)
DISTRICT = re.compile(r"(?<!\w)(quận|huyện)(?!\w)", re.IGNORECASE)
_DAY = re.compile(r"ngày (\d{1,2})/(\d{1,2})/(\d{4})")
_INDEX_SET = re.compile(r"(\d{3,5})/QĐ-BGDĐT")
_PLAN = re.compile(r"^(Kế hoạch|Văn bản cấp trên) số \S+/KH-")


def names_a_district(text: str) -> bool:
    return bool(DISTRICT.search(unicodedata.normalize("NFC", text)))


def _day(text: str) -> date | None:
    m = _DAY.search(text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def school_year_opens(school_year: str) -> date | None:
    """The first day a plan of `school_year` («2026-2027») may carry: 1 June of its first year."""
    try:
        return date(int(school_year[:4]), 6, 1)
    except ValueError:
        return None


def stale_reason(ground: str, *, day: date, school_year: str, index_sets: Iterable[str],
                 known_sets: Iterable[str]) -> str:
    """Why `ground` may not be cited on a paper dated `day` ('' when it may)."""
    if day >= NO_DISTRICTS_FROM and names_a_district(ground):
        return "văn bản của cấp quận/huyện (không còn từ 01/7/2025)"
    sets = set(index_sets)
    other_sets = [s for s in _INDEX_SET.findall(ground) if s in set(known_sets) and s not in sets]
    if other_sets:
        return f"bộ chỉ số {', '.join(other_sets)} không dùng trong đợt đánh giá này"
    opens, issued = school_year_opens(school_year), _day(ground)
    if _PLAN.match(ground) and opens is not None and issued is not None and issued < opens:
        return f"kế hoạch của năm học trước (ngày {issued.day:02d}/{issued.month:02d}/{issued.year})"
    return ""


def grounds_in_force(grounds: Sequence[str], *, day: date, school_year: str, index_sets: Iterable[str],
                     known_sets: Iterable[str]) -> list[str]:
    """The grounds a paper dated `day` may cite, in their order."""
    sets, known = list(index_sets), list(known_sets)
    return [g for g in grounds if not stale_reason(g, day=day, school_year=school_year, index_sets=sets,
                                                   known_sets=known)]
