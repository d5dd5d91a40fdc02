"""Every command's help: each option says what it is for, and a flag shows no value to give (no `<bool>`)."""

from collections.abc import Iterator

import click
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from cli.app import app


def _commands(command: click.Command, path: str = "alliance") -> Iterator[tuple[str, click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


COMMANDS = list(_commands(get_command(app)))


def test_the_walk_reaches_every_command_group_and_command() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {"alliance demo", "alliance cycle run", "alliance notifications send", "alliance users invite"} <= paths
    assert len(paths) > 30


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_option_has_help_text_and_no_flag_shows_a_bool_metavar(path: str, command: click.Command) -> None:
    options = [p for p in command.params if isinstance(p, click.Option)]
    assert [p.name for p in options if not (p.help or "").strip()] == [], path
    shown = CliRunner().invoke(app, [*path.split()[1:], "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output, shown.output
    for option in options:  # every option is in the help, with its text
        assert option.opts[-1] in shown.output, (path, option.opts)
