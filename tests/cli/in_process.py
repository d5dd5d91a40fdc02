"""`alliance` run in the test's own process, as a person types it: its exit code and what it printed."""

import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cli.app import main


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """``invoke(*args, caller=None)``: the command with ``--as caller`` when given."""

    def invoke(*args: str, caller: str | None = None) -> Outcome:
        monkeypatch.setattr(sys, "argv", ["alliance", *(["--as", caller] if caller is not None else []), *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        captured = capsys.readouterr()
        code = exited.value.code
        return Outcome(code if isinstance(code, int) else 1, captured.out, captured.err)

    return invoke
