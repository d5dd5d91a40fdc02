"""The `alliance` command: thin; every error a user can act on is one line and an exit code.

The commands live in modules by subject (returns, money, review, operations, people); importing them here
registers them on the one typer app.
"""

import os
import sys

import typer

from cli.common import app, echo
from domain.errors import AllianceError

# isort: off
# Each module registers its commands; in this order `alliance --help` lists them.
from cli import returns, money, review, operations, people  # noqa: E402, F401
# isort: on

__all__ = ["app", "main"]


def main() -> None:
    try:
        result = app(standalone_mode=False)
    except AllianceError as exc:
        problems = getattr(exc, "problems", [])
        source = getattr(exc, "source", None)
        if problems and source:
            for problem in problems:
                echo(f"{source}: {problem}", err=True)
        else:
            echo(f"alliance: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        echo("alliance: aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        # typer 0.29 raises its own copy of click's exceptions (typer._click): a TyperException that can show itself.
        if isinstance(exc, click.ClickException) or (isinstance(exc, typer.TyperException) and hasattr(exc, "show")):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("ALLIANCE_DEBUG"):
            raise
        echo(f"alliance: internal error: {type(exc).__name__}: {exc} (set ALLIANCE_DEBUG=1 for details)", err=True)
        sys.exit(3)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
