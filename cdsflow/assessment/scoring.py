"""Scoring: a pure function from a school's raw answers to points, group totals and levels.

An answer is the raw value the item's kind asks for (True/"có", a count, a percentage, a choice
code, or points), or a mapping {value: …, points: …} when the assessor awards less than the
tier's ceiling ("tối đa"). Missing items are *unscored*, not zero: the proposal guard lists them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cdsflow.assessment.loader import to_decimal
from cdsflow.assessment.model import (
    AnswerKind,
    FailedMandatory,
    Group,
    IndexSet,
    Item,
    LevelBand,
    LevelScope,
    OverallLevel,
)
from cdsflow.assessment.rates import RateError, has_percent_sign, parse_rate
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import fold

UNCONFIRMED = "bậc điểm chưa xác nhận"
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_YES = {"co", "yes", "y", "x", "true", "1", "dat", "c"}
_NO = {"khong", "no", "n", "false", "0", "chuadat", "k"}


@dataclass(frozen=True)
class ItemScore:
    code: str
    answered: bool
    value: Any  # normalised raw value (JSON-safe), None when unanswered
    points: Decimal
    ceiling: Decimal  # the most this answer could earn (tier / choice / item cap)
    max_points: Decimal
    tier: str = ""  # label of the tier or choice that applied
    # The tier that applied is marked unconfirmed in the index set: its points only advise, the
    # assessor may award up to the item's maximum; screens mark it "bậc điểm chưa xác nhận".
    unconfirmed: bool = False
    advised: Decimal | None = None  # the unconfirmed tier's points, shown beside the awarded ones


@dataclass(frozen=True)
class GroupScore:
    code: str
    name: str
    total: Decimal
    max_points: Decimal
    level: int | None
    level_name: str
    failed_mandatory: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoreResult:
    index_set_code: str
    index_set_version: str
    content_hash: str
    items: dict[str, ItemScore]
    criteria: dict[str, Decimal]  # criterion code → points
    groups: tuple[GroupScore, ...]
    mandatory: dict[str, bool | None]  # True met, False not met, None unanswered
    unscored: tuple[str, ...]
    total: Decimal
    total_level: int | None  # set when the index set's level scope is "total"
    overall_level: int | None
    flags: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.unscored

    def summary(self) -> dict[str, Any]:
        """JSON-safe figures for storage and reports."""
        return {
            "groups": {g.code: {"total": _j(g.total), "level": g.level} for g in self.groups},
            "total": _j(self.total),
            "total_level": self.total_level,
            "overall_level": self.overall_level,
            "mandatory": dict(self.mandatory),
            "unscored": list(self.unscored),
            "flags": list(self.flags),
        }

    def item_points(self) -> dict[str, float | int | None]:
        return {c: (_j(s.points) if s.answered else None) for c, s in self.items.items()}


def _j(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


# ---------------------------------------------------------------- answers


class _Bad(ValueError):
    pass


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        key = fold(raw)
        if key in _YES:
            return True
        if key in _NO:
            return False
    raise _Bad(f"câu trả lời Có/Không không hợp lệ: '{raw}' (ghi: có / không)")


def _number(raw: Any, what: str) -> Decimal:
    """A count or points: a percent sign there is a mistake to name, not a character to drop."""
    if type(raw) is int:  # the common case from forms: skip the string round trip
        return Decimal(raw)
    if has_percent_sign(raw):
        raise _Bad(f"{what} không ghi dấu %: '{raw}' (mục này không phải tỉ lệ)")
    try:
        return to_decimal(raw)
    except ValueError:
        raise _Bad(f"{what} không phải là số: '{raw}'") from None


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


@dataclass(frozen=True)
class _Read:
    """What an answer reads as, before the assessor's own points are applied."""

    value: Any
    ceiling: Decimal  # the most the assessor may award for this answer
    points: Decimal  # awarded when the assessor gives no points
    tier: str = ""
    unconfirmed: bool = False
    advised: Decimal | None = None
    assigned: Any = None


def _read_yes_no(item: Item, raw: Any) -> _Read:
    yes = _yes_no(raw)
    ceiling = item.max_points if yes else _ZERO
    return _Read(yes, ceiling, ceiling, "Có" if yes else "Không")


def _read_tiered(item: Item, raw: Any) -> _Read:
    if item.kind is AnswerKind.PERCENTAGE:
        try:
            x = parse_rate(raw)
        except RateError as exc:
            raise _Bad(str(exc)) from None
        what = "tỉ lệ"
    else:
        x, what = _number(raw, "số lượng"), "số lượng"
    if x < 0:
        raise _Bad(f"{what} không được âm ({_n(x)})")
    if item.kind is AnswerKind.COUNT and x != x.to_integral_value():
        raise _Bad(f"số lượng phải là số nguyên ({_n(x)})")
    if item.kind is AnswerKind.PERCENTAGE and x > _HUNDRED:
        raise _Bad(f"tỉ lệ {_n(x)}% vượt quá 100%")
    match = next((t for t in item.tiers if t.range.contains(x)), None)
    if match is None:  # the loader guarantees coverage; kept as a clear refusal anyway
        raise _Bad(f"giá trị {_n(x)} không thuộc bậc điểm nào")
    label = match.label or match.range.text
    if match.uncertain:
        # A tier the index set marks as a guess advises; it does not cap what the assessor awards.
        return _Read(_j(x), item.max_points, match.points, label, True, match.points)
    return _Read(_j(x), match.points, match.points, label)


