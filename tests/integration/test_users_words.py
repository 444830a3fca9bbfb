"""Issue 26, item 8: the web speaks the user's words. No command-line wording ("--school",
"cdsflow …") in a web message, an upload refused by the name of the user's own file; the CLI
still says how to do it there."""
from __future__ import annotations

import re

from cdsflow.kernel.errors import InvalidInput
from tests.web_support import build_world

CLI_WORDS = re.compile(r"--[a-z]|cdsflow \w")


def _error_text(html: str) -> str:
    return " ".join(re.findall(r'<(?:p|li)[^>]*class="[^"]*(?:error|warning)[^"]*"[^>]*>(.*?)</(?:p|li)>', html, re.S)) \
        or html


def test_web_messages_have_no_command_line_words_and_name_the_users_file(sqlite_engine, tmp_path):
    w = build_world(sqlite_engine, tmp_path)
    officer = w.client("officer")
    refused = officer.get(f"/campaigns/{w.campaign_id}/papers/ke_hoach")  # no contact person set yet
    assert refused.status_code == 422 and "chưa có người liên hệ" in refused.text
    assert not CLI_WORDS.search(refused.text.split("<main", 1)[-1]), _error_text(refused.text)
    per_school = officer.get(f"/campaigns/{w.campaign_id}/papers/bien_ban_danh_gia_ngoai")
    assert per_school.status_code == 404 and "trang văn bản của từng trường" in per_school.text
    assert not CLI_WORDS.search(per_school.text.split("<main", 1)[-1])

    upload = {"file": ("Lịch phường 2025.xlsx", b"not a workbook", "application/vnd.ms-excel")}
    broken = officer.post("/calendars/import", files=upload)
    assert broken.status_code == 422 and "Lịch phường 2025.xlsx" in broken.text, _error_text(broken.text)
    assert not re.search(r"[0-9a-f]{32}\.xlsx", broken.text)  # never the name it was stored under


def test_the_command_line_still_says_its_option():
    err = InvalidInput("Hủy văn bản cần nêu lý do", cli="--reason")
    assert err.message == "Hủy văn bản cần nêu lý do" and str(err) == "Hủy văn bản cần nêu lý do (--reason)"
