"""Issue 30: a partner's text (a return's file name, its participant ids, the values its findings quote) is shown
by every command with its control characters escaped: nothing a partner writes acts on the officer's terminal."""

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

from integrations.workspace import Workspace
from tests.cli.test_cli import REPO
from tests.helpers import clean_rows, return_bytes

ESCAPES = "\x1b]0;owned\x07\x1b[2J\r\n"  # a window title, a cleared screen, a line overwritten and one forged


def alliance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command's output as it reaches the terminal: bytes decoded, no newline translated (a raw CR stays)."""
    done = subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=300,
    )
    out, err = (stream.decode("utf-8", errors="backslashreplace") for stream in (done.stdout, done.stderr))
    return subprocess.CompletedProcess(done.args, done.returncode, out, err)


def raw_controls(text: str) -> list[str]:
    """Every control or format character in ``text`` but the newlines that end its lines."""
    return [repr(ch) for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")]


def returns_with_escapes(workspace: Workspace) -> tuple[Path, Path]:
    """Harbour Trust's return (accepted) and City Mind's (rejected: a participant twice), each under a file name
    and with participant ids that carry ESC, BEL, CR and a newline."""
    contract = workspace.load_contract()
    for partner in ("harbour-trust", "city-mind"):  # each from its own folder
        (workspace.inbox / partner).mkdir(parents=True)
    rows = clean_rows()
    for n, row in enumerate(rows):
        row["participant_id"] = f"P{n}\x1b[31m\x07\r{n}\n{n}\t"
    harbour = workspace.inbox / "harbour-trust" / f"harbour{ESCAPES}.xlsx"
    harbour.write_bytes(return_bytes(contract, rows=rows))
    twice = [{**row, "participant_id": "C\x1b[2J\r\n1"} for row in clean_rows(2)]
    city = workspace.inbox / "city-mind" / f"city{ESCAPES}mind.xlsx"
    city.write_bytes(return_bytes(contract, "city-mind", rows=twice))
    return harbour, city


def test_no_command_shows_a_partners_control_characters_raw(workspace: Workspace) -> None:
    harbour, city = returns_with_escapes(workspace)
    ws = str(workspace.root)
    checked = alliance("validate", str(harbour), str(city), "-w", ws, cwd=workspace.root)
    assert checked.returncode == 1, checked.stderr  # City Mind's is rejected
    assert "harbour\\x1b]0;owned\\x07\\x1b[2J\\r\\n.xlsx: accepted" in checked.stdout
    assert "city\\x1b]0;owned" in checked.stdout and "ID_DUPLICATE" in checked.stdout
    shown = [checked]
    cycle = alliance("cycle", "run", "--period", "2026-10", "-w", ws, cwd=workspace.root)
    assert cycle.returncode == 0, cycle.stderr
    shown.append(cycle)
    for args in (
        ("status", "--period", "2026-10"),
        ("notifications", "--full"),
        ("checks", "list", "--period", "2026-10"),
        ("payments", "show", "--period", "2026-10"),
        ("audit", "show"),
    ):
        result = alliance(*args, "-w", ws, cwd=workspace.root)
        assert result.returncode == 0, (args, result.stderr)
        shown.append(result)
    listed = shown[-3].stdout
    assert re.search(r"P(\d)\S*\\n\1\\n\1", listed), listed  # the claims drawn, by id (CR read as a newline)
    for result in shown:
        assert raw_controls(result.stdout) == [], (result.args[3:], result.stdout)
        assert raw_controls(result.stderr) == [], (result.args[3:], result.stderr)
