"""`alliance cycle run` when out/statements cannot be written (issue 31, case 12): exit 2 and one line naming the
path, the run standing; the next cycle, once the path is put right, writes the statements."""

from integrations.workspace import Workspace
from tests.cli.test_cli import alliance
from tests.helpers import return_bytes


def test_a_cycle_that_cannot_write_statements_says_where_in_one_line_and_the_next_writes_them(
    workspace: Workspace,
) -> None:
    (workspace.inbox / "harbour-trust").mkdir(parents=True)
    (workspace.inbox / "harbour-trust" / "october.xlsx").write_bytes(return_bytes(workspace.load_contract()))
    workspace.statements_dir.parent.mkdir(parents=True, exist_ok=True)
    workspace.statements_dir.write_text("in the way")
    ws = str(workspace.root)
    failed = alliance("cycle", "run", "--period", "2026-10", "-w", ws, cwd=workspace.root)
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr and "internal error" not in failed.stderr
    [error] = [line for line in failed.stderr.splitlines() if line.startswith("alliance: error:")]
    assert "out/statements" in error and "run the cycle again" in error
    shown = alliance("payments", "show", "--period", "2026-10", "-w", ws, cwd=workspace.root)
    assert shown.returncode == 0 and "v1" in shown.stdout, shown.stderr  # the run stands

    workspace.statements_dir.unlink()
    again = alliance("cycle", "run", "--period", "2026-10", "-w", ws, cwd=workspace.root)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (workspace.statements_dir / "2026-10" / "v1").iterdir()) == sorted(
        [f"{p}-2026-10-v1.xlsx" for p in ("city-mind", "harbour-trust", "northfield-works")]
        + ["officers-summary-2026-10-v1.xlsx"]
    )
