"""Reading and validating index-set files.

`parse_index_set(data, source)` turns a plain mapping (from YAML, from an XLSX workbook, or from
the JSON stored in the database) into an `IndexSet`, collecting *every* problem before refusing,
each named by item code. The content hash is the sha256 of the canonical JSON of the parsed
model, so the same content hashes the same whatever file format it came in.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import yaml

from cdsflow.assessment.model import (
    AnswerKind,
    Change,
    Choice,
    Criterion,
    FailedMandatory,
    Group,
    IndexSet,
    Interval,
    Item,
    ItemChange,
    LevelBand,
    LevelScope,
    OverallLevel,
    Policy,
    Tier,
)
from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import TextError, clean_text

SHIPPED_DIR = Path(__file__).with_name("indexsets")

_INF = Decimal("Infinity")
_NEG_INF = Decimal("-Infinity")
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)

_TOP_KEYS = {"code", "version", "title", "provisional", "decision", "applies_to", "covers", "note", "levels", "policy",
             "groups", "changelog"}
_UNIT_KINDS = ("school", "bureau", "department")
_LEVELS = ("mam_non", "tieu_hoc", "thcs", "thpt", "pho_thong_nhieu_cap", "gdtx")
# `note` is for the people who score (shown on the scoring page and the forms); `source` says where a
# figure came from, for maintainers, and is never shown to schools.
_GROUP_KEYS = {"code", "name", "max_points", "criteria", "uncertain", "note", "source", "sources"}
_LEAF_KEYS = {"code", "label", "max_points", "answer", "tiers", "choices", "mandatory", "uncertain", "note", "source",
              "sources"}
_CRIT_KEYS = _LEAF_KEYS | {"items", "evidence", "evidence_required", "evidence_note"}


class IndexSetError(InvalidInput):
    """An index-set file that cannot be used. `.details` lists every problem found."""


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}" if where else problem)


# ---------------------------------------------------------------- small parsers


_INTERVAL = re.compile(
    r"^\s*([\[(])\s*([-+]?\d+(?:[.,]\d+)?)?\s*[,;]\s*([-+]?\d+(?:[.,]\d+)?|\+?inf|∞)?\s*([\])])\s*$", re.I
)


def parse_interval(text: Any) -> Interval:
    """"[0, 50)" → 0 ≤ x < 50; "(75, 100]" → 75 < x ≤ 100; "[40, )" → x ≥ 40. Raises ValueError."""
    m = _INTERVAL.match(str(text)) if text is not None else None
    if not m:
        raise ValueError(
            f"khoảng '{text}' không đúng dạng (ví dụ: \"[0, 50)\", \"[50, 75]\", \"(75, 100]\", \"[40, )\")"
        )
    lo_b, lo, hi, hi_b = m.groups()
    low = Decimal(lo.replace(",", ".")) if lo else None
    high = None if (not hi or hi.lower().lstrip("+") in {"inf", "∞"}) else Decimal(hi.replace(",", "."))
    if low is not None and high is not None and (high < low or (high == low and not (lo_b == "[" and hi_b == "]"))):
        raise ValueError(f"khoảng '{text}' rỗng")
    return Interval(low, high, lo_b == "[", hi_b == "]")


def to_decimal(value: Any) -> Decimal:
    """A number from YAML/Excel/user input; refuses booleans, NaN and infinities."""
    if isinstance(value, bool) or value is None:
        raise ValueError("không phải số")
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"'{value}' không phải số") from exc
    if not d.is_finite():
        raise ValueError(f"'{value}' không phải số hữu hạn")
    return d


def _text(value: Any, p: _Problems, where: str, field: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            p.add(where, f"thiếu {field}")
        return ""
    try:
        return clean_text(str(value), field=field)
    except TextError as exc:
        p.add(where, str(exc))
        return ""


def _points(value: Any, p: _Problems, where: str, field: str = "điểm tối đa (max_points)") -> Decimal | None:
    if value is None:
        return None
    try:
        d = to_decimal(value)
    except ValueError as exc:
        p.add(where, f"{field}: {exc}")
        return None
    if d < 0:
        p.add(where, f"{field} âm ({value})")
        return None
    return d


def _bool(value: Any, p: _Problems, where: str, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    p.add(where, f"{field} phải là true/false, không phải '{value}'")
    return False


def _parse_covers(raw: Any, p: _Problems, fname: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`covers: {unit_kinds: [school], education_levels: [tieu_hoc, …]}`: who the set assesses."""
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        p.add(fname, "covers phải là một mục có unit_kinds và education_levels")
        return (), ()
    _unknown_keys(raw, {"unit_kinds", "education_levels"}, p, f"{fname}: covers")

    def listed(key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        values = raw.get(key) or []
        if not isinstance(values, list):
            p.add(f"{fname}: covers", f"{key} phải là một danh sách")
            return ()
        bad = [str(v) for v in values if str(v) not in allowed]
        if bad:
            p.add(f"{fname}: covers", f"{key} có giá trị không rõ: {', '.join(bad)} (dùng: {', '.join(allowed)})")
        return tuple(str(v) for v in values if str(v) in allowed)

    kinds, levels = listed("unit_kinds", _UNIT_KINDS), listed("education_levels", _LEVELS)
    if not kinds:
        p.add(f"{fname}: covers", "cần ít nhất một loại đơn vị được đánh giá (unit_kinds)")
    if "school" in kinds and not levels:
        p.add(f"{fname}: covers", "bộ chỉ số cho cơ sở giáo dục cần nêu cấp học được đánh giá (education_levels)")
    return kinds, levels


def _unknown_keys(raw: dict[str, Any], allowed: set[str], p: _Problems, where: str) -> None:
    for key in raw:
        if key not in allowed:
            p.add(where, f"khóa không rõ '{key}'")


# ---------------------------------------------------------------- coverage of ranges


def _start(iv: Interval) -> tuple[Decimal, int]:
    return (_NEG_INF if iv.low is None else iv.low, 0 if iv.low_inclusive else 1)


def _end(iv: Interval) -> tuple[Decimal, int]:
    # The first point *not* covered, in the same (value, just-after) order as _start.
    return (_INF if iv.high is None else iv.high, 1 if iv.high_inclusive else 0)


def _fmt_point(pt: tuple[Decimal, int]) -> str:
    v = pt[0]
    return "∞" if v == _INF else ("-∞" if v == _NEG_INF else format(v.normalize(), "f"))


def check_cover(ranges: list[Interval], low: Decimal, high: Decimal | None, high_inclusive: bool = True) -> list[str]:
    """Problems if `ranges` do not cover [low, high] exactly once (overlaps, gaps, overhangs)."""
    out: list[str] = []
    ordered = sorted(ranges, key=_start)
    cursor = (low, 0)
    domain_end = (_INF, 0) if high is None else (high, 1 if high_inclusive else 0)
    prev: Interval | None = None
    for iv in ordered:
        s = _start(iv)
        if s < cursor:
            if prev is None:
                out.append(f"khoảng {iv} nằm ngoài miền giá trị (bắt đầu từ {_fmt_point(cursor)})")
            else:
                out.append(f"khoảng {iv} chồng lên khoảng {prev}")
        elif s > cursor:
            where = f"sau khoảng {prev}" if prev else f"từ {_fmt_point(cursor)}"
            out.append(f"bỏ trống giá trị {where} đến trước khoảng {iv}")
        cursor = max(cursor, _end(iv))
        prev = iv
    if prev is None:
        out.append("không có khoảng nào")
    elif cursor < domain_end:
        out.append(f"không bao phủ đến {_fmt_point(domain_end)} (khoảng cuối: {prev})")
    elif cursor > domain_end and high is not None:
        out.append(f"khoảng {prev} vượt quá giá trị lớn nhất {_fmt_point(domain_end)}")
    return out


# ---------------------------------------------------------------- parsing


def _parse_tiers(raw: Any, kind: AnswerKind, max_points: Decimal | None, p: _Problems, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        p.add(where, f"loại trả lời '{kind}' cần danh sách bậc điểm (tiers)")
        return ()
    tiers: list[Tier] = []
    for n, t in enumerate(raw, 1):
        tw = f"{where}, bậc {n}"
        if not isinstance(t, dict):
            p.add(tw, "phải là một mục có range và points")
            continue
        _unknown_keys(t, {"range", "points", "label", "uncertain", "note"}, p, tw)
        try:
            rng = parse_interval(t.get("range"))
        except ValueError as exc:
            p.add(tw, str(exc))
            continue
        pts = _points(t.get("points"), p, tw, "điểm của bậc (points)")
        if pts is None:
            if t.get("points") is None:
                p.add(tw, "thiếu điểm của bậc (points)")
            continue
        if max_points is not None and pts > max_points:
            p.add(tw, f"điểm của bậc ({_n(pts)}) vượt điểm tối đa của mục ({_n(max_points)})")
        tiers.append(
            Tier(rng, pts, _text(t.get("label"), p, tw, "nhãn", required=False),
                 _bool(t.get("uncertain"), p, tw, "uncertain"), _text(t.get("note"), p, tw, "ghi chú", required=False))
        )
    if len(tiers) == len(raw):
        high = _HUNDRED if kind is AnswerKind.PERCENTAGE else None
        for problem in check_cover([t.range for t in tiers], _ZERO, high):
            p.add(where, f"bậc điểm: {problem}")
        ordered = sorted(tiers, key=lambda t: _start(t.range))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.points < a.points:
                p.add(where, f"bậc {b.range} cho ít điểm hơn bậc thấp hơn {a.range}: điểm không được giảm khi kết quả tốt hơn")
    return tuple(tiers)


def _parse_choices(raw: Any, max_points: Decimal | None, p: _Problems, where: str) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        p.add(where, "loại trả lời 'choice' cần danh sách mức (choices)")
        return ()
    out: list[Choice] = []
    seen: set[str] = set()
    for n, c in enumerate(raw, 1):
        cw = f"{where}, mức {n}"
        if not isinstance(c, dict):
            p.add(cw, "phải là một mục có code, label, points")
            continue
        _unknown_keys(c, {"code", "label", "points"}, p, cw)
        code = _text(c.get("code"), p, cw, "mã mức (code)")
        if code in seen:
            p.add(cw, f"mã mức trùng: {code}")
        seen.add(code)
        pts = _points(c.get("points"), p, cw, "điểm của mức (points)")
        if pts is None and c.get("points") is None:
            p.add(cw, "thiếu điểm của mức (points)")
        if pts is not None and max_points is not None and pts > max_points:
            p.add(cw, f"điểm của mức ({_n(pts)}) vượt điểm tối đa của mục ({_n(max_points)})")
        out.append(Choice(code, _text(c.get("label"), p, cw, "nhãn (label)"), pts or _ZERO))
    return tuple(out)


def _parse_leaf(raw: dict[str, Any], group: str, criterion: str, p: _Problems, where: str) -> Item | None:
    code = str(raw.get("code"))
    kind_raw: Any = raw.get("answer")
    try:
        kind = AnswerKind(kind_raw)
    except ValueError:
        p.add(where, f"loại trả lời không rõ '{kind_raw}' (dùng: {', '.join(k.value for k in AnswerKind)})")
        return None
    max_points = _points(raw.get("max_points"), p, where)
    if max_points is None and raw.get("max_points") is None:
        p.add(where, "thiếu điểm tối đa (max_points)")
    mandatory = _bool(raw.get("mandatory"), p, where, "mandatory")
    tiers: tuple[Tier, ...] = ()
    choices: tuple[Choice, ...] = ()
    if kind in (AnswerKind.COUNT, AnswerKind.PERCENTAGE):
        tiers = _parse_tiers(raw.get("tiers"), kind, max_points, p, where)
    elif raw.get("tiers"):
        p.add(where, f"loại trả lời '{kind}' không dùng bậc điểm (tiers)")
    if kind is AnswerKind.CHOICE:
        choices = _parse_choices(raw.get("choices"), max_points, p, where)
    elif raw.get("choices"):
        p.add(where, f"loại trả lời '{kind}' không dùng danh sách mức (choices)")
    if mandatory and (kind is not AnswerKind.YES_NO or (max_points or _ZERO) != 0):
        p.add(where, "điều kiện bắt buộc phải là câu hỏi Có/Không (answer: yes_no) với max_points: 0")
    return Item(
        code=code,
        label=_text(raw.get("label"), p, where, "nội dung (label)"),
        kind=kind,
        max_points=max_points or _ZERO,
        group_code=group,
        criterion_code=criterion,
        tiers=tiers,
        choices=choices,
        mandatory=mandatory,
        uncertain=_bool(raw.get("uncertain"), p, where, "uncertain"),
        note=_text(raw.get("note"), p, where, "ghi chú", required=False),
        source=_text(raw.get("source"), p, where, "nguồn (source)", required=False),
    )


def _parse_evidence(raw: dict[str, Any], p: _Problems, where: str) -> tuple[tuple[str, ...], bool]:
    evidence_raw = raw.get("evidence") or []
    if not isinstance(evidence_raw, list):
        p.add(where, "evidence phải là danh sách")
        evidence_raw = []
    evidence = tuple(_text(e, p, where, "minh chứng") for e in evidence_raw)
    evidence_required = _bool(raw.get("evidence_required"), p, where, "evidence_required")
    if evidence_required and not evidence:
        p.add(where, "evidence_required: true nhưng không nêu minh chứng cần có (evidence)")
    return evidence, evidence_required


def _parse_criterion(raw: Any, group: str, seen: set[str], p: _Problems, fname: str) -> Criterion | None:
    if not isinstance(raw, dict):
        p.add(f"{fname}: nhóm {group}", "mỗi tiêu chí phải là một mục (mapping)")
        return None
    code = _code(raw.get("code"), seen, p, f"{fname}: nhóm {group}", "tiêu chí")
    if code is None:
        return None
    where = f"{fname}: tiêu chí {code}"
    _unknown_keys(raw, _CRIT_KEYS, p, where)
    evidence, evidence_required = _parse_evidence(raw, p, where)
    note = _text(raw.get("note"), p, where, "ghi chú", required=False)
    extra_note = _text(raw.get("evidence_note"), p, where, "ghi chú minh chứng", required=False)
    if extra_note:
        note = f"{note} Minh chứng: {extra_note}".strip()
    common: dict[str, Any] = dict(
        code=code,
        label=_text(raw.get("label"), p, where, "nội dung (label)"),
        evidence=evidence,
        evidence_required=evidence_required,
        uncertain=_bool(raw.get("uncertain"), p, where, "uncertain"),
        note=note,
        source=_text(raw.get("source"), p, where, "nguồn (source)", required=False),
    )
    if raw.get("items") is None:
        item = _parse_leaf(raw, group, code, p, where)
        if item is None:
            return None
        return Criterion(max_points=item.max_points, items=(item,), has_sub_items=False, mandatory=item.mandatory,
                         **{**common, "label": item.label, "note": note})
    return _parse_parent(raw, group, code, common, seen, p, fname)


def _parse_parent(raw: dict[str, Any], group: str, code: str, common: dict[str, Any], seen: set[str], p: _Problems,
                  fname: str) -> Criterion | None:
    """A criterion scored through its sub-items (1.3 → 1.3.1 … 1.3.5)."""
    where = f"{fname}: tiêu chí {code}"
    sub = raw.get("items")
    for key in ("answer", "tiers", "choices", "mandatory"):
        if raw.get(key) is not None:
            p.add(where, f"tiêu chí có mục con (items) không được có '{key}': đặt ở từng mục con")
    if not isinstance(sub, list) or not sub:
        p.add(where, "items phải là danh sách mục con, không rỗng")
        return None
    max_points = _points(raw.get("max_points"), p, where)
    items = [i for i in (_parse_sub_item(r, n, group, code, seen, p, fname) for n, r in enumerate(sub, 1))
             if i is not None]
    total = sum((i.max_points for i in items), _ZERO)
    if max_points is None:
        if raw.get("max_points") is None:
            p.add(where, "thiếu điểm tối đa (max_points)")
    elif len(items) == len(sub) and total != max_points:
        p.add(where, f"tổng điểm các mục con ({_n(total)}) khác điểm tối đa của tiêu chí ({_n(max_points)})")
    return Criterion(max_points=max_points if max_points is not None else total, items=tuple(items),
                     has_sub_items=True, mandatory=False, **common)


def _parse_sub_item(r: Any, n: int, group: str, code: str, seen: set[str], p: _Problems, fname: str) -> Item | None:
    where = f"{fname}: tiêu chí {code}"
    if not isinstance(r, dict):
        p.add(f"{where}, mục con {n}", "phải là một mục (mapping)")
        return None
    icode = _code(r.get("code"), seen, p, f"{where}, mục con {n}", "mục")
    if icode is None:
        return None
    iw = f"{fname}: mục {icode}"
    _unknown_keys(r, _LEAF_KEYS, p, iw)
    if not icode.startswith(code + "."):
        p.add(iw, f"mã mục con phải bắt đầu bằng mã tiêu chí '{code}.'")
    item = _parse_leaf(r, group, code, p, iw)
    if item is not None and item.mandatory:
        p.add(iw, "điều kiện bắt buộc đặt ở cấp tiêu chí, không ở mục con")
    return item


def _code(value: Any, seen: set[str], p: _Problems, where: str, what: str) -> str | None:
    if value is None or str(value).strip() == "":
        p.add(where, f"{what} thiếu mã (code)")
        return None
    code = str(value).strip()
    if isinstance(value, float):
        p.add(where, f"mã {what} '{value}' phải viết trong dấu nháy (\"{value}\") để không bị đọc thành số")
    if code in seen:
        p.add(where, f"mã {what} trùng: {code}")
        return None
    seen.add(code)
    return code


def _parse_levels(raw: Any, provisional: bool, p: _Problems, fname: str) -> tuple[LevelScope, tuple[LevelBand, ...]]:
    where = f"{fname}: mức độ (levels)"
    if not isinstance(raw, dict):
        p.add(where, "thiếu mục levels (scope và bands)")
        return LevelScope.PER_GROUP, ()
    _unknown_keys(raw, {"scope", "bands", "note"}, p, where)
    try:
        scope = LevelScope(raw.get("scope", "per_group"))
    except ValueError:
        p.add(where, f"scope không rõ '{raw.get('scope')}' (dùng: per_group, total)")
        scope = LevelScope.PER_GROUP
    bands_raw = raw.get("bands")
    if not isinstance(bands_raw, list) or not bands_raw:
        p.add(where, "thiếu danh sách mức (bands)")
        return scope, ()
    bands: list[LevelBand] = []
    for n, b in enumerate(bands_raw, 1):
        bw = f"{where}, mức {n}"
        if not isinstance(b, dict):
            p.add(bw, "phải là một mục có level, name, range")
            continue
        _unknown_keys(b, {"level", "name", "range", "note"}, p, bw)
        level = b.get("level")
        if not isinstance(level, int) or isinstance(level, bool) or level != n:
            p.add(bw, f"level phải là {n} (các mức đánh số 1, 2, 3… theo thứ tự)")
            level = n
        rng = None
        if b.get("range") is None:
            if not provisional:
                p.add(bw, "thiếu ngưỡng điểm (range); chỉ bộ chỉ số tạm thời (provisional) mới được để trống")
        else:
            try:
                rng = parse_interval(b.get("range"))
            except ValueError as exc:
                p.add(bw, str(exc))
        bands.append(LevelBand(level, _text(b.get("name"), p, bw, "tên mức"), rng))
    return scope, tuple(bands)


def _parse_policy(raw: Any, p: _Problems, fname: str) -> Policy:
    if raw is None:
        return Policy()
    where = f"{fname}: policy"
    if not isinstance(raw, dict):
        p.add(where, "phải là một mục (mapping)")
        return Policy()
    _unknown_keys(raw, {"failed_mandatory", "overall_level"}, p, where)
    try:
        fm = FailedMandatory(raw.get("failed_mandatory", "flag"))
    except ValueError:
        p.add(where, f"failed_mandatory không rõ '{raw.get('failed_mandatory')}' (dùng: flag, lowest_level, not_reached)")
        fm = FailedMandatory.FLAG
    try:
        ol = OverallLevel(raw.get("overall_level", "none"))
    except ValueError:
        p.add(where, f"overall_level không rõ '{raw.get('overall_level')}' (dùng: none, min)")
        ol = OverallLevel.NONE
    return Policy(fm, ol)


def _parse_group(g: Any, n: int, seen: set[str], provisional: bool, p: _Problems, fname: str) -> Group | None:
    if not isinstance(g, dict):
        p.add(f"{fname}: nhóm {n}", "phải là một mục (mapping)")
        return None
    gcode = _code(g.get("code"), seen, p, f"{fname}: nhóm {n}", "nhóm")
    if gcode is None:
        return None
    gw = f"{fname}: nhóm {gcode}"
    _unknown_keys(g, _GROUP_KEYS, p, gw)
    gmax = _points(g.get("max_points"), p, gw)
    crits_raw = g.get("criteria") or []
    if not isinstance(crits_raw, list):
        p.add(gw, "criteria phải là danh sách")
        crits_raw = []
    crits = [c for c in (_parse_criterion(r, gcode, seen, p, fname) for r in crits_raw) if c is not None]
    if not provisional:
        if gmax is None:
            p.add(gw, "thiếu điểm tối đa của nhóm (max_points)")
        if not crits_raw:
            p.add(gw, "nhóm chưa có tiêu chí nào; chỉ bộ chỉ số tạm thời (provisional) mới được để trống")
    total = sum((c.max_points for c in crits), _ZERO)
    if gmax is not None and crits and len(crits) == len(crits_raw) and total != gmax:
        p.add(gw, f"tổng điểm các tiêu chí ({_n(total)}) khác điểm tối đa của nhóm ({_n(gmax)})")
    name = _text(g.get("name"), p, gw, "tên nhóm", required=not provisional) or f"Nhóm {gcode} (chưa rõ tên)"
    return Group(gcode, name, gmax, tuple(crits), _bool(g.get("uncertain"), p, gw, "uncertain"),
                 _text(g.get("note"), p, gw, "ghi chú", required=False),
                 _text(g.get("source"), p, gw, "nguồn (source)", required=False))


def _check_level_cover(scope: LevelScope, levels: tuple[LevelBand, ...], groups: list[Group], p: _Problems,
                       fname: str) -> None:
    """Level bands must cover every total a group (or the whole set) can reach, exactly once."""
    if not levels or any(b.range is None for b in levels):
        return
    if scope is LevelScope.PER_GROUP:
        maxima = sorted({g.max_points for g in groups if g.max_points is not None})
    else:
        known = [g.max_points for g in groups]
        # all() checked that every maximum is known
        maxima = [sum(cast("list[Decimal]", known), _ZERO)] if known and all(m is not None for m in known) else []
    for m in maxima:
        for problem in check_cover([b.range for b in levels], _ZERO, m):  # type: ignore[misc]
            p.add(f"{fname}: mức độ (levels)", f"với tổng điểm tối đa {_n(m)}: {problem}")
    ordered = sorted(levels, key=lambda b: _start(b.range))  # type: ignore[arg-type]
    if [b.level for b in ordered] != sorted(b.level for b in levels):
        p.add(f"{fname}: mức độ (levels)", "mức cao hơn phải ứng với khoảng điểm cao hơn")


_CHANGE_KEYS = {"date", "replaces", "summary", "items"}
_ITEM_CHANGE_KEYS = {"code", "before", "after", "write"}


def _parse_changelog(raw: Any, p: _Problems, fname: str) -> tuple[Change, ...]:
    """`changelog`: what changed in the meaning of items, newest last; `replaces` names the content
    digest (its first 12 characters at least) of the version before the change."""
    if raw is None:
        return ()
    where = f"{fname}: changelog"
    if not isinstance(raw, list):
        p.add(where, "phải là danh sách các lần thay đổi")
        return ()
    out = []
    for n, entry in enumerate(raw, 1):
        ew = f"{where}, lần {n}"
        if not isinstance(entry, dict):
            p.add(ew, "phải là một mục có date, replaces, summary, items")
            continue
        _unknown_keys(entry, _CHANGE_KEYS, p, ew)
        items = []
        items_raw = entry.get("items") or []
        if not isinstance(items_raw, list):
            p.add(ew, "items phải là danh sách các mục đổi nghĩa")
            items_raw = []
        for m, it in enumerate(items_raw, 1):
            iw = f"{ew}, mục {m}"
            if not isinstance(it, dict):
                p.add(iw, "phải là một mục có code, before, after, write")
                continue
            _unknown_keys(it, _ITEM_CHANGE_KEYS, p, iw)
            items.append(ItemChange(*(_text(it.get(k), p, iw, k) for k in ("code", "before", "after", "write"))))
        replaces = _text(entry.get("replaces"), p, ew, "replaces (mã băm nội dung của phiên bản trước)")
        if replaces and not re.fullmatch(r"[0-9a-f]{12,64}", replaces):
            p.add(ew, f"replaces phải là mã băm nội dung (ít nhất 12 ký tự 0-9a-f), không phải '{replaces}'")
        out.append(Change(_text(entry.get("date"), p, ew, "date"), replaces,
                          _text(entry.get("summary"), p, ew, "summary", required=False), tuple(items)))
    return tuple(out)


def parse_index_set(data: Any, source: str = "") -> IndexSet:
    """Validate a mapping and build the IndexSet; raise IndexSetError listing every problem."""
    fname = source or "bộ chỉ số"
    p = _Problems()
    if not isinstance(data, dict):
        raise IndexSetError(f"Tệp bộ chỉ số {fname} không hợp lệ", details=["nội dung phải là một mục (mapping)"])
    _unknown_keys(data, _TOP_KEYS, p, fname)
    provisional = _bool(data.get("provisional"), p, fname, "provisional")
    decision = data.get("decision") or {}
    if not isinstance(decision, dict):
        p.add(fname, "decision phải là một mục có number, date")
        decision = {}
    decision_date = decision.get("date")
    applies_to_raw = data.get("applies_to") or []
    if not isinstance(applies_to_raw, list):
        applies_to_raw = []
    applies_to = tuple(_text(a, p, fname, "đối tượng áp dụng") for a in applies_to_raw)
    covers_kinds, covers_levels = _parse_covers(data.get("covers"), p, fname)
    scope, levels = _parse_levels(data.get("levels"), provisional, p, fname)
    groups_raw = data.get("groups")
    if not isinstance(groups_raw, list) or not groups_raw:
        p.add(fname, "thiếu danh sách nhóm tiêu chí (groups)")
        groups_raw = []
    seen: set[str] = set()
    groups = [g for g in (_parse_group(g, n, seen, provisional, p, fname) for n, g in enumerate(groups_raw, 1))
              if g is not None]
    _check_level_cover(scope, levels, groups, p, fname)
    draft = IndexSet(
        code=_text(data.get("code"), p, fname, "mã bộ chỉ số (code)"),
        version=_text(data.get("version"), p, fname, "phiên bản (version)"),
        title=_text(data.get("title"), p, fname, "tên (title)"), provisional=provisional,
        decision_number=_text(decision.get("number"), p, fname, "số quyết định", required=False),
        decision_date=str(decision_date) if decision_date is not None else None, level_scope=scope, levels=levels,
        policy=_parse_policy(data.get("policy"), p, fname), groups=tuple(groups),
        content_hash="", content={}, source=source, applies_to=applies_to,
        note=_text(data.get("note"), p, fname, "ghi chú", required=False),
        covers_kinds=covers_kinds, covers_levels=covers_levels,
        changelog=_parse_changelog(data.get("changelog"), p, fname),
    )
    if p.items:
        raise IndexSetError(f"Tệp bộ chỉ số {fname} không hợp lệ ({len(p.items)} lỗi)", details=p.items)
    canon = canonical(draft)
    return replace(draft, content=canon, content_hash=content_hash(canon))


# ---------------------------------------------------------------- canonical form and hash


def _n(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _jnum(d: Decimal | None) -> int | float | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def _leaf_dict(i: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"code": i.code, "label": i.label, "answer": i.kind.value, "max_points": _jnum(i.max_points)}
    if i.mandatory:
        out["mandatory"] = True
    if i.tiers:
        out["tiers"] = [
            {k: v for k, v in {"range": t.range.text, "points": _jnum(t.points), "label": t.label or None,
                               "uncertain": t.uncertain or None, "note": t.note or None}.items() if v is not None}
            for t in i.tiers
        ]
    if i.choices:
        out["choices"] = [{"code": c.code, "label": c.label, "points": _jnum(c.points)} for c in i.choices]
    if i.uncertain:
        out["uncertain"] = True
    if i.note:
        out["note"] = i.note
    if i.source:
        out["source"] = i.source
    return out


def _criterion_dict(c: Criterion) -> dict[str, Any]:
    if c.has_sub_items:
        out: dict[str, Any] = {"code": c.code, "label": c.label, "max_points": _jnum(c.max_points),
                               "items": [_leaf_dict(i) for i in c.items]}
        if c.uncertain:
            out["uncertain"] = True
        if c.note:
            out["note"] = c.note
        if c.source:
            out["source"] = c.source
    else:
        out = _leaf_dict(c.items[0])
        out.pop("note", None)
        if c.note:
            out["note"] = c.note
    if c.evidence:
        out["evidence"] = list(c.evidence)
    if c.evidence_required:
        out["evidence_required"] = True
    return out


def canonical(s: IndexSet) -> dict[str, Any]:
    """The JSON-safe form of an index set: what is hashed, stored and written back to files."""
    return {
        "code": s.code,
        "version": s.version,
        "title": s.title,
        "provisional": s.provisional,
        "decision": {"number": s.decision_number, "date": s.decision_date},
        "applies_to": list(s.applies_to),
        **({"covers": {"unit_kinds": list(s.covers_kinds), "education_levels": list(s.covers_levels)}}
           if s.covers_kinds else {}),
        "note": s.note,
        "levels": {
            "scope": s.level_scope.value,
            "bands": [{"level": b.level, "name": b.name, "range": b.range.text if b.range else None} for b in s.levels],
        },
        "policy": {"failed_mandatory": s.policy.failed_mandatory.value, "overall_level": s.policy.overall_level.value},
        "groups": [
            {k: v for k, v in {"code": g.code, "name": g.name, "max_points": _jnum(g.max_points),
                               "uncertain": g.uncertain or None, "note": g.note or None,
                               "source": g.source or None,
                               "criteria": [_criterion_dict(c) for c in g.criteria]}.items() if v is not None}
            for g in s.groups
        ],
        **({"changelog": [
            {"date": c.date, "replaces": c.replaces, **({"summary": c.summary} if c.summary else {}),
             "items": [{"code": i.code, "before": i.before, "after": i.after, "write": i.write} for i in c.items]}
            for c in s.changelog]} if s.changelog else {}),
    }


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- files


def _code_lines(text: str) -> dict[str, int]:
    """Line (1-based) of each mapping's `code:` in a YAML text, to point the reader at it."""
    out: dict[str, int] = {}
    stack = [safeyaml.compose(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == "code" and isinstance(v, yaml.ScalarNode):
                    out.setdefault(v.value, v.start_mark.line + 1)
                stack.append(v)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return out


_WHERE = re.compile(r"^(.*?: (?:tiêu chí|mục|nhóm) )([^\s,:]+)")


def load_yaml_text(text: str, source: str) -> IndexSet:
    try:
        data = safeyaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = safeyaml.line_of(exc)
        where = f" (dòng {line})" if line else ""
        raise IndexSetError(f"Tệp bộ chỉ số {source} không đọc được{where}", details=[safeyaml.describe(exc)]) from None
    try:
        return parse_index_set(data, source)
    except IndexSetError as err:
        lines = _code_lines(text)

        def with_line(detail: str) -> str:
            m = _WHERE.match(detail)
            if m and m.group(2) in lines:
                return f"{m.group(0)} (dòng {lines[m.group(2)]}){detail[m.end():]}"
            return detail

        raise IndexSetError(err.message, details=[with_line(d) for d in err.details]) from None


def index_set_from_content(content: dict[str, Any], source: str = "") -> IndexSet:
    """Rebuild an index set from its stored canonical JSON (same validation, same hash)."""
    return parse_index_set(content, source)
