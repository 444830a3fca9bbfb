"""The `cdsflow` command line. It only translates: every rule lives in the service layer.

Where a command lives (one module per area, each adding its groups in `register`):
  cli_core.py      init, demo, units, campaign, assessment, committee
  cli_meetings.py  committee meeting
  cli_calendar.py  calendar
  cli_indexset.py  indexset, score, evidence
  cli_docs.py      docs
  cli_mail.py      mail, remind, worker
  cli_web.py       serve, account
  cli_team.py      team
  cli_admin.py     backup, restore, home, accounts
  cli_signing.py   signing (digital signatures: certificate, images, sign, verify)
"""
from __future__ import annotations

import os
import sys

import typer

from cdsflow import __version__
from cdsflow.app import (
    cli_admin,
    cli_calendar,
    cli_core,
    cli_docs,
    cli_indexset,
    cli_mail,
    cli_meetings,
    cli_signing,
    cli_team,
    cli_vi,
    cli_web,
    wiring,
)
from cdsflow.app.console import fail
from cdsflow.kernel import home
from cdsflow.kernel.errors import CdsError
from cdsflow.storage.dberrors import DatabaseError, describe

app = typer.Typer(
    name="cdsflow",
    help="cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cdsflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="In phiên bản rồi thoát."),
) -> None:
    """cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục."""


def _register() -> None:
    # Each area adds its own sub-commands from its own module (app/cli_<area>.py), in this order.
    for area in AREAS:
        area.register(app)


AREAS = [cli_core, cli_calendar, cli_indexset, cli_docs, cli_mail, cli_web, cli_team, cli_meetings, cli_admin,
         cli_signing]


LONG_RUNNING = {"serve", "worker"}


def _log_to_home() -> None:
    """Warnings and errors of the long-running processes go to stderr (systemd's journal) and to
    logs/cdsflow.log in the data home, rotated so the home never fills up."""
    import logging
    from logging.handlers import RotatingFileHandler

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
    except DatabaseError as err:
        if os.environ.get("CDSFLOW_DEBUG"):
            raise
        fail(_database_message(err))
        sys.exit(7)


def _database_message(err: DatabaseError) -> str:
    return describe(err)


if __name__ == "__main__":
    main()
