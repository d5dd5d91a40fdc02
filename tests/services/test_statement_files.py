"""Statements when their folder cannot be written (issue 31, case 12): the run stands, the officer is told where, and
the next cycle writes them."""

import stat

import pytest

from domain.periods import Period
from models import repo
from models.db import session_scope
from services.deps import Deps
from services.statements import StatementsNotWritten, pay_period, write_missing_statements
from tests.helpers import return_bytes
from tests.services.payments_helpers import submit

OCTOBER = Period(2026, 10)


def test_an_unwritable_statements_folder_leaves_the_run_standing_and_the_next_cycle_writes_them(deps: Deps) -> None:
    assert submit(deps, "h.xlsx", return_bytes(deps.contract)).status == "accepted"
    statements = deps.workspace.statements_dir
    statements.parent.mkdir(parents=True, exist_ok=True)
    statements.write_text("a file where the folder should be")
    with pytest.raises(StatementsNotWritten) as refused:
        pay_period(deps, OCTOBER)
    message = str(refused.value)
    assert str(statements) in message and "\n" not in message and "2026-10" in message
    assert refused.value.exit_code == 2
    with session_scope(deps.engine) as session:
        [run] = repo.runs_of(session, period=str(OCTOBER))  # the run stands
    assert write_missing_statements(deps)[1] == [message]  # still in the way: said again, nothing lost

    statements.unlink()  # the officer moves the file away; the next cycle writes the run's workbooks
    written, problems = write_missing_statements(deps)
    assert problems == [] and len(written) == 1 + len(deps.contract.partners)
    assert {p.parent for p in written} == {statements / "2026-10" / f"v{run.version}"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o640 for p in written)
    assert write_missing_statements(deps) == ([], [])  # written once
