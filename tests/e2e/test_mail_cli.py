"""The mail commands as a user runs them: preview, manual nudge, worker, reading the local sink."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from cdsflow.app import cli
from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata
from tests.integration.test_mail_delivery import free_port
from tests.integration.test_mail_support import seed_campaign

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
_registered = False


@pytest.fixture
def env(tmp_path, monkeypatch):
    global _registered
    if not _registered:
        cli._register()
        _registered = True
    url = f"sqlite:///{tmp_path / 'cdsflow.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    seeded = seed_campaign(engine, ["self_assessment", "proposal", "plan_issued"])
    engine.dispose()
    values = {"COLUMNS": "200", "DATABASE_URL": url, "CDSFLOW_SMTP_PORT": str(free_port()), "CDSFLOW_BASE_URL": "https://cds.example.vn"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("CDSFLOW_SMTP_HOST", raising=False)
    monkeypatch.chdir(tmp_path)
    return seeded, values


def invoke(*args: str):
    result = runner.invoke(cli.app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_preview_lists_the_day_s_reminders_without_sending(env):
    seeded, _ = env
    out = invoke("remind", "preview", "--at", "2025-03-26", "--campaign", str(seeded.campaign_id))
    # Due 31/3/2025 (Monday): before-3 is Wednesday 26/3 at 07:00.
    assert "before-3" in out and "26/03/2025 07:00" in out and "Tổng cộng 2 thư" in out
    assert "[Nhắc hạn] Gửi tờ trình" in out
    assert "Hàng đợi thư: trống" in invoke("mail", "list")
    assert "Tổng cộng 2 thư" in invoke("remind", "preview", "--at", "26/03/2025 15:30")  # the whole day
    assert "Không có thư nhắc hạn nào" in invoke("remind", "preview", "--at", "29/03/2025")  # a Saturday


def test_manual_nudge_then_reading_the_local_sink(env):
    seeded, _ = env
    with freeze_time("2025-03-27 03:00:00"):  # 10:00 in Hà Nội, a Thursday
        out = invoke("remind", "now", "--campaign", str(seeded.campaign_id), "--milestone", "to_trinh", "--send")
        assert "2 trường chưa hoàn thành; đã xếp 2 thư" in out and "Đã gửi 2 thư" in out
        again = invoke("remind", "now", "--campaign", str(seeded.campaign_id), "--milestone", "to_trinh")
        assert "Hôm nay đã nhắc mốc này rồi" in again
    listing = invoke("mail", "list")
    assert "Hộp thư cục bộ (2 thư)" in listing and "school0.0@example.edu.vn" in listing
    assert "đã gửi: 2" in listing
    shown = invoke("mail", "show", "1")
    assert "Tiêu đề:" in shown and "Gửi tờ trình đề nghị đánh giá ngoài" in shown
    assert "Hệ thống đánh giá chuyển đổi số" in shown and "https://cds.example.vn/assessments/" in shown
    assert "Không có thư gửi thất bại" in invoke("mail", "list", "--failed")


def test_worker_once_plans_and_drains(env):
    seeded, _ = env
    with freeze_time("2025-03-27 03:00:00"):
        invoke("remind", "now", "--campaign", str(seeded.campaign_id), "--milestone", "to_trinh")
    with freeze_time("2025-03-27 03:05:00", tick=True):  # before the deadline: still worth sending
        out = invoke("worker", "--once")
    # The manual nudge, and the before-3 point of 26/3 that passed before the worker ever ran
    # (the deadline is still ahead, so it is caught up, once).
    assert "Nhắc hạn to_trinh (before-3), kế hoạch 1: 2 thư vào hàng đợi" in out
    assert "Hộp thư cục bộ" in out and "Đã gửi 4" in out and "Đã dừng" in out
    assert "Hộp thư cục bộ (4 thư)" in invoke("mail", "list")
    with freeze_time("2025-03-27 03:10:00", tick=True):
        again = invoke("worker", "--once")
    assert "Nhắc hạn" not in again and "Đã gửi" not in again


def test_errors_are_vietnamese_with_exit_codes(env):
    _, values = env
    environ = {**os.environ, **values, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "cdsflow", "mail", "show", "99"], capture_output=True, text=True,
                          env=environ, timeout=60)
    assert proc.returncode == 3 and "Không có thư số 99" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "cdsflow", "remind", "preview", "--at", "31/02/2025"],
                          capture_output=True, text=True, env=environ, timeout=60)
    assert proc.returncode == 2 and "ngày không tồn tại" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "cdsflow", "remind", "now", "--campaign", "1", "--milestone", "xx"],
                          capture_output=True, text=True, env=environ, timeout=60)
    assert proc.returncode == 3 and "không có mốc thời gian 'xx'" in proc.stderr


def test_a_refused_recipient_shows_in_the_failed_list(env):
    from cdsflow.notifications.sink import MemorySinkStore, start_sink

    seeded, values = env
    controller = start_sink(MemorySinkStore(), port=int(values["CDSFLOW_SMTP_PORT"]),
                            refuse=["school2.0@example.edu.vn"])
    try:
        with freeze_time("2025-03-27 03:00:00", tick=True):
            invoke("remind", "now", "--campaign", str(seeded.campaign_id), "--milestone", "to_trinh")
            assert "Đã gửi 1 thư; 0 thư sẽ thử lại; 1 thư thất bại" in invoke("mail", "send")
    finally:
        controller.stop()
    failed = invoke("mail", "list", "--failed")
    assert "Thư gửi thất bại" in failed and "school2.0@example.edu.vn" in failed and "550" in failed
    assert "thất bại: 1" in failed and "đã gửi: 1" in failed


def test_mail_retry_puts_failed_mail_back_and_the_worker_sends_it(env):
    from cdsflow.notifications.sink import MemorySinkStore, start_sink

    seeded, values = env
    port = int(values["CDSFLOW_SMTP_PORT"])
    controller = start_sink(MemorySinkStore(), port=port, refuse=["school2.0@example.edu.vn"])
    try:
        with freeze_time("2025-03-27 03:00:00", tick=True):
            invoke("remind", "now", "--campaign", str(seeded.campaign_id), "--milestone", "to_trinh")
            invoke("mail", "send")
    finally:
        controller.stop()
    import re

    line = next(ln for ln in invoke("mail", "list", "--failed").splitlines() if "school2.0@example.edu.vn" in ln)
    failed_id = re.search(r"\d+", line).group(0)
    bad = runner.invoke(cli.app, ["mail", "retry"])
    assert bad.exit_code != 0 and "Chọn một trong hai" in str(bad.exception or bad.output)
    missing = runner.invoke(cli.app, ["mail", "retry", "--id", "999"])
    assert missing.exit_code != 0 and "Không có thư thất bại số 999" in str(missing.exception or missing.output)
    assert "Đã đưa 1 thư trở lại hàng đợi" in invoke("mail", "retry", "--id", failed_id)
    assert "Không có thư thất bại nào" in invoke("mail", "retry", "--all")
    store = MemorySinkStore()
    controller = start_sink(store, port=port)  # the mailbox was fixed
    try:
        assert "Đã gửi 1" in invoke("worker", "--once", "--no-sink")
    finally:
        controller.stop()
    assert [r for _, rcpts, _ in store.messages for r in rcpts] == ["school2.0@example.edu.vn"]
    assert "Không có thư gửi thất bại" in invoke("mail", "list", "--failed")


def test_preview_shows_each_audience_s_cadence_and_limit(env):
    from sqlalchemy import update

    from cdsflow.storage.tables import CampaignMilestone

    seeded, values = env
    engine = make_engine(values["DATABASE_URL"])
    with engine.begin() as conn:  # as a calendar with `overdue_every: daily`, `digest_every: weekly` leaves it
        conn.execute(update(CampaignMilestone).values(reminders={
            "before": [3, 1], "on_the_day": True, "overdue_every": 1, "escalate_to": None, "overdue_limit": 10,
            "digest_every": 5, "digest_limit": 4}))
    engine.dispose()
    daily = invoke("remind", "preview", "--at", "2025-04-01", "--campaign", str(seeded.campaign_id))
    assert "hằng ngày làm việc, tối đa 10 lần" in daily and "hằng tuần (5 ngày làm việc), tối đa 4 lần" in daily
    assert "overdue-1" in daily and "[Quá hạn] Gửi tờ trình" in daily and "[Tổng hợp quá hạn]" not in daily
    # Five working days after Monday 31/3, Giỗ Tổ (7/4) skipped: Tuesday 8/4 has the week's digest too.
    weekly = invoke("remind", "preview", "--at", "2025-04-08", "--campaign", str(seeded.campaign_id))
    assert "overdue-5" in weekly and "[Tổng hợp quá hạn]" in weekly and "[Quá hạn] Gửi tờ trình" in weekly
