"""The `cdsflow` command line. It only translates: every rule lives in the service layer."""
from __future__ import annotations

import os
import sys

import typer
from sqlalchemy.exc import DBAPIError

from cdsflow.app.console import fail
from cdsflow.kernel.errors import CdsError

app = typer.Typer(
    name="cdsflow",
    help="cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from cdsflow import __version__

        typer.echo(f"cdsflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="In phiên bản rồi thoát."),
) -> None:
    """cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục."""


def _register() -> None:
    # Each area adds its own sub-commands from its own module (app/cli_<area>.py).
    from importlib import import_module

    for area in AREAS:
        import_module(f"cdsflow.app.cli_{area}").register(app)


AREAS = ["core", "calendar", "indexset", "docs", "mail", "web", "team", "meetings", "admin", "signing"]


LONG_RUNNING = {"serve", "worker"}


def _log_to_home() -> None:
    """Warnings and errors of the long-running processes go to stderr (systemd's journal) and to
    logs/cdsflow.log in the data home, rotated so the home never fills up."""
    import logging
    from logging.handlers import RotatingFileHandler

    from cdsflow.kernel import home

    handler = RotatingFileHandler(home.logs_dir() / "cdsflow.log", maxBytes=5_000_000, backupCount=5,
                                  encoding="utf-8")
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(f"%(asctime)s {sys.argv[1]}[%(process)d] %(name)s %(levelname)s: %(message)s"))
    # A root handler silences logging's last-resort stderr output: keep stderr (the journal, the
    # terminal) explicitly.
    console_handler = logging.StreamHandler(sys.stderr)
    console_handler.setLevel(logging.WARNING)
    console_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().addHandler(console_handler)


def main() -> None:
    from cdsflow.app import cli_vi, wiring

    cli_vi.install()
    wiring.install()
    if set(sys.argv[1:2]) & LONG_RUNNING:
        _log_to_home()
    _register()
    try:
        app(prog_name="cdsflow")  # also under `python -m cdsflow`: the name users type
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
