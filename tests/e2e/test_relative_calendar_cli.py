"""Bad relative rules through the real command: named with their line in Vietnamese, nothing saved."""
from __future__ import annotations

from typer.testing import CliRunner

from cdsflow.app import cli as cli_app
from cdsflow.storage.db import make_engine
from cdsflow.storage.schema import metadata

HEAD = ('issuer: "UBND phường thử nghiệm"\nissued: 2025-12-15\nschool_year: 2025-2026\n'
        "reminders: {before: [1]}\nmilestones:\n")
CYCLE = HEAD + (
    "  - {key: a, title: A, actor: school, stage: proposal, after: {milestone: b, working_days: 2}}\n"
    "  - {key: b, title: B, actor: bureau, stage: external_review, after: {milestone: a, days: 3}}\n")
UNKNOWN = HEAD + (
    "  - {key: a, title: A, actor: school, stage: proposal, after: {event: approved, working_days: 5}}\n"
    "  - {key: c, title: C, actor: school, stage: published, after: {milestone: khong-co, working_days: 5}}\n")
REVERSED = HEAD + (
    "  - {key: a, title: A, actor: school, stage: proposal, window: 2026-01-16..2026-01-05}\n"
    "  - key: b\n    title: B\n    actor: school\n    stage: self_assessment\n    due: 2026-01-02\n"
    "    submission: {opens: 2026-01-10, closes: 2026-01-02}\n")


def test_cycles_unknown_events_and_reversed_windows_are_refused_by_line(tmp_path, monkeypatch):
    cli_app._register()
    url = f"sqlite:///{tmp_path / 'cdsflow.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli_app.app, list(args))
        # In-process, a refusal arrives as the CdsError `main()` prints; its text is what the user reads.
        error = result.exception
        details = " ".join(getattr(error, "details", None) or []) if error is not None else ""
        return result.exit_code, result.output + (f"{error} {details}" if error is not None else "")

    files = {}
    for name, text in (("vong-lap", CYCLE), ("su-kien", UNKNOWN), ("nguoc", REVERSED)):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(text, encoding="utf-8")
    code, text = run("calendar", "check", *map(str, files.values()))
    assert code == 1
    assert "vong-lap.yaml:6" in text and "vòng lặp: a → b → a" in text
    assert "su-kien.yaml:6" in text and "sự kiện không tồn tại: 'approved'" in text
    assert "su-kien.yaml:7" in text and "mốc không tồn tại 'khong-co'" in text
    assert "nguoc.yaml:6" in text and "kết thúc (24h00 ngày 05/01/2026) trước khi bắt đầu (00h00 ngày 16/01/2026)" in text
    assert "nguoc.yaml:12" in text and "biểu mẫu đóng" in text
    # Launching on such a calendar stores nothing: the file is refused before any campaign is written.
    code, text = run("campaign", "launch", "--issuer", "UBP", "--year", "2025-2026", "--calendar", str(files["vong-lap"]))
    assert code != 0 and "Tệp lịch không hợp lệ" in text and "vòng lặp" in text
    code, text = run("campaign", "list")
    assert code == 0 and "2025-2026" not in text
