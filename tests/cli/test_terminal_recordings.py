"""What an officer sees in a terminal during long work: `alliance demo --months 2` and `alliance cycle run`, run in a
real terminal (tmux) and recorded with capture-pane to test-artifacts/terminal/. Each shows its steps with counts and
the time since it began, and no line of Prefect's own log (that is in the Prefect UI; --verbose prints it too)."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, require_or_skip

ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "terminal"
ENDED = "command ended with exit code"
# Prefect's console format: `17:07:26.769 | INFO    | Task run 'prepare-298' - Finished in state Completed()`
PREFECT_LINE = re.compile(r"\| (DEBUG|INFO) +\||Flow run '|Task run '|Starting temporary server")
STEP = re.compile(r"^ +\d+\.\ds  ", re.MULTILINE)


class Terminal:
    """A tmux session of its own (its own server socket), 200 columns wide, running bash without rc files."""

    def __init__(self, folder: Path) -> None:
        self.socket = folder / f"tmux-{uuid.uuid4().hex[:8]}"
        self.folder, self.windows = folder, 0
        bin_dir = folder / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "alliance"  # this checkout's CLI, under the name the README uses
        wrapper.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "from cli.app import main; main()" "$@"\n'
        )
        wrapper.chmod(0o755)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TMUX"))},
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(REPO),
            "PREFECT_HOME": str(folder / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PS1": "$ ",
            "TERM": "xterm-256color",
        }
        self.tmux(
            "new-session", "-d", "-s", "rec", "-x", "200", "-y", "60", "-c", str(folder), "bash --norc --noprofile"
        )
        self.tmux("set-option", "-g", "history-limit", "20000")  # for the windows made from now on

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args], env=self.env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def run(self, command: str, deadline_seconds: float = 600) -> str:
        """Type ``command`` in a new window, wait for it to end; the window from its first line, as it shows it."""
        self.windows += 1
        window = f"rec:{self.windows}"
        self.tmux("new-window", "-t", window, "-c", str(self.folder), "bash --norc --noprofile")
        self.tmux("send-keys", "-t", window, command, "Enter")
        self.tmux("send-keys", "-t", window, f'echo "{ENDED} $?"', "Enter")
        deadline = time.monotonic() + deadline_seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", window)
            if re.search(rf"^{ENDED} \d+", screen, re.MULTILINE):
                return screen
            time.sleep(1)
        pytest.fail(f"`{command}` did not end within {deadline_seconds:.0f} s:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], env=self.env, capture_output=True, timeout=30)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        require_or_skip("terminal recordings need tmux (apt-get install -y tmux)")
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def _keep(name: str, screen: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = screen.rstrip() + "\n"
    (ARTIFACTS / name).write_text(text, encoding="utf-8")
    return text


def _exit_code(screen: str) -> int:
    found = re.search(rf"^{ENDED} (\d+)", screen, re.MULTILINE)
    assert found, screen
    return int(found.group(1))


def test_the_demo_and_a_cycle_show_their_steps_and_no_prefect_log_lines(terminal: Terminal) -> None:
    demo = _keep("alliance-demo-months-2.txt", terminal.run("alliance demo --months 2 --dir demo"))
    assert _exit_code(demo) == 0, demo
    assert not PREFECT_LINE.search(demo), demo
    # Each month's steps, with the time since the command began and what the cycle counted.
    assert re.search(r"^ +\d+\.\ds  \[1/2\] 2026-04: an early cycle", demo, re.MULTILINE), demo
    assert re.search(r"^ +\d+\.\ds  \[2/2\] 2026-05: \d+ file\(s\) arrived", demo, re.MULTILINE), demo
    assert re.search(r"^ +\d+\.\ds  7 file\(s\) read and checked: .*accepted 5", demo, re.MULTILINE), demo
    assert re.search(r"^ +\d+\.\ds  starting a temporary Prefect server", demo, re.MULTILINE), demo
    assert "case system export.xlsx: quarantined: no partner could be found" in demo
    assert "period None" not in demo and "vNone" not in demo

    cycle = _keep("alliance-cycle-run.txt", terminal.run("alliance cycle run --period 2026-05 --workspace demo"))
    assert _exit_code(cycle) == 0, cycle
    assert not PREFECT_LINE.search(cycle), cycle
    steps = STEP.findall(cycle)
    assert len(steps) >= 8, cycle  # the flow's tasks, one line each as it ends
    for step in ("monthly cycle for 2026-05 ...", "0 new file(s) in the inbox", "pay 2026-05: done"):
        assert re.search(rf"^ +\d+\.\ds  {re.escape(step)}", cycle, re.MULTILINE), (step, cycle)
    assert re.search(r"^harbour-trust +accepted", cycle, re.MULTILINE), cycle  # the answer, after the steps

    verbose = _keep(
        "alliance-cycle-run-verbose.txt", terminal.run("alliance cycle run --period 2026-05 --workspace demo --verbose")
    )
    assert _exit_code(verbose) == 0, verbose
    assert PREFECT_LINE.search(verbose), verbose  # --verbose: Prefect's own lines as well
