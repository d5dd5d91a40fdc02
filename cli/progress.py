"""Long work in the terminal: per-step lines with counts and the time since the command began, on standard error
(standard output stays the command's answer), and Prefect's own INFO lines kept off the terminal unless --verbose.

Prefect's lines still reach its API (the UI shows every run's log): only its console handler is turned down, never
the loggers. The steps are read from the run loggers' records: the flows log their counts ("12 new file(s) in the
inbox"), and each task's end is one line with its name.
"""

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from domain.text import printable_lines

VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also print Prefect's own log lines (they are in the Prefect UI either way).",
    ),
]

# Read by Prefect's logging config (prefect/logging/logging.yml: handlers.console.level) when it is loaded.
CONSOLE_LEVEL_VARIABLE = "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"
_FINISHED = re.compile(r"^Finished in state (\w+)")
_SKIPPED = ("Beginning flow run", "Created task run", "Executing ", "View at ")


def quiet_prefect(verbose: bool) -> None:
    """Without ``verbose``, Prefect prints warnings and errors only; call before Prefect is imported (and again
    after: a Prefect already set up has its console handler turned down here)."""
    if verbose:
        return
    os.environ[CONSOLE_LEVEL_VARIABLE] = "WARNING"
    from_prefect = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("fastapi")]
    for logger in from_prefect:
        for handler in logger.handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(logging.WARNING)


class Steps:
    """Lines like `  14.2s  pay 2026-04: done` on standard error."""

    def __init__(self, console: Console | None = None, *, tasks: bool = True) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.started = time.monotonic()
        self.tasks = tasks  # False: the flows' own lines (their counts) only, not each task's end

    def line(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        # A step's text can quote a partner's (a file's name): no markup of its own, no control character acts.
        shown = escape(printable_lines(text))
        self.console.print(f"[dim]{elapsed:7.1f}s[/dim]  {shown}", markup=True, emoji=False)

    @contextmanager
    def following_prefect(self) -> Iterator[None]:
        """While inside, each flow's log lines and each task's end are step lines."""
        handler = _StepHandler(self)
        logger = logging.getLogger("prefect")
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)


class _StepHandler(logging.Handler):
    def __init__(self, steps: Steps) -> None:
        super().__init__(level=logging.INFO)
        self.steps = steps

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = _step_text(record, self.steps.tasks)
        except Exception:  # a progress line is never worth failing the work for
            return
        if text:
            self.steps.line(text)


def _step_text(record: logging.LogRecord, tasks: bool) -> str | None:
    message = record.getMessage()
    if record.levelno > logging.INFO:
        return None  # warnings and errors: Prefect's console handler prints them itself
    if record.name == "prefect" or record.name.startswith("prefect.server"):
        if message.startswith("Starting temporary server"):
            return "starting a temporary Prefect server (it stops with this command) ..."
        return None
    if message.startswith(_SKIPPED):
        return None
    task = getattr(record, "task_run_name", None)
    flow = getattr(record, "flow_run_name", None)
    finished = _FINISHED.match(message)
    if record.name.startswith("prefect.task_runs") and task:
        if not tasks:
            return None
        if finished:
            state = finished.group(1)
            return f"{_plain_name(task)}: {'done' if state == 'Completed' else state.lower()}"
        return f"{_plain_name(task)}: {message}"
    if record.name.startswith("prefect.flow_runs"):
        if finished:
            return f"flow run {flow}: {finished.group(1).lower()}"
        return message
    return None


def _plain_name(task_run_name: str) -> str:
    """`notify_officers-0cc` -> `notify officers`; a name given with its parameters (`pay 2026-04`) is kept."""
    name = re.sub(r"-[0-9a-f]{3}$", "", task_run_name)
    return name.replace("_", " ")
