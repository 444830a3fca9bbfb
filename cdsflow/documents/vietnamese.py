"""Vietnamese writing conventions for official documents (NĐ 30/2020 and the format sheet).

Pure functions only: the date line, short dates, numbers with Vietnamese separators, money in
words, upper-casing for headers, document numbers and the Vietnamese name sort key.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import clean_text, sort_key
from cdsflow.kernel.text import name_sort_key as name_sort_key  # re-exported for the paper builders
from cdsflow.workflow.units import SHORT_CODE

# Blank used where a draft leaves a number or a day to be written by hand (about six spaces).
BLANK = " " * 6


def nfc(value: object, *, field: str = "giá trị", allow_newlines: bool = False) -> str:
    """Every value put into a template goes through here: NFC, Ð→Đ, no control characters."""
    return clean_text(None if value is None else str(value), field=field, allow_newlines=allow_newlines)


def upper(value: object) -> str:
    """Upper case for header names and signature lines; the stored value keeps its own case."""
    return nfc(value).upper()


def _dd(day: int) -> str:
    return f"{day:02d}"


def _mm(month: int) -> str:
    # Only January and February take a leading zero (§7): "tháng 02", "tháng 3".
    return f"{month:02d}" if month <= 2 else str(month)


def date_words(day: date | None, *, planned: date | None = None) -> str:
    """`ngày 05 tháng 02 năm 2025`; a draft (no day) keeps the planned month/year or blanks."""
    if day is not None:
        return f"ngày {_dd(day.day)} tháng {_mm(day.month)} năm {day.year}"
    if planned is not None:
        return f"ngày{BLANK}tháng {_mm(planned.month)} năm {planned.year}"
    return f"ngày{BLANK}tháng{BLANK}năm{BLANK}"


def date_line(place: str, day: date | None, *, planned: date | None = None) -> str:
    """The date line of the header: `Ba Đình, ngày 05 tháng 02 năm 2025`."""
    place = nfc(place, field="địa danh")
    if not place:
        raise InvalidInput("Thiếu địa danh cho dòng ngày tháng của văn bản")
    return f"{place}, {date_words(day, planned=planned)}"


def month_year_line(place: str, day: date | None) -> str:
    """Foot of a dossier cover: `Hùng Thắng, tháng 3 năm 2026`."""
    place = nfc(place, field="địa danh")
    if day is None:
        return f"{place}, tháng{BLANK}năm{BLANK}"
    return f"{place}, tháng {_mm(day.month)} năm {day.year}"


def short_date(day: date | None) -> str:
    """`30/12/2022`, the short form acceptable in references; blank for an unknown day."""
    return "" if day is None else f"{day.day:02d}/{day.month:02d}/{day.year}"


def thousands(value: int) -> str:
    """`1.250.000`: a dot between thousands."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(int(value)):,}".replace(",", ".")


def decimal(value: float | int | Decimal | None, places: int = 2) -> str:
    """`75,5`: comma for decimals, dot for thousands, trailing zeros dropped; '' for None."""
    if value is None:
        return ""
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole, _, frac = f"{abs(q):f}".partition(".")
    frac = frac.rstrip("0")
    text = thousands(int(whole)) + ("," + frac if frac else "")
    return ("-" if q < 0 else "") + text


def money_in_words(amount: int) -> str:
    """`Một triệu hai trăm năm mươi nghìn đồng`: vn-numberwords gives the "không trăm linh" forms
    that num2words `vi` gets wrong."""
    from vn_numberwords import number_to_words

    words = nfc(number_to_words(int(amount)))
    return words[:1].upper() + words[1:] + " đồng"


_CODE_GROUP = SHORT_CODE  # one rule for a unit's short code and every group of a ký hiệu


def document_code(*groups: str | None) -> str:
    """`QĐ-THHT`: code groups joined with '-', user-typed spaces stripped (the seed's "61 /KH")."""
    parts = [re.sub(r"\s+", "", nfc(g)) for g in groups if g and nfc(g)]
    for p in parts:
        if not _CODE_GROUP.match(p):
            raise InvalidInput(f"Ký hiệu văn bản không hợp lệ: «{p}» (chỉ gồm chữ cái, chữ số, '.', '&', bắt đầu bằng chữ cái)")
    return "-".join(parts)


def number_text(number: int | None) -> str:
    """`07`, `125`; blank for a draft."""
    if number is None:
        return BLANK
    if number < 1:
        raise InvalidInput(f"Số văn bản phải lớn hơn 0 (nhận {number})")
    return f"{number:02d}"


def number_line(number: int | None, *groups: str | None) -> str:
    """`Số: 07/QĐ-THHT`; a draft prints `Số:      /QĐ-THHT` (number given after signing)."""
    return f"Số: {number_text(number)}/{document_code(*groups)}"


def reference(doc_kind: str, number: int | None, code: str, day: date | None, issuer: str) -> str:
    """`Quyết định số 07/QĐ-THHT ngày 05 tháng 02 năm 2025 của Trường …` (blanks in drafts)."""
    return f"{nfc(doc_kind)} số {number_text(number)}/{code} {date_words(day)} của {nfc(issuer)}"


# --- Vietnamese collation: one sort key for the whole program, in kernel/text.py -------------------
text_sort_key = sort_key  # the names the paper builders use
