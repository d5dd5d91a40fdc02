"""What the alliance writes to disk is named from ids and readable by the alliance alone (issue 31, cases 6 and 8)."""

import re
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


CJK_NAME = "参加者報告" * 16 + ".xlsx"  # 80 characters and a suffix: 245 bytes in UTF-8 (a name takes 255)


def test_a_file_name_near_the_file_systems_limit_is_filed_and_stored_under_ids(deps: Deps) -> None:
    assert len(CJK_NAME.encode()) > 230
    names = [CJK_NAME, "二" + CJK_NAME, CJK_NAME.replace(".xlsx", ".報告書")]
    outcomes = [
        submit(deps, name, content, sender="harbour-trust")
        for name, content in zip(names, [return_bytes(deps.contract), b"not a workbook", b"nor this"], strict=True)
    ]
    assert [(o.status, o.filename) for o in outcomes] == [("accepted", names[0]), *(("rejected", n) for n in names[1:])]
    with session_scope(deps.engine) as session:
        records = [session.get(Submission, o.submission_id) for o in outcomes]
        assert [r.filename for r in records if r is not None] == names  # the partner's name stays in the records
    archived = [Path(r.stored_path).name for r in records if r is not None]
    feedback = [Path(o.feedback_path).name for o in outcomes if o.feedback_path]
    assert all(re.fullmatch(r"[0-9a-f]{64}\.(xlsx|bin)", name) for name in archived), archived
    assert feedback[0] == "harbour-trust-2026-10-v1-feedback.xlsx"
    assert all(re.fullmatch(r"harbour-trust-[0-9a-f]{16}-feedback\.xlsx", name) for name in feedback[1:]), feedback
