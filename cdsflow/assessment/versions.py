"""Index-set identity across versions: which items changed meaning, and whether an answer made
from another version may be read against this one.

A version is its label plus its content digest; the file's `changelog` says, per change, which
items changed meaning and from which digest. An answer to such an item is refused unless it
is written so that it can only mean the new thing (a rate with its % sign): a silent rereading
("1.6.1": 5 read as 5 % instead of 5 points) would move a school's level without anyone saying so.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdsflow.assessment.model import AnswerKind, IndexSet, Item, ItemChange, answer_hint
from cdsflow.assessment.rates import has_percent_sign
from cdsflow.kernel.errors import InvalidInput

NO_VERSION = "không ghi phiên bản"


def same_content(index_set: IndexSet, digest: str | None) -> bool:
    digest = (digest or "").strip().lower()
    return len(digest) >= 12 and index_set.content_hash.startswith(digest)


def changes_since(index_set: IndexSet, digest: str | None) -> dict[str, ItemChange]:
    """Items whose meaning changed after the version `digest` names (every change the file records
    when the digest is unknown or missing); the latest change of each item wins."""
    if same_content(index_set, digest):
        return {}
    digest = (digest or "").strip().lower()
    entries = list(index_set.changelog)
    start = next((n for n, c in enumerate(entries)
                  if digest and (c.replaces.startswith(digest) or digest.startswith(c.replaces))), 0)
    out: dict[str, ItemChange] = {}
    for change in entries[start:]:
        for item in change.items:
            out[item.code] = item
    return out


def _unambiguous(item: Item, raw: Any) -> bool:
    """An answer that can only mean the item's present meaning: a rate written with its % sign."""
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    return item.kind is AnswerKind.PERCENTAGE and has_percent_sign(value)


def version_problems(index_set: IndexSet, digest: str | None, answers: Mapping[str, Any]) -> list[str]:
    """Why answers made from the version `digest` (None: a file naming no version) cannot be read
    against `index_set`, one line per item, naming both meanings and what to write."""
    changed = changes_since(index_set, digest)
    made_from = f"phiên bản {digest[:12]}" if digest else NO_VERSION
    problems = []
    for code, raw in answers.items():
        change, item = changed.get(str(code)), index_set.items.get(str(code))
        if change is None or item is None or _unambiguous(item, raw):
            continue
        problems.append(f"mục {code} đã đổi nghĩa (phiếu: {made_from}; bộ chỉ số: phiên bản {index_set.identity}): "
                        f"trước đây là {change.before}; nay là {change.after}. Cách ghi: {change.write}")
    return problems


def check_answer_version(index_set: IndexSet, digest: str | None, answers: Mapping[str, Any], name: str) -> None:
    problems = version_problems(index_set, digest, answers)
    if problems:
        raise InvalidInput(f"Phiếu trả lời {name}: {problems[0]}", details=problems if len(problems) > 1 else None)


# ---------------------------------------------------------------- diff of two versions


@dataclass(frozen=True)
class ItemDiff:
    code: str
    what: str  # "thêm" | "bỏ" | "đổi"
    before: str
    after: str


def item_meaning(item: Item) -> str:
    """What an answer to the item means and earns, in words: what a diff compares."""
    return f"{item.kind.value}, tối đa {format(item.max_points.normalize(), 'f')}: {answer_hint(item)}"


def diff_index_sets(old: IndexSet, new: IndexSet) -> list[ItemDiff]:
    """Items added, removed, or whose answer type, tiers, choices or maximum changed."""
    out = []
    for code, item in old.items.items():
        other = new.items.get(code)
        if other is None:
            out.append(ItemDiff(code, "bỏ", item_meaning(item), ""))
        elif item_meaning(item) != item_meaning(other):
            out.append(ItemDiff(code, "đổi", item_meaning(item), item_meaning(other)))
    out += [ItemDiff(code, "thêm", "", item_meaning(i)) for code, i in new.items.items() if code not in old.items]
    return out
