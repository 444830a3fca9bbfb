"""The CLI speaks Vietnamese throughout: every command's --help and the usage errors, no English chrome."""
from __future__ import annotations

import re
import subprocess
import sys

from tests.e2e.cli import Cli

ENGLISH = re.compile(
    r"\bUsage\b|\bOptions\b|\bArguments\b|\bCommands\b|Show this message|\[required\]|\[default:|"
    r"\bTry '|\bError\b|Missing (option|argument|parameter)|No such (command|option)|Invalid value|"
    r"Input should be|<(str|int|float|bool|path|text|datetime)>|\[OPTIONS\]|COMMAND \[ARGS\]|Aborted"
)

# Runs every command's --help in one real process through the CLI's own set-up (Vietnamese chrome,
# every area's sub-commands), separated by a marker line.
DRIVER = r"""
import sys
from cdsflow.app import cli, cli_vi
import typer.main
cli_vi.install()
cli._register()
group = typer.main.get_command(cli.app)
def walk(c, path):
    yield path
    for name, sub in sorted(getattr(c, "commands", {}).items()):
        yield from walk(sub, path + [name])
for path in walk(group, []):
    print("=== " + " ".join(["cdsflow", *path]), flush=True)
    try:
        cli.app(args=[*path, "--help"], prog_name="cdsflow")
    except SystemExit:
        pass
"""


def test_every_command_help_is_vietnamese(tmp_path):
    env = {**Cli(tmp_path).env, "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-c", DRIVER], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sections = re.split(r"^=== (.*)$", done.stdout, flags=re.M)[1:]
    helps = dict(zip(sections[::2], sections[1::2], strict=False))
    assert len(helps) > 40, sorted(helps)  # every area registered
    for command in ["cdsflow", "cdsflow serve", "cdsflow backup", "cdsflow restore", "cdsflow docs generate"]:
        assert command in helps
    for command, text in helps.items():
        assert "Cách dùng: " + command in text, (command, text)
        assert "Hiện hướng dẫn này rồi thoát." in text, command
        found = ENGLISH.findall(text)
        assert not found, f"{command}: {found}\n{text}"
    assert "╭─ Lệnh" in helps["cdsflow"] and "╭─ Tùy chọn" in helps["cdsflow"]
    assert "╭─ Đối số" in helps["cdsflow restore"]


def test_usage_errors_are_vietnamese(tmp_path):
    cli = Cli(tmp_path)
    cases = {
        ("nope",): "Không có lệnh 'nope'.",
        ("serve", "--port", "abc"): "Giá trị không hợp lệ cho '--port': cần một số nguyên",
        ("serve", "--bogus"): "Không có tùy chọn --bogus.",
        ("account", "create", "x"): "Thiếu tùy chọn '--name'.",
        ("restore",): "Thiếu đối số",
    }
    for args, expected in cases.items():
        done = cli(*args, ok=False)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "╭─ Lỗi" in done.stderr and "Cách dùng: cdsflow" in done.stderr
        assert not ENGLISH.findall(done.stderr), (args, done.stderr)


def test_root_help_from_the_installed_entry_point(tmp_path):
    # The console script itself (not the driver above) prints the same chrome.
    done = Cli(tmp_path)("--help")
    assert "╭─ Lệnh" in done.stdout and not ENGLISH.findall(done.stdout)


def test_password_prompt_is_vietnamese(tmp_path):
    cli = Cli(tmp_path)
    cli("init")
    done = subprocess.run([sys.executable, "-m", "cdsflow", "account", "create", "quantri", "--name", "Quản trị",
                           "--role", "admin"], input="mat-khau-dai-1\nkhac-han-nhau-2\nmat-khau-dai-1\nmat-khau-dai-1\n",
                          cwd=tmp_path, env=cli.env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Nhập lại mật khẩu" in out and "Lỗi: hai lần nhập không khớp nhau." in out
    assert "Repeat for confirmation" not in out and "do not match" not in out
    assert "Đã tạo tài khoản «quantri»" in out
