"""Text hygiene shared by every layer: what users type is normalised once, the same way."""
from __future__ import annotations

import re
import unicodedata

# C0 controls except tab/newline/carriage return, plus DEL: never legal in a .docx or a mail header.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TextError(ValueError):
    """A value that cannot be repaired into clean text (Vietnamese message)."""


def clean_text(value: str | None, *, field: str = "giá trị", allow_newlines: bool = False) -> str:
    """NFC-normalise, map the Icelandic Ð (U+00D0) to Vietnamese Đ, strip, refuse control characters."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    if _CONTROL.search(text):
        raise TextError(f"{field} chứa ký tự điều khiển không hợp lệ")
    if not allow_newlines:
        text = " ".join(text.split())
    return text.strip()


def fold(value: str) -> str:
    """Lower-case, strip diacritics and spaces: for matching user-typed labels ("Tiểu học" ~ "tieu hoc")."""
    text = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^a-z0-9]+", "", text.lower())
