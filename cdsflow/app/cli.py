"""The `cdsflow` command line. It only translates: every rule lives in the service layer."""
from __future__ import annotations

import sys

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
    from cdsflow.app import cli_core

    cli_core.register(app)
    from cdsflow.app import cli_calendar

    cli_calendar.register(app)
    from cdsflow.app import cli_mail

    cli_mail.register(app)


def main() -> None:
    _register()
    try:
        app()
    except CdsError as err:
        fail(err)
        sys.exit(err.exit_code)


if __name__ == "__main__":
    main()