def _read_choice(item: Item, raw: Any) -> _Read:
    text = str(raw).strip()
    match = next((c for c in item.choices if c.code == text), None)
    if match is None:  # a typed label or a code without diacritics ("Ký số", "ky so")
        key = fold(text)
        match = next((c for c in item.choices if fold(c.code) == key or fold(c.label) == key), None)
    if match is None:
        raise _Bad(f"mức '{raw}' không có trong danh sách ({', '.join(c.code for c in item.choices)})")
    return _Read(match.code, match.points, match.points, match.label)


def _read_points(item: Item, raw: Any) -> _Read:
    x = _number(raw, "điểm")
    if x < 0:
        raise _Bad(f"điểm không được âm ({_n(x)})")
    if x > item.max_points:
        raise _Bad(f"điểm {_n(x)} vượt điểm tối đa {_n(item.max_points)}")
    return _Read(_j(x), item.max_points, x, assigned=x)


_READERS = {
    AnswerKind.YES_NO: _read_yes_no,
    AnswerKind.COUNT: _read_tiered,
    AnswerKind.PERCENTAGE: _read_tiered,
    AnswerKind.CHOICE: _read_choice,
    AnswerKind.POINTS: _read_points,
}


def _split(item: Item, raw: Any) -> tuple[Any, Any]:
    """(the answer, the points the assessor gives or None) from a plain answer or {value, points}."""
    if isinstance(raw, dict) or (not isinstance(raw, (str, int, float, bool)) and isinstance(raw, Mapping)):
        unknown = set(raw) - {"value", "points"}
        if unknown:
            raise _Bad(f"khóa không rõ trong câu trả lời: {', '.join(sorted(map(str, unknown)))}")
        value = raw.get("value", raw.get("points") if item.kind is AnswerKind.POINTS else None)
        return value, raw.get("points")
    return raw, None


