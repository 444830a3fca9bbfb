"""Text hygiene shared by every layer: what users type is normalised once, the same way."""
from __future__ import annotations

import re
import unicodedata

# What never goes into stored text: C0 controls except tab and newline (CR is folded into
# newline first), DEL and C1 controls, lone surrogates, and U+FFFE/U+FFFF. The last two are
# outside XML 1.0's Char production, so one of them in a name made a .docx Word refuses.
# C0/C1 controls and the bidirectional overrides/isolates (U+202A-U+202E, U+2066-U+2069), which
# reverse what a title shows (a U+202E "right-to-left override" kept in a paper's title).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


class TextError(ValueError):
    """A value that cannot be repaired into clean text (Vietnamese message)."""


def clean_text(value: str | None, *, field: str = "giá trị", allow_newlines: bool = False) -> str:
    """THE gate for text a person types or imports: NFC, Icelandic Ð (U+00D0) mapped to Vietnamese Đ,
    CR/CRLF to newline, spaces collapsed (unless newlines are allowed), and a TextError for any
    control or XML-invalid character (named with its position, so the user can find it)."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if bad := _NOT_XML.search(text):
        raise TextError(f"{field} chứa ký tự không hợp lệ U+{ord(bad.group()):04X} (vị trí {bad.start() + 1})")
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")
    if bad := _CONTROL.search(text):
        raise TextError(f"{field} chứa ký tự điều khiển không hợp lệ (U+{ord(bad.group()):04X})")
    if not allow_newlines:
        text = " ".join(text.split())
    return text.strip()


def fold(value: str) -> str:
    """Lower-case, strip diacritics and spaces: for matching user-typed labels ("Tiểu học" ~ "tieu hoc")."""
    text = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def xml_invalid(text: str) -> str | None:
    """The first character XML 1.0 cannot hold (besides tab, LF, CR), or None: a last check before writing XML."""
    m = _XML_BAD.search(text)
    return m.group() if m else None


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def first_xml_invalid(tree: object, path: str = "") -> tuple[str, str] | None:
    """(where, character) of the first XML-invalid character in nested dicts/lists of text, or None."""
    if isinstance(tree, str):
        bad = xml_invalid(tree)
        return (path or "giá trị", bad) if bad is not None else None
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, (list, tuple)) else ()
    for key, value in items:
        found = first_xml_invalid(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def clean_tree(tree: object, *, field: str = "dữ liệu") -> object:
    """clean_text applied to every string (keys included) of imported nested data; TextError names the key."""
    if isinstance(tree, str):
        return clean_text(tree, field=field, allow_newlines=True)
    if isinstance(tree, dict):
        return {clean_tree(k, field=field): clean_tree(v, field=f"{field} › {k}") for k, v in tree.items()}
    if isinstance(tree, list):
        return [clean_tree(v, field=f"{field} › {i + 1}") for i, v in enumerate(tree)]
    return tree
