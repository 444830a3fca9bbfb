"""Jinja2 templates for every kind of mail, loaded and checked once (subject, text, html per kind)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.kernel.text import TextError, clean_text

TEMPLATE_DIR = Path(__file__).with_name("templates")
KINDS = ("reminder", "overdue_digest", "returned", "proposal_received", "recognised", "account_setup",
         "password_reset")
PARTS = ("subject", "txt", "html")
TRANSACTIONAL_KINDS = ("returned", "proposal_received", "recognised")


@dataclass(frozen=True)
class Rendered:
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
        try:
            # A subject is one header line: no newline may survive (header injection).
            subject = clean_text(subject, field="Tiêu đề thư")
        except TextError as err:
            raise InvalidInput(str(err)) from None
        return Rendered(subject=subject, text=text.strip() + "\n", html=html)


@cache
def default_templates() -> TemplateSet:
    return TemplateSet()
