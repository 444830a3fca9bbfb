"""Answer files a school fills: a blank YAML or XLSX form per index set, and reading them back."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cdsflow.assessment.model import IndexSet, answer_hint
from cdsflow.assessment.versions import check_answer_version
from cdsflow.assessment.xlsx import read_answer_workbook, write_answer_workbook
from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput


def answer_form_yaml(index_set: IndexSet) -> str:
    """A blank answer form: every item with its label and how to answer, in comments."""
    lines = [
        f"# Phiếu trả lời: Bộ chỉ số {index_set.code} (phiên bản {index_set.version})",
        f"# {index_set.title}",
        "# Ghi câu trả lời sau dấu hai chấm; để null nếu chưa chấm.",
        '# Cho điểm thấp hơn mức tối đa của bậc: "1.4": {value: 25, points: 4}',
        f'index_set: "{index_set.code}"',
        f'version: "{index_set.version}"',
        f'digest: "{index_set.digest}"  # mã băm nội dung: phiếu làm từ phiên bản khác bị kiểm tra từng mục đổi nghĩa',
        "answers:",
    ]
    for code, item in index_set.items.items():
        lines.append(f"  # {code} {item.label}")
        lines.append(f"  #   {answer_hint(item)}" + ("  [chưa chắc chắn]" if item.uncertain else ""))
        if item.note:
            lines.append(f"  #   Ghi chú: {item.note}")
        lines.append(f"  {json.dumps(code)}: null")
    return "\n".join(lines) + "\n"


def write_answer_form(path: str | Path, index_set: IndexSet) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(answer_form_yaml(index_set), encoding="utf-8")
        return path
    if suffix == ".xlsx":
        return write_answer_workbook(path, index_set)
    raise InvalidInput(f"Phiếu trả lời {path.name}: chỉ tạo được tệp .yaml hoặc .xlsx")


def read_answers(path: str | Path, index_set: IndexSet | None = None) -> tuple[str | None, dict[str, Any]]:
    """(index-set code named in the file, if any; answers by item code, blanks left out).

    Given the index set, an Excel sheet's unreadable answers are refused by cell address."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"Không tìm thấy tệp trả lời {path}")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_answer_workbook(path, index_set)
    if suffix not in (".yaml", ".yml"):
        raise InvalidInput(f"Tệp trả lời {path.name}: chỉ đọc được .yaml hoặc .xlsx")
    try:
        data = safeyaml.load_file(path)
    except safeyaml.YamlInputError as err:
        raise InvalidInput(f"Tệp trả lời: {err}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"Tệp trả lời {path.name}: phải là các dòng 'mã: câu trả lời'")
    code = data.get("index_set")
    answers = data.get("answers", data if "index_set" not in data else {})
    if not isinstance(answers, dict):
        raise InvalidInput(f"Tệp trả lời {path.name}: mục answers phải là các dòng 'mã: câu trả lời'")
    out = {}
    for k, v in answers.items():
        if isinstance(k, float):
            raise InvalidInput(f"Tệp trả lời {path.name}: mã {k} phải viết trong dấu nháy (\"{k}\")")
        if v is not None and v != "":
            out[str(k)] = v
    if index_set is not None and (code is None or str(code) == index_set.code):
        digest = data.get("digest")
        check_answer_version(index_set, str(digest) if digest is not None else None, out, path.name)
    return (str(code) if code is not None else None), out
