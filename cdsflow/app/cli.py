"""The `cdsflow` command line. It only translates: every rule lives in the service layer."""
from __future__ import annotations

import os
import sys

from sqlalchemy.exc import DBAPIError

import typer

from cdsflow.app.console import fail
from cdsflow.workflow.errors import CdsError

app = typer.Typer(
    name="cdsflow",
    help="cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each area adds its own sub-commands from its own module (app/cli_<area>.py).
    from importlib import import_module

    for area in AREAS:
        import_module(f"cdsflow.app.cli_{area}").register(app)


AREAS = ["core", "calendar", "indexset", "docs", "mail", "web", "team", "meetings"]


def main() -> None:
    from cdsflow.app import wiring

    wiring.install()
    _register()
    try:
        app()
    except CdsError as err:
        fail(err)
        sys.exit(err.exit_code)
    except DBAPIError as err:
        if os.environ.get("CDSFLOW_DEBUG"):
            raise
        fail(_database_message(err))
        sys.exit(7)


def _database_message(err: DBAPIError) -> str:
    from cdsflow.storage.dberrors import describe

    return describe(err)


if __name__ == "__main__":
    main()
