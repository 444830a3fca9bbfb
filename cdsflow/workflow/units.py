"""Organisation units: kinds, education levels, and the rules a unit row must follow."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from cdsflow.kernel.text import TextError, clean_text, fold


class UnitKind(StrEnum):
    DEPARTMENT = "department"  # Sở GDĐT
    BUREAU = "bureau"  # Phòng GDĐT, or since 7/2025 a commune/ward's Phòng Văn hóa – Xã hội
    SCHOOL = "school"  # cơ sở giáo dục

    @property
    def label(self) -> str:
        return {"department": "Sở GDĐT", "bureau": "Phòng GDĐT / Phòng VH-XH", "school": "Cơ sở giáo dục"}[self]


class EducationLevel(StrEnum):
    PRESCHOOL = "mam_non"
    PRIMARY = "tieu_hoc"
    LOWER_SECONDARY = "thcs"
    UPPER_SECONDARY = "thpt"
    MULTI_LEVEL = "pho_thong_nhieu_cap"
    CONTINUING = "gdtx"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS = {
    EducationLevel.PRESCHOOL: "Mầm non",
    EducationLevel.PRIMARY: "Tiểu học",
    EducationLevel.LOWER_SECONDARY: "THCS",
    EducationLevel.UPPER_SECONDARY: "THPT",
    EducationLevel.MULTI_LEVEL: "Phổ thông nhiều cấp",
    EducationLevel.CONTINUING: "GDTX",
}

# What users type in a school list, folded (no diacritics, no spaces), mapped to our values.
_KIND_ALIASES = {
    UnitKind.DEPARTMENT: {"department", "so", "sogddt", "sogiaoducvadaotao", "sogiaoducdaotao"},
    UnitKind.BUREAU: {"bureau", "phong", "phonggddt", "phonggiaoducvadaotao", "phongvhxh",
                      "phongvanhoaxahoi", "phongvanhoa"},
    UnitKind.SCHOOL: {"school", "truong", "truonghoc", "cosogiaoduc", "csgd", "trungtam"},
}
_LEVEL_ALIASES = {
    EducationLevel.PRESCHOOL: {"mamnon", "mn", "mau giao", "maugiao", "nhatre", "preschool"},
    EducationLevel.PRIMARY: {"tieuhoc", "th", "primary"},
    EducationLevel.LOWER_SECONDARY: {"thcs", "trunghoccoso"},
    EducationLevel.UPPER_SECONDARY: {"thpt", "trunghocphothong"},
    EducationLevel.MULTI_LEVEL: {"phothongnhieucap", "nhieucap", "phothongnhieucaphoc", "thcsthpt", "ththcs"},
    EducationLevel.CONTINUING: {"gdtx", "giaoducthuongxuyen", "trungtamgdtx", "gdnngdtx", "ttgdtx"},
}


_E = TypeVar("_E", UnitKind, EducationLevel)


def _lookup(aliases: Mapping[_E, set[str]], value: str) -> _E | None:
    key = fold(value)
    for target, names in aliases.items():
        if key in {fold(n) for n in names} or key == fold(target.value) or key == fold(getattr(target, "label", "")):
            return target
    return None


def parse_kind(value: str) -> UnitKind | None:
    return _lookup(_KIND_ALIASES, value)


def parse_level(value: str) -> EducationLevel | None:
    return _lookup(_LEVEL_ALIASES, value)


# Which kinds may supervise which: a school reports to a bureau or (THPT, GDTX) to the department.
ALLOWED_SUPERVISORS = {
    UnitKind.SCHOOL: {UnitKind.BUREAU, UnitKind.DEPARTMENT},
    UnitKind.BUREAU: {UnitKind.DEPARTMENT},
    UnitKind.DEPARTMENT: set(),
}

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
# A unit's short code as NĐ 30 lets a ký hiệu print it: letters (Đ included), digits ("THKB1" for a
# school "số 1"), '.' and '&', starting with a letter. Checked once, at import, by the rule papers use.
SHORT_CODE = re.compile(r"^[A-Za-zĐđ][A-Za-zĐđ0-9.&]*$")
SHORT_CODE_MAX = 32


def short_code_problem(value: str) -> str:
    """Why `value` cannot stand in a ký hiệu ('' when it can)."""
    if not value:
        return "thiếu ký hiệu"
    if len(value) > SHORT_CODE_MAX:
        return f"ký hiệu dài quá {SHORT_CODE_MAX} ký tự"
    if not SHORT_CODE.match(value):
        return (f"ký hiệu «{value}» không in được trên văn bản: chỉ gồm chữ cái, chữ số, '.', '&' "
                "và bắt đầu bằng chữ cái")
    return ""


_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class UnitSpec:
    """A validated unit row, ready to be stored (supervisor still given by code)."""

    code: str
    name: str
    short_code: str
    kind: UnitKind
    education_level: EducationLevel | None
    place_name: str
    parent_org: str
    emails: tuple[str, ...]
    supervisor_code: str | None


def parse_emails(value: str) -> tuple[tuple[str, ...], list[str]]:
    emails: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[,;\s]+", value or ""):
        if not part:
            continue
        (emails if _EMAIL.match(part) else bad).append(part)
    return tuple(emails), bad


def _code_and_name_problems(code: str, name: str) -> list[str]:
    problems = []
    if not code:
        problems.append("thiếu mã đơn vị")
    elif not _CODE.match(code):
        problems.append(f"mã đơn vị không hợp lệ: «{code}» (chỉ dùng chữ không dấu, số, '.', '-', '_')")
    if not name:
        problems.append("thiếu tên đơn vị")
    elif len(name) > 300:
        problems.append("tên đơn vị dài quá 300 ký tự")
    return problems


def _kind_and_level(kind_text: str, level_text: str) -> tuple[UnitKind | None, EducationLevel | None, list[str]]:
    """The unit's kind and education level as typed, with what is wrong with them."""
    problems = []
    kind = parse_kind(kind_text) if kind_text else None
    if not kind_text:
        problems.append("thiếu loại đơn vị (Sở, Phòng, Trường)")
    elif kind is None:
        problems.append(f"loại đơn vị không rõ: «{kind_text}» (dùng: Sở, Phòng, Trường)")
    level = None
    if level_text:
        level = parse_level(level_text)
        if level is None:
            problems.append(f"cấp học không rõ: «{level_text}» (dùng: {', '.join(LEVEL_LABELS.values())})")
    elif kind == UnitKind.SCHOOL:
        problems.append("cơ sở giáo dục phải có cấp học")
    return kind, level, problems


