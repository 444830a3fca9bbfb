"""Core commands: init, units, campaign, assessment, demo."""
from __future__ import annotations

import typer

from cdsflow.app.console import console
from cdsflow.storage.db import database_url, make_engine
from cdsflow.storage.migrate import init_db


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_cmd() -> None:
        """Tạo hoặc nâng cấp cơ sở dữ liệu."""
        url = database_url()
        init_db(make_engine(url))
        console.print(f"Đã khởi tạo cơ sở dữ liệu: {url.split('@')[-1]}")
