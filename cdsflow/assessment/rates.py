"""One reading of a rate (tỉ lệ %) for every door: YAML answer files, Excel cells and the web form.

People write 70, "70", "70%", "70 %"; Excel stores "70%" as 0.7 in a %-formatted cell. All are
70 %. "0,7%" is 0,7 %: the sign says so. A bare number strictly between 0 and 1 ("0,7", "0.7",
0.7 in a General cell) could be 0,7 % or 70 % (a fraction): guessing silently moves a school's
level, so it is refused and the person asked to write 70 or 70%.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

RATE_HINT = "ghi 70 hoặc 70%"
_ZERO, _ONE, _HUNDRED = Decimal(0), Decimal(1), Decimal(100)


class RateError(ValueError):
    """A rate that cannot be read; the message (Vietnamese) names the value and what to write."""


def vn_number(d: Decimal) -> str:
    """0.7 → "0,7": numbers in messages as Vietnamese offices write them."""
    return format(d.normalize(), "f").replace(".", ",")


def _decimal(text: str, raw: Any) -> Decimal:
    try:
        d = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise RateError(f"tỉ lệ không phải là số: '{raw}' ({RATE_HINT})") from None
    if not d.is_finite():
        raise RateError(f"tỉ lệ không phải là số: '{raw}' ({RATE_HINT})")
    return d


def has_percent_sign(raw: Any) -> bool:
    return isinstance(raw, str) and "%" in raw


def parse_rate(raw: Any, *, percent_cell: bool = False) -> Decimal:
    """The rate in percent (0–100 not checked here). `percent_cell`: the number came from a cell
    formatted % (Excel keeps 70 % as 0.7), so it is multiplied by 100. Raises RateError."""
    if isinstance(raw, bool) or raw is None:
        raise RateError(f"tỉ lệ không phải là số: '{raw}' ({RATE_HINT})")
    if isinstance(raw, (int, float, Decimal)):
        d = _decimal(repr(raw) if isinstance(raw, float) else str(raw), raw)
        if percent_cell:
            return (d * _HUNDRED).normalize()
        return _checked_bare(d)
    text = str(raw).strip()
    if text.endswith("%"):
        number = text[:-1]
        if "%" in number or not number.strip():
            raise RateError(f"tỉ lệ không đọc được: '{raw}' ({RATE_HINT})")
        return _decimal(number, raw)
    return _checked_bare(_decimal(text, raw))


def _checked_bare(d: Decimal) -> Decimal:
    if _ZERO < d < _ONE:
        raise RateError(f"tỉ lệ {vn_number(d)} không rõ là {vn_number(d)} % hay {vn_number(d * _HUNDRED)} %: "
                        f"{RATE_HINT} (tỉ lệ dưới 1 % thì ghi kèm dấu %, ví dụ {vn_number(d)}%)")
    return d


def stored_rate(d: Decimal) -> int | float | str:
    """The JSON form a rate is stored in, read back the same by `parse_rate`: a number, or the
    text "0.7%" for a rate under 1 % (a bare 0.7 would be refused)."""
    d = d.normalize()
    if _ZERO < d < _ONE:
        return f"{format(d, 'f')}%"
    return int(d) if d == d.to_integral_value() else float(d)