def validate_unit_row(raw: dict[str, str]) -> tuple[UnitSpec | None, list[str]]:
    """Check one row of a unit list. Returns the spec, or the Vietnamese problems found."""
    problems: list[str] = []
    values: dict[str, str] = {}
    for key in ("code", "name", "short_code", "kind", "education_level", "place_name", "parent_org",
                "emails", "supervisor_code"):
        try:
            values[key] = clean_text(raw.get(key) or "", field=key)
        except TextError as err:
            problems.append(str(err))
            values[key] = ""
    code = values["code"]
    problems += _code_and_name_problems(code, values["name"])
    kind, level, more = _kind_and_level(values["kind"], values["education_level"])
    problems += more
    emails, bad = parse_emails(values["emails"])
    for b in bad:
        problems.append(f"email không hợp lệ: «{b}»")
    supervisor = values["supervisor_code"] or None
    if kind in (UnitKind.SCHOOL, UnitKind.BUREAU) and not supervisor:
        problems.append("thiếu đơn vị quản lý (mã đơn vị cấp trên)")
    if supervisor and supervisor == code:
        problems.append("đơn vị không thể tự quản lý chính mình")
    # No ký hiệu given: the code without its separators ("TH-KD" → "THKD"), checked like a given one.
    short = values["short_code"].replace(" ", "") or re.sub(r"[^A-Za-z0-9Đđ.&]", "", code.upper())
    if short_code_problem(short):
        problems.append(short_code_problem(short))
    if problems or kind is None:
        return None, problems
    return UnitSpec(
        code=code,
        name=values["name"],
        short_code=short,
        kind=kind,
        education_level=level if kind == UnitKind.SCHOOL else None,
        place_name=values["place_name"],
        parent_org=values["parent_org"],
        emails=emails,
        supervisor_code=supervisor,
    ), []
