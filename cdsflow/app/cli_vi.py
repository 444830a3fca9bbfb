"""Typer's own chrome in Vietnamese (panel titles, "Usage", the help option, error boxes).

Typer bundles its own Click whose strings are plain English f-strings, so there is no gettext
catalogue to supply: we replace its module constants and wrap the four places that print
(help option, usage line, type labels, error box). The words live in cli_texts_vi.yaml.
These are Typer internals: pyproject bounds typer to the minor version this was written for,
and tests/e2e/test_cli_help_vi.py fails loudly if an upgrade brings English back.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEXTS = Path(__file__).with_name("cli_texts_vi.yaml")


@cache
def texts() -> dict[str, Any]:
    data = yaml.safe_load(TEXTS.read_text(encoding="utf-8"))
    data["errors"] = [(re.compile(p), t) for p, t in data["errors"]]
    data["reasons"] = [(re.compile(p), t) for p, t in data["reasons"]]
    return data


def _apply(rules: list[tuple[re.Pattern, str]], text: str) -> str | None:
    for pattern, template in rules:
        m = pattern.match(text)
        if m:
            return template.format(**{k: v or "" for k, v in m.groupdict().items()})
    return None


def translate_error(message: str) -> str:
    """An error message of Typer/Click/pydantic in Vietnamese; our own (already Vietnamese) unchanged."""
    t = texts()
    first, _, rest = message.partition("\n")
    out = _apply(t["errors"], first)
    if out is None:
        return _apply(t["reasons"], message) or message
    # The reason after "Giá trị không hợp lệ cho …: " may itself be English.
    head, sep, reason = out.rpartition(": ")
    if sep:
        out = head + sep + (_apply(t["reasons"], reason) or reason)
    return out


def translate_label(label: str) -> str:
    inner = label[1:-1] if label.startswith("<") and label.endswith(">") else label
    words = texts()["type_labels"]
    translated = " ".join(words.get(w, w) for w in inner.split(" "))
    return f"<{translated}>" if inner is not label else translated


_installed = False


def install() -> None:
    """Idempotent; called by the CLI's main() before Typer builds anything."""
    global _installed
    if _installed:
        return
    _installed = True
    from typer import core as typer_core
    from typer import rich_utils
    from typer._click import core as click_core
    from typer._click import formatting

    t = texts()
    for name, value in t["constants"].items():
        if not hasattr(rich_utils, name):
            raise RuntimeError(f"typer.rich_utils không còn {name}: kiểm tra lại cli_vi.py với phiên bản Typer mới")
        setattr(rich_utils, name, value)

    get_help_option = click_core.Command.get_help_option

    def help_option(self, ctx):
        opt = get_help_option(self, ctx)
        if opt is not None:
            opt.help = t["help_option"]
        return opt

    click_core.Command.get_help_option = help_option

    write_usage = formatting.HelpFormatter.write_usage

    def usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        for en, vi in t["usage_words"].items():
            args = args.replace(en, vi)
        write_usage(self, prog, args, t["usage_prefix"] if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = usage

    display_type = typer_core._TyperParameter.display_type

    def label(self, ctx) -> str:
        return translate_label(display_type(self, ctx))

    typer_core._TyperParameter.display_type = label
    # Rich highlights the usage prefix by its English spelling.
    rich_utils.highlighter.highlights = [
        h.replace("Usage: ", t["usage_prefix"]) for h in rich_utils.highlighter.highlights
    ]

    from typer._click import termui

    echo = termui.echo

    def prompt_echo(message=None, *args, **kwargs):
        if isinstance(message, str):
            message = t["prompt_lines"].get(message, message)
        return echo(message, *args, **kwargs)

    termui.echo = prompt_echo

    format_error = rich_utils.rich_format_error

    def error_box(err) -> None:
        message = translate_error(err.format_message())
        err.format_message = lambda: message
        format_error(err)

    rich_utils.rich_format_error = error_box
