"""What a loaded index set (bộ chỉ số) is: groups → criteria → scored items, level bands, policy.

Pure data, no I/O. Points are `Decimal` so that 75.5 stays 75.5 and sums never drift.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class AnswerKind(StrEnum):
    YES_NO = "yes_no"  # có / không: the item's points, or 0
    COUNT = "count"  # a whole number ≥ 0, points from tiers
    PERCENTAGE = "percentage"  # 0–100, points from tiers
    CHOICE = "choice"  # one of the listed levels, each with its points
    POINTS = "points"  # the assessor awards 0..max_points (tiers unknown)


ANSWER_KIND_LABELS: dict[AnswerKind, str] = {
    AnswerKind.YES_NO: "Có/Không",
    AnswerKind.COUNT: "Số lượng",
    AnswerKind.PERCENTAGE: "Tỉ lệ (%)",
    AnswerKind.CHOICE: "Chọn mức",
    AnswerKind.POINTS: "Điểm do người đánh giá cho (trong mức tối đa)",
}


class FailedMandatory(StrEnum):
    """What a failed mandatory condition (điều kiện bắt buộc) does to a group's level."""

    FLAG = "flag"  # reported, level unchanged (default: the decision says nothing more)
    LOWEST_LEVEL = "lowest_level"  # the group gets the lowest level
    NOT_REACHED = "not_reached"  # the group reaches no level: "Chưa đạt" (a condition decides)


class OverallLevel(StrEnum):
    """How one unit level is derived from the group levels."""

    NONE = "none"  # report each group's level, no overall level (default)
    MIN = "min"  # the lower of the group levels


class LevelScope(StrEnum):
    PER_GROUP = "per_group"
    TOTAL = "total"


@dataclass(frozen=True)
class Interval:
    """A range of numbers written the mathematical way: "[50, 75]", "(75, 100]", "[40, )"."""

    low: Decimal | None  # None: unbounded below
    high: Decimal | None  # None: unbounded above
    low_inclusive: bool = True
    high_inclusive: bool = False

    def contains(self, x: Decimal) -> bool:
        if self.low is not None and (x < self.low or (x == self.low and not self.low_inclusive)):
            return False
        if self.high is not None and (x > self.high or (x == self.high and not self.high_inclusive)):
            return False
        return True

    @property
    def text(self) -> str:
        lo = "" if self.low is None else _num(self.low)
        hi = "" if self.high is None else _num(self.high)
        return f"{'[' if self.low_inclusive else '('}{lo}, {hi}{']' if self.high_inclusive else ')'}"

    def __str__(self) -> str:
        return self.text


