"""Administration: `cdsflow backup`, `cdsflow restore`, `cdsflow home`. Translation only."""
from __future__ import annotations

from pathlib import Path

import typer

from cdsflow.app.console import console


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    app.command("home")(home_cmd)


def backup_cmd(
    file: Path = typer.Argument(..., help="Tệp sao lưu sẽ ghi (.tar.gz)"),
) -> None:
    """Sao lưu cơ sở dữ liệu và tệp (minh chứng tải lên, văn bản đã tạo) vào một tệp."""
    from cdsflow.storage.backup import backup
    from cdsflow.storage.db import make_engine

    summary = backup(make_engine(), file)
    console.print(f"Đã sao lưu ({summary.dialect}, {summary.files} tệp, {summary.size / 1e6:.1f} MB): {summary.path}",
                  highlight=False)


def restore_cmd(
    file: Path = typer.Argument(..., help="Tệp sao lưu đã tạo bằng «cdsflow backup»"),
    replace: bool = typer.Option(False, "--replace", help="Thay toàn bộ dữ liệu hiện có bằng bản sao lưu"),
) -> None:
    """Khôi phục từ một bản sao lưu vào cơ sở dữ liệu và thư mục dữ liệu hiện tại."""
    from cdsflow.storage.backup import restore
    from cdsflow.storage.db import make_engine

    manifest = restore(make_engine(), file, replace=replace)
    console.print(f"Đã khôi phục bản sao lưu lúc {manifest['created_at']} "
                  f"(cdsflow {manifest['cdsflow']}, {len(manifest['files'])} tệp).", highlight=False)


def home_cmd() -> None:
    """In thư mục dữ liệu (CDSFLOW_HOME) và cơ sở dữ liệu đang dùng."""
    from cdsflow import home
    from cdsflow.storage.db import database_url

    console.print(f"Thư mục dữ liệu: {home.home()}", highlight=False)
    console.print(f"Cơ sở dữ liệu: {database_url().split('@')[-1]}", highlight=False)
