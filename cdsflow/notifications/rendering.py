"""Jinja2 templates for every kind of mail, loaded and checked once (subject, text, html per kind)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import yaml
from jinja2 import nodes
from markupsafe import escape

from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text

TEMPLATE_DIR = Path(__file__).with_name("templates")
KINDS = ("reminder", "overdue_digest", "returned", "proposal_received", "recognised", "account_setup",
         "password_reset")
PARTS = ("subject", "txt", "html")
TRANSACTIONAL_KINDS = ("returned", "proposal_received", "recognised")


class Rendered(NamedTuple):  # a tuple: 54,000 of them are made per national fan-out
    subject: str
    text: str
    html: str


class TemplateSet:
    """The compiled templates of one directory; refuses to load if a kind or a stage is missing."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.directory = directory
        # Autoescape the HTML part only: a school called "GD&ĐT <Ba Đình>" must not break it.
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self.templates: dict[tuple[str, str], jinja2.Template] = {}
        problems: list[str] = []
        for kind in KINDS:
            for part in PARTS:
                name = f"{kind}.{part}.j2"
                try:
                    self.templates[(kind, part)] = self.env.get_template(name)
                except jinja2.TemplateNotFound:
                    problems.append(f"{directory / name}: thiếu tệp mẫu")
                except jinja2.TemplateSyntaxError as err:
                    problems.append(f"{directory / name}, dòng {err.lineno}: lỗi cú pháp mẫu: {err.message}")
        self.next_steps = self._load_next_steps(directory / "next_steps.yaml", problems)
        if problems:
            raise CdsError("Mẫu thư không hợp lệ", details=problems)

    @staticmethod
    def _load_next_steps(path: Path, problems: list[str]) -> dict[str, str]:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"{path}: thiếu tệp")
            return {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f", dòng {mark.line + 1}" if mark else ""
            problems.append(f"{path}{where}: YAML không hợp lệ")
            return {}
        if not isinstance(data, dict):
            problems.append(f"{path}: cần một bảng giai đoạn → việc cần làm")
            return {}
        out: dict[str, str] = {}
        for key, value in data.items():
            if key not in {s.value for s in Stage}:
                problems.append(f"{path}: giai đoạn không tồn tại: {key}")
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"{path}: {key}: thiếu nội dung")
            else:
                out[key] = clean_text(value)
        for stage in Stage:
            if stage.value not in out and stage.value not in data:
                problems.append(f"{path}: thiếu giai đoạn {stage.value}")
        return out

    def render(self, kind: str, context: dict[str, Any]) -> Rendered:
        if kind not in KINDS:
            raise InvalidInput(f"Loại thư không tồn tại: {kind}", details=[f"các loại: {', '.join(KINDS)}"])
        try:
            subject = self.templates[(kind, "subject")].render(context)
            text = self.templates[(kind, "txt")].render(context)
            html = self.templates[(kind, "html")].render(context)
        except jinja2.UndefinedError as err:
            raise InvalidInput(f"Thiếu dữ liệu cho mẫu thư {kind}: {err.message}") from None
        return _finish(subject, text, html)

    def splicer(self, kind: str, context: dict[str, Any], per_row: Sequence[str]) -> Splicer | None:
        """A renderer of many mails that differ only in the `per_row` values, or None when the
        kind's templates do anything with them but print them (then render each mail).

        Jinja costs ~0.25 ms per mail; 54,000 reminders differ only in a few printed values, so the
        templates are rendered once with markers and the values are put in their place (escaped
        where the part autoescapes, exactly as Jinja would)."""
        if not self._bare_only(kind, tuple(per_row)):
            return None
        marked = {**context, **{name: f"{_MARK}{i}{_END}" for i, name in enumerate(per_row)}}
        try:
            parts = [(self.templates[(kind, part)].render(marked), self._escapes(kind, part)) for part in PARTS]
        except jinja2.UndefinedError as err:
            raise InvalidInput(f"Thiếu dữ liệu cho mẫu thư {kind}: {err.message}") from None
        return Splicer(tuple(per_row), tuple((_MARKS.split(out), esc) for out, esc in parts))

    def list_splicer(self, kind: str, context: dict[str, Any], per_row: Sequence[str], list_name: str,
                     fields: Sequence[str]) -> ListSplicer | None:
        """`splicer` for a kind that also prints a list (a digest's schools): each loop over
        `list_name` whose body only prints its item's `fields` and `loop.index` becomes a marker,
        filled per mail from the body's pattern. None when a template does anything else."""
        if not self._bare_only(kind, tuple(per_row)):
            return None
        marked = {**context, **{name: f"{_MARK}{i}{_END}" for i, name in enumerate(per_row)}, list_name: []}
        parts = []
        for part in PARTS:
            shape = self._list_shape(kind, part, list_name, tuple(fields))
            if shape is None:
                return None
            template, bodies = shape
            try:
                out = template.render(marked)
            except jinja2.UndefinedError as err:
                raise InvalidInput(f"Thiếu dữ liệu cho mẫu thư {kind}: {err.message}") from None
            # Split around both kinds of marker: text, the marker's kind, its index, text, …
            pieces: list[Any] = []
            split = _ANY_MARK.split(out)
            for i in range(0, len(split), 3):
                pieces.append(split[i])
                if i + 2 < len(split):
                    n = int(split[i + 2])
                    pieces.append(n if split[i + 1] == _MARK else bodies[n])
            parts.append((pieces, self._escapes(kind, part)))
        return ListSplicer(tuple(per_row), tuple(fields), parts)

    @cache  # noqa: B019 - a TemplateSet lives as long as the process (default_templates)
    def _list_shape(self, kind: str, part: str, list_name: str,
                    fields: tuple[str, ...]) -> tuple[jinja2.Template, list[list[Any]]] | None:
        """The part compiled with each loop over `list_name` replaced by a marker, and each loop's
        body as pieces (text, a field's index, or None for loop.index); None if not that simple."""
        source = self.env.loader.get_source(self.env, f"{kind}.{part}.j2")[0]  # type: ignore[union-attr]
        tree = self.env.parse(source)
        if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends,
                                             nodes.Macro, nodes.CallBlock, nodes.Assign, nodes.AssignBlock))):
            return None
        loops = [f for f in tree.find_all(nodes.For) if isinstance(f.iter, nodes.Name) and f.iter.name == list_name]
        if sum(1 for n in tree.find_all(nodes.Name) if n.name == list_name) != len(loops):
            return None  # the list is used some other way (its length, a filter)
        bodies: list[list[Any]] = []
        inside = 0
        for loop in loops:
            if loop.else_ or loop.test is not None or loop.recursive or not isinstance(loop.target, nodes.Name):
                return None
            item = loop.target.name
            body: list[Any] = []
            for out in loop.body:
                if not isinstance(out, nodes.Output):
                    return None
                for n in out.nodes:
                    if isinstance(n, nodes.TemplateData):
                        body.append(n.data)
                    elif (isinstance(n, nodes.Getattr) and isinstance(n.node, nodes.Name) and n.node.name == item
                          and n.attr in fields):
                        body.append(fields.index(n.attr))
                    elif (isinstance(n, nodes.Getattr) and isinstance(n.node, nodes.Name) and n.node.name == "loop"
                          and n.attr == "index"):
                        body.append(None)
                    else:
                        return None
                    inside += isinstance(n, nodes.Getattr)
            bodies.append(body)
        names = {loop.target.name for loop in loops} | {"loop"}  # type: ignore[attr-defined]
        if sum(1 for n in tree.find_all(nodes.Name) if n.name in names) != inside + len(loops):
            return None  # the item or `loop` is used outside the loops' bodies
        marker = {id(loop): nodes.Output([nodes.TemplateData(f"{_LIST}{k}{_END}")]) for k, loop in enumerate(loops)}
        for node in [tree, *tree.find_all(nodes.Node)]:
            for field in node.fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    setattr(node, field, [marker.get(id(v), v) for v in value])
        code = self.env.compile(tree, name=f"{kind}.{part}.j2")
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None)), bodies

    def _escapes(self, kind: str, part: str) -> bool:
        auto = self.env.autoescape
        return bool(auto(f"{kind}.{part}.j2") if callable(auto) else auto)

    @cache  # noqa: B019 - a TemplateSet lives as long as the process (default_templates)
    def _bare_only(self, kind: str, names: tuple[str, ...]) -> bool:
        """True when every use of `names` in the kind's templates is a bare `{{ name }}` (no filter,
        test, condition or assignment) and no template pulls in another."""
        for part in PARTS:
            source = self.env.loader.get_source(self.env, f"{kind}.{part}.j2")[0]  # type: ignore[union-attr]
            tree = self.env.parse(source)
            if any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends))):
                return False
            uses = sum(1 for n in tree.find_all(nodes.Name) if n.name in names)
            bare = sum(1 for out in tree.find_all(nodes.Output) for n in out.nodes
                       if isinstance(n, nodes.Name) and n.name in names)
            if uses != bare:
                return False
        return True