def score_item(item: Item, raw: Any) -> ItemScore:
    """Points for one item; raises _Bad (message without the item code) on a bad answer."""
    raw, assigned = _split(item, raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ItemScore(item.code, False, None, _ZERO, item.max_points, item.max_points)
    read = _READERS[item.kind](item, raw)
    points = read.points
    if assigned is not None:
        p = _number(assigned, "điểm")
        if p < 0:
            raise _Bad(f"điểm không được âm ({_n(p)})")
        if p > read.ceiling:
            raise _Bad(f"điểm {_n(p)} vượt mức tối đa {_n(read.ceiling)} của câu trả lời này")
        points = p
    return ItemScore(item.code, True, read.value, points, read.ceiling, item.max_points, read.tier,
                     read.unconfirmed, read.advised)


def answer_problem(item: Item, raw: Any) -> str | None:
    """Why an answer cannot be scored for this item (without the item code), or None when it can."""
    try:
        score_item(item, raw)
    except _Bad as exc:
        return str(exc)
    return None


def _band(levels: tuple[LevelBand, ...], total: Decimal) -> LevelBand | None:
    return next((b for b in levels if b.range is not None and b.range.contains(total)), None)


NOT_REACHED = "Chưa đạt"


def _unknown_codes(index_set: IndexSet, answers: Mapping[str, Any]) -> list[str]:
    problems = []
    for code in answers:
        if str(code) in index_set.items:
            continue
        crit = index_set.criteria.get(str(code))
        if crit is not None and crit.has_sub_items:
            problems.append(f"tiêu chí {code} có các mục con ({', '.join(i.code for i in crit.items)}): "
                            "trả lời từng mục con")
        else:
            problems.append(f"mục {code} không có trong bộ chỉ số {index_set.code}")
    return problems


def _score_items(index_set: IndexSet, answers: Mapping[str, Any]) -> dict[str, ItemScore]:
    problems = _unknown_codes(index_set, answers)
    scored: dict[str, ItemScore] = {}
    for code, item in index_set.items.items():
        try:
            scored[code] = score_item(item, answers.get(code))
        except _Bad as exc:
            problems.append(f"mục {code}: {exc}")
    if problems:
        raise InvalidInput(f"Câu trả lời không hợp lệ: {problems[0]}", details=problems if len(problems) > 1 else None)
    return scored


def _group_band(index_set: IndexSet, total: Decimal, failed: list[str]) -> LevelBand | None:
    if index_set.level_scope is not LevelScope.PER_GROUP:
        return None
    band = _band(index_set.levels, total)
    if band is None or not failed:
        return band
    if index_set.policy.failed_mandatory is FailedMandatory.LOWEST_LEVEL:
        return min(index_set.levels, key=lambda b: b.level)
    if index_set.policy.failed_mandatory is FailedMandatory.NOT_REACHED:
        return None
    return band


def _score_group(index_set: IndexSet, g: Group, scored: dict[str, ItemScore], criteria: dict[str, Decimal],
                 mandatory: dict[str, bool | None], flags: list[str]) -> GroupScore:
    total = _ZERO
    failed: list[str] = []
    for c in g.criteria:
        pts = sum((scored[i.code].points for i in c.items), _ZERO)
        criteria[c.code] = pts
        total += pts
        if c.mandatory:
            s = scored[c.code]
            met = bool(s.value) if s.answered else None
            mandatory[c.code] = met
            if met is False:
                failed.append(c.code)
                flags.append(f"Điều kiện bắt buộc {c.code} chưa đạt: {c.label}")
    band = _group_band(index_set, total, failed)
    name = band.name if band else ""
    if band is None and failed and index_set.policy.failed_mandatory is FailedMandatory.NOT_REACHED:
        name = f"{NOT_REACHED} (điều kiện bắt buộc {', '.join(failed)} chưa đạt)"
    return GroupScore(g.code, g.name, total, g.max_points or _ZERO, band.level if band else None, name, tuple(failed))


def _total_level(index_set: IndexSet, groups: list[GroupScore], grand: Decimal) -> tuple[int | None, int | None]:
    """(total level, overall level) under the set's scope and policy."""
    failed = any(g.failed_mandatory for g in groups)
    if index_set.level_scope is LevelScope.TOTAL:
        band = _band(index_set.levels, grand)
        if band is not None and failed:
            if index_set.policy.failed_mandatory is FailedMandatory.LOWEST_LEVEL:
                band = min(index_set.levels, key=lambda b: b.level)
            elif index_set.policy.failed_mandatory is FailedMandatory.NOT_REACHED:
                band = None
        level = band.level if band else None
        return level, level
    if index_set.policy.overall_level is OverallLevel.MIN and all(g.level is not None for g in groups):
        return None, min(g.level for g in groups)  # type: ignore[type-var]
    return None, None


def score(index_set: IndexSet, answers: Mapping[str, Any]) -> ScoreResult:
    """Score a school's answers against an index set. Bad answers raise InvalidInput naming items.

    The one scoring function: the stored result, the web's live total, `score show`, `score
    compare`, the officers' lists and every paper come from it."""
    if not index_set.scorable:
        raise InvalidInput(
            f"Bộ chỉ số {index_set.label} là khung tạm thời, chưa có đủ tiêu chí và ngưỡng điểm: chưa chấm điểm được"
        )
    scored = _score_items(index_set, answers)
    criteria: dict[str, Decimal] = {}
    mandatory: dict[str, bool | None] = {}
    flags: list[str] = []
    groups = [_score_group(index_set, g, scored, criteria, mandatory, flags) for g in index_set.groups]
    grand = sum((g.total for g in groups), _ZERO)
    total_level, overall = _total_level(index_set, groups, grand)
    unconfirmed = [c for c, s in scored.items() if s.answered and s.unconfirmed]
    if unconfirmed:
        flags.append(f"{UNCONFIRMED}: mục {', '.join(unconfirmed)}")
    return ScoreResult(
        index_set_code=index_set.code,
        index_set_version=index_set.version,
        content_hash=index_set.content_hash,
        items=scored,
        criteria=criteria,
        groups=tuple(groups),
        mandatory=mandatory,
        unscored=tuple(c for c, s in scored.items() if not s.answered),
        total=grand,
        total_level=total_level,
        overall_level=overall,
        flags=tuple(flags),
    )


def level_for(index_set: IndexSet, total: Any) -> int | None:
    """The level a total earns under the set's bands (75.5 → 3, 49.5 → 1 in 4725)."""
    band = _band(index_set.levels, to_decimal(total))
    return band.level if band else None


# ---------------------------------------------------------------- self vs external


@dataclass(frozen=True)
class Difference:
    code: str
    label: str
    self_points: Decimal | None
    external_points: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        """External minus self: negative when the review team awarded less."""
        if self.self_points is None or self.external_points is None:
            return None
        return self.external_points - self.self_points


@dataclass(frozen=True)
class Comparison:
    items: tuple[Difference, ...]
    groups: tuple[Difference, ...]


def compare(index_set: IndexSet, self_result: ScoreResult | None, external: ScoreResult | None) -> Comparison:
    """Self-assessment and external review side by side, item by item and group by group."""

    def pts(r: ScoreResult | None, code: str) -> Decimal | None:
        if r is None or not r.items[code].answered:
            return None
        return r.items[code].points

    def gpts(r: ScoreResult | None, code: str) -> Decimal | None:
        if r is None:
            return None
        return next(g.total for g in r.groups if g.code == code)

    items = tuple(Difference(c, i.label, pts(self_result, c), pts(external, c)) for c, i in index_set.items.items())
    groups = tuple(Difference(g.code, g.name, gpts(self_result, g.code), gpts(external, g.code)) for g in index_set.groups)
    return Comparison(items, groups)