def _num(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text


@dataclass(frozen=True)
class Tier:
    range: Interval
    points: Decimal  # a ceiling: awarded in full unless the assessor gives less
    label: str = ""
    uncertain: bool = False
    note: str = ""  # for maintainers (why the tier is a guess): never shown to schools


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    points: Decimal


@dataclass(frozen=True)
class Item:
    """A scored leaf: a sub-item (1.3.1) or a criterion without sub-items (1.4, 2.5, 1.1)."""

    code: str
    label: str
    kind: AnswerKind
    max_points: Decimal
    group_code: str
    criterion_code: str
    tiers: tuple[Tier, ...] = ()
    choices: tuple[Choice, ...] = ()
    mandatory: bool = False
    uncertain: bool = False
    note: str = ""  # for the people who score: shown on the scoring page and in the forms
    source: str = ""  # where the figure came from: for maintainers, never shown to schools

    @property
    def is_criterion(self) -> bool:
        return self.code == self.criterion_code


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    max_points: Decimal
    items: tuple[Item, ...]  # a criterion without sub-items holds one Item with its own code
    has_sub_items: bool
    mandatory: bool = False
    evidence: tuple[str, ...] = ()  # what the decision (or the plan) expects as minh chứng
    evidence_required: bool = False
    uncertain: bool = False
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    max_points: Decimal | None
    criteria: tuple[Criterion, ...]
    uncertain: bool = False
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class LevelBand:
    level: int
    name: str
    range: Interval | None  # None only in a provisional frame whose thresholds are unknown


@dataclass(frozen=True)
class Policy:
    failed_mandatory: FailedMandatory = FailedMandatory.FLAG
    overall_level: OverallLevel = OverallLevel.NONE


@dataclass(frozen=True)
class ItemChange:
    """How an item's meaning changed: what an answer meant before and now, and what to write now."""

    code: str
    before: str
    after: str
    write: str


@dataclass(frozen=True)
class Change:
    """One entry of an index set's changelog; `replaces` is the content digest of the version before."""

    date: str
    replaces: str
    summary: str
    items: tuple[ItemChange, ...] = ()


@dataclass(frozen=True)
class IndexSet:
    code: str
    version: str
    title: str
    provisional: bool
    decision_number: str
    decision_date: str | None
    level_scope: LevelScope
    levels: tuple[LevelBand, ...]
    policy: Policy
    groups: tuple[Group, ...]
    content_hash: str
    content: dict[str, Any] = field(repr=False, compare=False, hash=False)  # canonical form (JSON-safe)
    source: str = field(default="", compare=False)  # file it came from, for messages
    applies_to: tuple[str, ...] = ()
    note: str = ""
    # Who the set assesses, as data (`covers` in the file): unit kinds (school, bureau, department)
    # and, for schools, education levels (tieu_hoc, thcs, …). Empty: the set names nobody.
    covers_kinds: tuple[str, ...] = ()
    covers_levels: tuple[str, ...] = ()
    changelog: tuple[Change, ...] = ()

    # Lookups built lazily; frozen dataclass, so go through object.__setattr__ once.
    def _index(self) -> tuple[dict[str, Item], dict[str, Criterion]]:
        cached = self.__dict__.get("_idx")
        if cached is None:
            items = {i.code: i for g in self.groups for c in g.criteria for i in c.items}
            crits = {c.code: c for g in self.groups for c in g.criteria}
            cached = (items, crits)
            object.__setattr__(self, "_idx", cached)
        return cached

    @property
    def items(self) -> dict[str, Item]:
        """Every scored leaf, in document order, by code."""
        return self._index()[0]

    @property
    def criteria(self) -> dict[str, Criterion]:
        return self._index()[1]

    @property
    def scorable(self) -> bool:
        """A frame without criteria or level thresholds cannot score anything."""
        return bool(self.items) and all(b.range is not None for b in self.levels) and all(
            g.max_points is not None for g in self.groups
        )

    @property
    def label(self) -> str:
        return f"{self.code} (phiên bản {self.version})"

    @property
    def digest(self) -> str:
        """The short content digest that, with the version label, names this exact content."""
        return self.content_hash[:12]

    @property
    def identity(self) -> str:
        """"2022-12-30 · 0ff130c04068": the version label plus the content digest."""
        return f"{self.version} · {self.digest}"

    def criterion_of(self, code: str) -> Criterion | None:
        """The criterion a code (criterion or sub-item) belongs to."""
        if code in self.criteria:
            return self.criteria[code]
        item = self.items.get(code)
        return self.criteria[item.criterion_code] if item else None


def _pts(d: Decimal) -> str:
    return format(d.normalize(), "f")


def answer_hint(item: Item) -> str:
    """How to answer an item, in words (shared by the XLSX and YAML forms, and by version diffs)."""
    if item.kind is AnswerKind.YES_NO:
        return "có / không" + (" (điều kiện bắt buộc)" if item.mandatory else "")
    tiers = "; ".join(f"{t.range.text} → tối đa {_pts(t.points)}" for t in item.tiers)
    if item.kind is AnswerKind.COUNT:
        return "số nguyên ≥ 0; bậc: " + tiers
    if item.kind is AnswerKind.PERCENTAGE:
        return "tỉ lệ 0–100 (ghi 70 hoặc 70%); bậc: " + tiers
    if item.kind is AnswerKind.CHOICE:
        return "một mã: " + "; ".join(f"{c.code} = {c.label} ({_pts(c.points)} điểm)" for c in item.choices)
    return f"điểm từ 0 đến {_pts(item.max_points)}"