# Markers from Unicode's private use area: no template text or escaping produces them.
_MARK, _END = "\ue000", "\ue001"
_MARKS = re.compile(f"{_MARK}(\\d+){_END}")
_LIST = "\ue002"
# A value's marker or a list's: its kind, then its index.
_ANY_MARK = re.compile(f"([{_MARK}{_LIST}])(\\d+){_END}")


class Splicer:
    """A kind's three parts rendered once with markers, split around them (see `TemplateSet.splicer`)."""

    def __init__(self, names: tuple[str, ...], parts: tuple[tuple[list[str], bool], ...]) -> None:
        self.names = names
        # Per part: a str.format pattern (the text's own braces doubled, each marker a numbered
        # field), and whether the part escapes the values.
        self.parts = [("".join(p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                               for i, p in enumerate(pieces)), esc) for pieces, esc in parts]
        self._escaped: dict[str, str] = {}  # the same school stage or plan title recurs in every mail
        subject = parts[0][0]
        # A subject without per-row values (the default one) is checked once, not once per mail.
        self._subject = _finish(subject[0], "", "").subject if len(subject) == 1 else None

    def _escape(self, value: str) -> str:
        out = self._escaped.get(value)
        if out is None:
            if len(self._escaped) > 4096:
                self._escaped.clear()
            out = self._escaped[value] = str(escape(value))
        return out

    def render(self, values: Mapping[str, str]) -> Rendered:
        ordered = [str(values[name]) for name in self.names]
        escaped = [self._escape(v) for v in ordered]
        out = [pattern.format(*(escaped if esc else ordered)) for pattern, esc in self.parts]
        if self._subject is not None:
            return Rendered(subject=self._subject, text=out[1].strip() + "\n", html=out[2])
        return _finish(*out)


