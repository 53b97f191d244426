"""The ``aleph-otio`` command line.

Each command lives in its own module with a ``register(app)`` function; this module only
assembles them and turns :class:`AlephOtioError` into a one-line message and an exit code.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from aleph_otio.errors import AlephOtioError

app = typer.Typer(
    name="aleph-otio",
    help="Send marked ranges of an edit to Runway Aleph 2.0 and conform the results back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

err_console = Console(stderr=True)


def _register_all() -> None:
    if app.registered_commands:
        return  # main() may be called more than once in one process (tests, scripts)
    from aleph_otio.cli import demo, emulator, jobs, plan, run, sheet, stills

    for module in (plan, stills, run, jobs, sheet, emulator, demo):
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    _register_all()
    try:
        app()
    except AlephOtioError as exc:
        # Text, not markup: a message may hold brackets (paths, timecodes).
        err_console.print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: everything done so far is kept; run the same command to resume",
            markup=False,
        )
        sys.exit(130)
