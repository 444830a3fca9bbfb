"""YAML read with line numbers kept, so every message can name the line (1-based).

Scalars stay text (a `Text` str carrying its line): the calendar parser decides what a value
means, so YAML 1.1 surprises (`no` -> False, `2025-05` -> int arithmetic…) never happen.
"""
from __future__ import annotations

from typing import Any

import yaml

from cdsflow.calendars.problems import Problem, error
from cdsflow.kernel import safeyaml


class Text(str):
    line: int
    null: bool  # an unquoted ~, null or empty value

    def __new__(cls, value: str, line: int, null: bool = False) -> Text:
        obj = super().__new__(cls, value)
        obj.line = line
        obj.null = null
        return obj


class Map(dict[str, Any]):
    line: int
    key_lines: dict[str, int]


class Seq(list[Any]):
    line: int


_NULLS = {"", "~", "null", "Null", "NULL"}


def _convert(node: yaml.Node, problems: list[Problem]) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        plain = node.style is None
        return Text(node.value, line, null=plain and node.value in _NULLS)
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_convert(item, problems) for item in node.value)
        seq.line = line
        return seq
    if isinstance(node, yaml.MappingNode):
        out = Map()
        out.line = line
        out.key_lines = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(error(key_line, "bad_key", "khóa phải là một chuỗi"))
                continue
            key = key_node.value
            if key in out:
                problems.append(error(key_line, "duplicate_key", f"khóa '{key}' bị lặp lại (đã có ở dòng {out.key_lines[key]})"))
                continue
            out[key] = _convert(value_node, problems)
            out.key_lines[key] = key_line
        return out
    raise TypeError(node)  # pragma: no cover - compose yields only these three


# PyYAML's problems, said in Vietnamese (the original stays in brackets for the rare others).
_SYNTAX_VI = {
    "mapping values are not allowed here": "dấu ':' không được phép ở đây (đặt giá trị có dấu ':' trong ngoặc kép)",
    "found unexpected end of stream": "tệp kết thúc khi còn ngoặc hoặc dấu nháy chưa đóng",
    "could not find expected ':'": "thiếu dấu ':' sau khóa",
    "found character '\\t' that cannot start any token": "không dùng ký tự tab để thụt lề",
    "expected <block end>, but found '-'": "thụt lề của danh sách không thẳng hàng",
    "expected <block end>, but found '<block mapping start>'": "thụt lề không thẳng hàng",
}


def read_tree(text: str) -> tuple[object | None, list[Problem]]:
    """Parse YAML text into Map/Seq/Text; syntax errors become problems with their line."""
    problems: list[Problem] = []
    try:
        node = safeyaml.compose(text)  # anchors/aliases refused: no alias bomb
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = str(exc.problem or exc)
        said = problem if isinstance(exc, safeyaml.AliasRefused) else _SYNTAX_VI.get(problem, f"cú pháp sai ({problem})")
        return None, [error(line, "yaml_syntax", f"YAML không đọc được: {said}")]
    if node is None:
        return None, [error(1, "empty", "tệp lịch rỗng")]
    return _convert(node, problems), problems