class ListSplicer:
    """A kind with a list, rendered once with markers (see `TemplateSet.list_splicer`)."""

    def __init__(self, names: tuple[str, ...], fields: tuple[str, ...], parts: list[tuple[list[Any], bool]]) -> None:
        self.names, self.fields = names, fields
        n = len(fields)

        def pattern(body: list[Any]) -> str:  # a loop body as str.format: fields by position, loop.index last
            return "".join(b.replace("{", "{{").replace("}", "}}") if isinstance(b, str)
                           else "{" + str(n if b is None else b) + "}" for b in body)

        # Per part: (what, piece) with what "text", "value" (its index in names) or "loop" (a pattern).
        self.parts = [([("loop", pattern(p)) if isinstance(p, list) else ("value", p) if isinstance(p, int)
                        else ("text", p) for p in pieces], esc) for pieces, esc in parts]

    def render(self, values: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Rendered:
        out = []
        for pieces, esc in self.parts:
            show: Callable[[Any], str] = (lambda v: str(escape(v))) if esc else str
            text = []
            for what, p in pieces:
                if what == "text":
                    text.append(p)
                elif what == "value":
                    text.append(show(values[self.names[p]]))
                else:  # a loop's body, once per item
                    text.extend([p.format(*[show(item[f]) for f in self.fields], i)
                                 for i, item in enumerate(items, start=1)])
            out.append("".join(text))
        return _finish(*out)


def _finish(subject: str, text: str, html: str) -> Rendered:
    try:
        # A subject is one header line: no newline may survive (header injection).
        subject = clean_text(subject, field="Tiêu đề thư")
    except TextError as err:
        raise InvalidInput(str(err)) from None
    return Rendered(subject=subject, text=text.strip() + "\n", html=html)


@cache
def default_templates() -> TemplateSet:
    return TemplateSet()
