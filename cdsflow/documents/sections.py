"""Editable sections of a paper: default wording from data files (documents/texts/*.yaml), filled
with the campaign's values, then replaced by what an officer typed before the paper is numbered.

Pure apart from reading the shipped files once. A section's text is one paragraph per line; what
leaves `final_sections` is the list of paragraphs stored in the paper's context, so a re-download
prints exactly what was issued.
"""
from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import TextError, clean_text

TEXTS_DIR = Path(__file__).with_name("texts")
PLACEHOLDERS = {"issuer", "issuer_short", "area", "school_year", "index_sets", "index_set_names", "superior",
                "link", "contact"}
APPENDS = {"authority", "school", "process"}  # lines the context builder adds from the calendar
MAX_SECTION_CHARS = 20_000


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    text: str  # default wording with {placeholders}
    append: str = ""


def sections_of(name: str) -> tuple[Section, ...]:
    return _load(name)[1]


def subject_of(name: str) -> str:
    """The paper's trích yếu (with placeholders), from the same file."""
    return _load(name)[0]


@cache
def _load(name: str) -> tuple[str, tuple[Section, ...]]:
    path = TEXTS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise InvalidInput(f"Không có tệp nội dung mặc định «{name}» (documents/texts/{name}.yaml)")
    return read_texts(path)


def read_texts(path: Path) -> tuple[str, tuple[Section, ...]]:
    """A texts file (subject, sections), checked: known keys, placeholders and appends."""
    try:
        data = safeyaml.load_file(path)
    except safeyaml.YamlInputError as err:
        raise InvalidInput(f"{path.name}: không đọc được", details=[str(err)]) from None
    rows = data.get("sections") if isinstance(data, dict) else None
    subject = data.get("subject") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise InvalidInput(f"{path.name}: cần danh sách «sections»")
    out, problems = [], []
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not {"key", "label", "text"} <= set(row):
            problems.append(f"mục {i}: cần key, label, text")
            continue
        unknown = set(row) - {"key", "label", "text", "append"}
        if unknown:
            problems.append(f"mục {i}: khóa không rõ: {', '.join(sorted(unknown))}")
        names = {f for _, f, _, _ in string.Formatter().parse(str(row["text"])) if f}
        if names - PLACEHOLDERS:
            problems.append(f"{row['key']}: chỗ điền không rõ: {', '.join(sorted(names - PLACEHOLDERS))}")
        if row.get("append") and row["append"] not in APPENDS:
            problems.append(f"{row['key']}: append không rõ: {row['append']}")
        out.append(Section(str(row["key"]), str(row["label"]), str(row["text"]).strip(), str(row.get("append") or "")))
    if not isinstance(subject, str) or not subject.strip():
        problems.append("cần «subject» (trích yếu)")
    elif {f for _, f, _, _ in string.Formatter().parse(subject) if f} - PLACEHOLDERS:
        problems.append("subject: chỗ điền không rõ")
    if len({s.key for s in out}) != len(out):
        problems.append("trùng khóa mục")
    if problems:
        raise InvalidInput(f"{path.name}: nội dung mặc định không hợp lệ", details=problems)
    return subject.strip(), tuple(out)


def _fill(line: str, values: Mapping[str, str]) -> str | None:
    """The line with its placeholders filled; None when one of them has no value (left out)."""
    names = {f for _, f, _, _ in string.Formatter().parse(line) if f}
    if any(not values.get(n) for n in names):
        return None
    return line.format_map(dict(values))


def default_texts(name: str, values: Mapping[str, str], appended: Mapping[str, list[str]]) -> dict[str, str]:
    """Each section's default text (what the officer's textarea starts with), filled."""
    out = {}
    for s in sections_of(name):
        lines = [x for x in (_fill(raw, values) for raw in s.text.splitlines() if raw.strip()) if x is not None]
        out[s.key] = "\n".join([*lines, *appended.get(s.append, [])])
    return out


def final_sections(name: str, defaults: Mapping[str, str], edited: object) -> dict[str, list[str]]:
    """The paragraphs to print: the officer's text for the sections given, the defaults for the
    rest. Refused (nothing stored) for an unknown section, a non-text value, an emptied section
    or a character Word cannot hold."""
    return check_sections({s.key: s.label for s in sections_of(name)}, defaults, edited)


def check_sections(known: Mapping[str, str], defaults: Mapping[str, str], edited: object, *,
                   optional: set[str] | frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """`final_sections` for any paper: `known` maps section key → label; a section in `optional`
    may be empty (a paper without căn cứ)."""
    if edited in (None, ""):
        edited = {}
    if not isinstance(edited, Mapping):
        raise InvalidInput("Nội dung văn bản phải là một bảng: tên mục → nội dung")
    unknown = sorted(set(edited) - set(known))
    if unknown:
        raise InvalidInput("Nội dung văn bản có mục không có trong văn bản này", details=[
            *unknown, "các mục: " + ", ".join(known)])
    out, problems = {}, []
    for key, label in known.items():
        raw = edited.get(key, defaults.get(key, ""))
        if isinstance(raw, list):
            raw = "\n".join(str(x) for x in raw)
        if not isinstance(raw, str):
            problems.append(f"«{label}»: phải là văn bản")
            continue
        if len(raw) > MAX_SECTION_CHARS:
            problems.append(f"«{label}»: dài quá {MAX_SECTION_CHARS:,} ký tự".replace(",", "."))
            continue
        try:
            text = clean_text(raw, field=f"mục «{label}»", allow_newlines=True)
        except TextError as err:
            problems.append(str(err))
            continue
        lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.split("\n")]
        lines = [ln for ln in lines if ln]
        if not lines and key not in optional:
            problems.append(f"mục «{label}» không được để trống")
        out[key] = lines
    if problems:
        raise InvalidInput("Nội dung văn bản chưa hợp lệ", details=problems)
    return out


def labels(name: str) -> list[tuple[str, str]]:
    return [(s.key, s.label) for s in sections_of(name)]
