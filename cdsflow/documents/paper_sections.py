"""Which issued paper has which editable sections, and where each lands in the paper's context.

The one declarative table is `PAPERS`. Each paper's default wording lives in documents/texts/<code>.yaml
(subject, non-editable `wording`, `sections`), checked when loaded; the context builders read it through
`contexts.texts()`, so a default paper reads exactly as before. Before numbering, the officer's text
replaces a section's paragraphs (`apply`); the tables and facts (members, scores, schools, numbers,
dates) are built from stored data and are never a section.
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cdsflow.documents import sections as sx
from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput


@dataclass(frozen=True)
class Paper:
    fields: dict[str, str]  # section key → context field: "articles.N", a list field or a text field
    placeholders: frozenset[str]  # what the builder fills in this paper's wording


BASES = "legal_bases"  # căn cứ and xét đề nghị: filled from stored data, edited like the prose
REPORT_FIELDS = ("strengths", "weaknesses", "improvements", "proposals")  # the school report's IV-VI
LIST_FIELDS = {BASES, "paragraphs", *REPORT_FIELDS}


def _p(fields: dict[str, str], *names: str) -> Paper:
    return Paper(fields, frozenset(names))


def _decision(n: int) -> dict[str, str]:
    return {"can_cu": BASES, **{f"article{i}": f"articles.{i - 1}" for i in range(1, n + 1)}}


PAPERS: dict[str, Paper] = {
    "qd_doan_danh_gia": _p(_decision(4), "school_year", "team_name", "school_count", "start", "end"),
    "qd_cong_nhan": _p(_decision(3), "school_year", "count"),
    "qd_ban_chi_dao": _p(_decision(3), "group_name", "issuer"),
    "thong_bao": _p({"intro": "intro", "closing": "closing"}, "school_year", "decision", "team_name", "issuer",
                    "start", "end"),
    "bao_cao_tong_hop": _p({"intro": "intro", "closing": "closing"}, "school_year", "plan", "issuer"),
    "bien_ban_danh_gia_ngoai": _p({"opening": "opening", "content": "content", "proposal": "conclusion",
                                   "closing": "closing_line"}, "school_year", "session", "day", "team_name", "issuer",
                                  "school", "index_set", "authority", "levels"),
    "danh_sach_de_nghi": _p({"intro": "intro"}, "school_year", "team_name"),
    "bao_cao": _p({k: k for k in REPORT_FIELDS}, "school_year", "supervisor"),
    "cong_van_nhac": _p({"body": "paragraphs", "closing": "closing"}, "school_year", "count", "milestone", "due",
                        "issuer"),
}
PER_SCHOOL = {"bien_ban_danh_gia_ngoai", "bao_cao"}  # one per school: edited from the CLI (--school), not the campaign's page
TEXTS_DIR = sx.TEXTS_DIR


@dataclass(frozen=True)
class PaperTexts:
    subject: str
    wording: dict  # the paper's other standard wording (not a section): annex title, duties, …
    labels: dict[str, str]  # section key → label, in the paper's order
    texts: dict[str, str]  # section key → default wording (one paragraph per line), "" for căn cứ
    variants: dict[str, str]  # alternative wording of a section the builder picks by the data


def _names(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


_ROW_KEYS = {"key", "label", "text", "variants"}


def _row(paper: Paper, i: int, row: object, problems: list[str]) -> tuple[str, str, str, dict[str, str]] | None:
    """(key, label, default text, variants) of one section of a texts file; its problems appended."""
    if not isinstance(row, dict) or not {"key", "label"} <= set(row):
        problems.append(f"mục {i}: cần key, label")
        return None
    key = str(row["key"])
    if set(row) - _ROW_KEYS:
        problems.append(f"{key}: khóa không rõ: {', '.join(sorted(set(row) - _ROW_KEYS))}")
    field = paper.fields.get(key)
    if field is None:
        problems.append(f"{key}: không phải mục của văn bản này (các mục: {', '.join(paper.fields)})")
        return None
    text = str(row.get("text") or "").strip()
    if (field == BASES) != (not text):
        problems.append(f"{key}: " + ("căn cứ lấy từ dữ liệu, không ghi «text»" if field == BASES else "cần «text»"))
    if "\n" in text and field not in LIST_FIELDS:
        problems.append(f"{key}: mặc định là một đoạn văn")
    more = row.get("variants") or {}
    if not isinstance(more, dict):
        problems.append(f"{key}: «variants» phải là một bảng")
        more = {}
    for t in [text, *map(str, more.values())]:
        if _names(t) - paper.placeholders:
            problems.append(f"{key}: chỗ điền không rõ: {', '.join(sorted(_names(t) - paper.placeholders))}")
    return key, str(row["label"]), text, {str(k): str(v).strip() for k, v in more.items()}


def _load(path: Path) -> dict:
    if not path.is_file():
        raise InvalidInput(f"Không có tệp nội dung mặc định «{path.stem}» (documents/texts/{path.name})")
    try:
        data = safeyaml.load_file(path)
    except safeyaml.YamlInputError as err:
        raise InvalidInput(f"{path.name}: không đọc được", details=[str(err)]) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: phải là một bảng (subject, wording, sections)")
    return data


def read(code: str, path: Path | None = None) -> PaperTexts:
    """The paper's texts file, checked: its sections are exactly those of `PAPERS`, with known
    placeholders; a text field is one paragraph."""
    paper = PAPERS[code]
    path = path or TEXTS_DIR / f"{code}.yaml"
    data = _load(path)
    problems = [f"khóa không rõ: {k}" for k in sorted(set(data) - {"subject", "wording", "sections"})]
    subject, wording, rows = data.get("subject"), data.get("wording") or {}, data.get("sections")
    if not isinstance(subject, str) or not subject.strip():
        problems.append("cần «subject» (trích yếu)")
    elif _names(subject) - paper.placeholders:
        problems.append("subject: chỗ điền không rõ")
    if not isinstance(wording, dict):
        problems.append("«wording» phải là một bảng")
        wording = {}
    labels, texts, variants = {}, {}, {}
    for i, raw in enumerate(rows if isinstance(rows, list) else [], 1):
        if (row := _row(paper, i, raw, problems)) is None:
            continue
        key, label, text, more = row
        if key in labels:
            problems.append(f"{key}: trùng mục")
        labels[key], texts[key] = label, text
        variants.update(more)
    if missing := [k for k in paper.fields if k not in labels]:
        problems.append("thiếu mục: " + ", ".join(missing))
    if problems:
        raise InvalidInput(f"{path.name}: nội dung mặc định không hợp lệ", details=problems)
    return PaperTexts(subject.strip(), wording, labels, texts, variants)


@cache
def texts_of(code: str) -> PaperTexts:
    return read(code)


def wording(code: str) -> dict:
    """The block `contexts.texts()` serves for `code`: subject, other wording, each section's default
    (a list of lines for a list field) and the variants."""
    t, fields = texts_of(code), PAPERS[code].fields
    sections = {k: (v.splitlines() if fields[k] in LIST_FIELDS else v) for k, v in t.texts.items() if v}
    return {"subject": t.subject, **t.wording, **sections, **t.variants}


def labels(code: str) -> list[tuple[str, str]]:
    return list(texts_of(code).labels.items())


def _current(ctx: dict, field: str) -> list[str]:
    if field.startswith("articles."):
        article = ctx["articles"][int(field.split(".")[1])]
        return [article["text"], *article.get("more", [])]
    value = ctx.get(field)
    return [str(x) for x in value] if isinstance(value, list) else ([str(value)] if value else [])


def defaults(code: str, ctx: dict) -> dict[str, str]:
    """Each section as the built paper prints it (the textarea's first text)."""
    return {k: "\n".join(_current(ctx, f)) for k, f in PAPERS[code].fields.items()}


def apply(code: str, ctx: dict, edited: object) -> dict:
    """`ctx` with the officer's paragraphs in place of the sections given (the others as built);
    `ctx["sections"]` holds every section's paragraphs, which the templates print. Refused with
    nothing changed for an unknown or emptied section or a character Word cannot hold."""
    paper = PAPERS[code]
    built = defaults(code, ctx)
    optional = {k for k, f in paper.fields.items() if f == BASES and not built[k]}  # no căn cứ to print
    if edited in (None, ""):
        edited = {}
    if not isinstance(edited, Mapping):
        raise InvalidInput("Nội dung văn bản phải là một bảng: tên mục → nội dung")
    known = dict(labels(code))
    if unknown := sorted(set(edited) - set(known)):
        raise InvalidInput("Nội dung văn bản có mục không có trong văn bản này",
                           details=[*unknown, "các mục: " + ", ".join(known)])
    # only what was typed is checked: the built wording is already what the paper prints
    typed = sx.check_sections({k: v for k, v in known.items() if k in edited}, {}, edited, optional=optional)
    final = {k: typed.get(k) or _current(ctx, f) for k, f in paper.fields.items()}
    out = {**ctx, "sections": final}
    for key, field in paper.fields.items():
        lines = final[key]
        if field.startswith("articles."):
            i = int(field.split(".")[1])
            out["articles"] = [dict(a) for a in out["articles"]]
            out["articles"][i].update(text=lines[0], more=lines[1:])
        elif field in LIST_FIELDS:
            out[field] = lines
        else:
            out[field] = "\n".join(lines)
    return out
