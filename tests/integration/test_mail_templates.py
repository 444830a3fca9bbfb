"""Template files are checked when loaded: a broken directory is refused with file and line."""
from __future__ import annotations

import shutil

import pytest

from cdsflow.kernel.errors import CdsError
from cdsflow.notifications.rendering import TEMPLATE_DIR, TemplateSet


def test_broken_template_directories_are_refused_naming_file_and_line(tmp_path):
    directory = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, directory)
    (directory / "returned.html.j2").unlink()
    (directory / "reminder.txt.j2").write_text("Kính gửi\n{% if overdue %}\nchưa đóng khối\n", encoding="utf-8")
    (directory / "next_steps.yaml").write_text("proposal: Gửi tờ trình\nkhong_co: x\n", encoding="utf-8")
    with pytest.raises(CdsError) as err:
        TemplateSet(directory)
    text = str(err.value)
    assert "returned.html.j2: thiếu tệp mẫu" in text
    assert "reminder.txt.j2, dòng" in text and "lỗi cú pháp" in text
    assert "giai đoạn không tồn tại: khong_co" in text and "thiếu giai đoạn committee_formed" in text
