"""YAML a person hands us (calendars, index sets, answer forms, document data), read safely.

PyYAML's SafeLoader still expands anchors and aliases: a 410-byte "billion laughs" file
grows into gigabytes when its node graph is walked. No file of ours needs them, so the
loader below refuses the first anchor or alias instead of expanding it, and every reader
checks the file's size and encoding before parsing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from yaml.error import Mark
from yaml.events import AliasEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import Node

MAX_YAML_BYTES = 1024 * 1024  # the largest shipped file is ~60 KB; a real one stays far below this
ALIAS_REFUSED = "không nhận neo và bí danh YAML (ký hiệu & và *): hãy viết đầy đủ từng giá trị"


class AliasRefused(yaml.MarkedYAMLError):
    """An anchor (&name) or alias (*name): refused before anything is expanded."""


class NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases at the event that introduces them."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if isinstance(event, AliasEvent) or (
            isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None
        ):
            # The pure-Python parser under SafeLoader makes yaml.error.Mark, never the C one.
            raise AliasRefused(None, None, ALIAS_REFUSED, cast(Mark | None, event.start_mark))
        return super().compose_node(parent, index)


class YamlInputError(ValueError):
    """A YAML input refused before or while parsing; `str()` is the Vietnamese reason."""

    def __init__(self, message: str, line: int | None = None, code: str = "unreadable") -> None:
        super().__init__(message)
        self.line = line
        self.code = code  # unreadable | too_large | encoding


def decode(raw: bytes, name: str, *, limit: int = MAX_YAML_BYTES) -> str:
    """UTF-8 text of a file's bytes, or YamlInputError naming the size or the first bad line."""
    if len(raw) > limit:
        raise YamlInputError(f"Tệp {name} quá lớn ({len(raw) // 1024} KB; tối đa {limit // 1024} KB)",
                             code="too_large")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlInputError(f"Tệp {name} không phải UTF-8 (dòng {line}): hãy lưu lại với mã hóa UTF-8",
                             line, "encoding") from None


def read_bytes(path: str | Path, *, limit: int = MAX_YAML_BYTES) -> bytes:
    """A user's file, its size checked before reading it all."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise YamlInputError(f"Tệp {path.name} quá lớn ({size // 1024} KB; tối đa {limit // 1024} KB)",
                                 code="too_large")
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise YamlInputError(f"Không đọc được tệp {path}: {exc.strerror or exc}") from None
    return raw


def read_text(path: str | Path, *, limit: int = MAX_YAML_BYTES) -> str:
    """A user's YAML file as text: size checked before reading it all, then decoded."""
    return decode(read_bytes(path, limit=limit), Path(path).name, limit=limit)


def compose(text: str) -> yaml.Node | None:
    """The node tree, aliases refused. Deep nesting is refused too (PyYAML recurses per level)."""
    try:
        return yaml.compose(text, Loader=NoAliasLoader)
    except RecursionError:
        raise AliasRefused(None, None, "lồng nhau quá sâu", None) from None


def safe_load(text: str) -> Any:
    """Like yaml.safe_load, aliases and absurd nesting refused (raises yaml.YAMLError)."""
    try:
        return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - NoAliasLoader is a SafeLoader
    except RecursionError:
        raise AliasRefused(None, None, "lồng nhau quá sâu", None) from None


def load_file(path: str | Path, *, limit: int = MAX_YAML_BYTES) -> Any:
    """Read, decode and parse a user's YAML file; every failure is a YamlInputError in Vietnamese."""
    path = Path(path)
    text = read_text(path, limit=limit)
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlInputError(f"Tệp {path.name} không đọc được: {describe(exc)}", line_of(exc)) from None


def line_of(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def describe(exc: yaml.YAMLError) -> str:
    """One Vietnamese line for a YAML error (the parser's own words kept in brackets)."""
    line = line_of(exc)
    where = f" (dòng {line})" if line else ""
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, AliasRefused):
        return f"{problem}{where}"
    return f"YAML sai cú pháp{where} ({problem})"
