"""Text hygiene shared by every layer: what users type is normalised once, the same way."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


# --- Vietnamese order and search: THE sort key and THE search fold, used by every list, export and paper.
# The sort key is written here rather than taken from PyICU's `vi` collator: PyICU needs a C++ build and
# libicu-dev on every machine, and names need only the alphabet and the six tones. On PostgreSQL the
# database sorts with its ICU `vi` collation instead (storage/collation.py), which agrees on these.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"  # f j w z sit where Latin puts them (foreign names)
_RANK = {ch: i + 10 for i, ch in enumerate(_ALPHABET)}
# không, huyền, hỏi, ngã, sắc, nặng
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@lru_cache(maxsize=65536)  # names share most words ("Trường", "Tiểu", "học"): sorting 54k names reuses them
def _word_key(word: str) -> tuple[tuple[int, ...], int]:
    if word.isdigit():  # "số 5" before "số 25": numbers by value, before any letter
        return (int(word) - 10**12,), 0
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = 0
    kept = []
    for ch in decomposed:
        if ch in _TONES:
            tone = tone or _TONES[ch]
        else:
            kept.append(ch)
    letters = unicodedata.normalize("NFC", "".join(kept))
    # Other ASCII (digits, punctuation) before every letter, as ICU puts them; other scripts after.
    return tuple(_RANK.get(ch, ord(ch) - 1000 if ord(ch) < 128 else ord(ch) + 100) for ch in letters), tone


def sort_key(text: str | None) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """THE Vietnamese sort key for labels (school names, titles) in reading order: base letters in the
    Vietnamese alphabet (a < ă < â … d < đ …), case ignored; tones only break ties
    (không < huyền < hỏi < ngã < sắc < nặng)."""
    keys = [_word_key(w) for w in unicodedata.normalize("NFC", text or "").split()]
    return tuple(k[0] for k in keys), tuple(k[1] for k in keys)


def name_sort_key(full_name: str | None) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """The sort key for a Vietnamese personal name: given name, then middle, then family name."""
    words = unicodedata.normalize("NFC", full_name or "").split()
    if not words:
        return ((), ())
    ordered = [words[-1], *words[1:-1], words[0]] if len(words) > 1 else words
    keys = [_word_key(w) for w in ordered]
    return tuple(k[0] for k in keys), tuple(k[1] for k in keys)


def _fold_table() -> tuple[str, str]:
    """(letters with marks, their bare Latin letters) over the Latin blocks Vietnamese and its loans use;
    the same two strings drive the Python fold and the SQL one (PostgreSQL `translate`), so both agree."""
    src, dst = ["Đđ"], ["Dd"]
    for block in (range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        for cp in block:
            ch = chr(cp)
            base = unicodedata.normalize("NFD", ch)[0]
            if ch != base and base.isascii() and base.isalpha():
                src.append(ch)
                dst.append(base)
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _fold_table()
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)


def search_fold(value: str | None) -> str:
    """THE search fold: NFC, marks dropped (đ → d), lower case, spaces collapsed. "Đông Hải", "đông hải"
    and "dong hai" fold alike; SQL compares `vi_fold(column)` (storage/collation.py) with this."""
    text = unicodedata.normalize("NFC", value or "").translate(_FOLD)
    return " ".join(text.lower().split())
