"""What the alliance writes to disk is named from ids and readable by the alliance alone (issue 31, cases 6 and 8)."""

import stat
from pathlib import Path

from models.db import session_scope
from models.tables import Submission
from services.deps import Deps
from tests.helpers import return_bytes
from tests.services.test_intake import submit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_archived_originals_and_feedback_are_not_readable_by_other_accounts(deps: Deps) -> None:
    outcome = submit(deps, "October return.xlsx", return_bytes(deps.contract), sender="harbour-trust")
    with session_scope(deps.engine) as session:
        record = session.get(Submission, outcome.submission_id)
        assert record is not None
        archived = Path(record.stored_path)
    assert mode(archived) == 0o440
    assert mode(archived.parent) == 0o750 and mode(deps.workspace.archive) == 0o750
    assert outcome.feedback_path is not None
    feedback = Path(outcome.feedback_path)
    assert mode(feedback) & 0o137 == 0  # no one but the owner writes, no other account reads
    assert mode(feedback.parent) == 0o750
