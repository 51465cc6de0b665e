"""The ``crmlens`` command: thin commands that parse, call the library and print.

Each command group lives in its own module here and is registered below; every command takes
``--json`` and prints one JSON object with it.
"""

from __future__ import annotations

import sys

import typer

from crmlens import __version__
from crmlens.cli import bench, clv, identity, predict, privacy, project, recommend, segment, support, text
from crmlens.cli._output import err_console
from crmlens.exceptions import CrmlensError

app = typer.Typer(
    name="crmlens",
    help="Local-first customer intelligence: integrate, resolve, profile, segment, predict, recommend.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """crmlens: customer data in, decisions out, nothing sent anywhere."""


project.register(app)
bench.register(app)
# Capability command groups register here, one line each.
predict.register(app)
recommend.register(app)
segment.register(app)
clv.register(app)
privacy.register(app)
support.register(app)
text.register(app)
identity.register(app)


def main() -> None:
    """Entry point: a crmlens error is one line on stderr and exit code 1."""
    try:
        app(standalone_mode=False)
    except CrmlensError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors (typer vendors click since 0.29)
        exc.show()
        sys.exit(exc.exit_code)
