"""Partners' first files checked together before their turn (issue 26: one Great Expectations validation for many
returns): filed with exactly what checking each in its turn finds, the records looked at again under the lock."""

from datetime import UTC, datetime

import pytest

from domain.periods import Period
from integrations.inbox import InboxFile, read_file
from models import repo
from models.db import session_scope
from services import intake
from services.deps import Deps
from services.intake import check_ahead, process_file
from tests.helpers import OCTOBER, clean_rows, return_bytes, summary_of

LANDED = datetime(2026, 11, 3, 10, tzinfo=UTC)


def _landed(deps: Deps, partner_id: str, name: str, content: bytes) -> InboxFile:
    folder = deps.workspace.inbox / partner_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return read_file(folder / name, received_at=LANDED, sender=partner_id)


def _rows(prefix: str, count: int = 4, period: Period = OCTOBER) -> list[dict]:
    rows = clean_rows(count, period=period)
    for n, row in enumerate(rows):
        row["participant_id"] = f"{prefix}-{n:03d}"
    return rows


def test_a_claim_filed_after_both_were_checked_together_is_found_under_the_lock(deps: Deps) -> None:
    """Harbour and City are checked together, neither seeing the other's claim; City is filed first, so Harbour,
    filed next, finds the participant City claimed, as it would have checked in its own turn."""
    shared = _rows("S")
    theirs = _rows("H")
    theirs[2]["participant_id"] = shared[1]["participant_id"]
    city = _landed(deps, "city-mind", "city.xlsx", return_bytes(deps.contract, "city-mind", rows=shared))
    harbour = _landed(
        deps, "harbour-trust", "harbour.xlsx", return_bytes(deps.contract, rows=theirs, summary=summary_of(theirs))
    )
    ahead = check_ahead(deps, [city, harbour])
    assert len(ahead) == 2
    checked = ahead.take(harbour)
    assert checked is not None and checked.checked[1] == []  # nothing filed yet when they were checked
    first = process_file(deps, city, ahead=ahead.take(city))
    second = process_file(deps, harbour, ahead=checked)
    assert (first.status, second.status) == ("accepted", "accepted")
    assert [(f.code, f.cell) for f in second.findings] == [("DUPLICATE_CLAIM", "A4")]
    with session_scope(deps.engine) as session:
        city_findings = repo.findings_of(session, submission_id=first.submission_id or 0)
    assert [(f.code, f.row) for f in city_findings] == [("DUPLICATE_CLAIM", 3)]
    assert ahead.take(city) is None and ahead.take(harbour) is None  # each taken once


def test_a_file_checked_ahead_is_filed_as_it_is_filed_alone(deps: Deps) -> None:
    """A rejected return, checked ahead with a clean one: the same status, findings and rows recorded."""
    bad = _rows("B")
    bad[1]["complexity_band"] = "hard"
    bad[2]["referral_date"] = "03/10/26"
    clean = _rows("C")
    files = [
        _landed(deps, "harbour-trust", "bad.xlsx", return_bytes(deps.contract, rows=bad)),
        _landed(deps, "city-mind", "clean.xlsx", return_bytes(deps.contract, "city-mind", rows=clean)),
    ]
    alone = [intake.check_file(f, deps.contract, received_at=LANDED) for f in files]
    ahead = check_ahead(deps, files)
    outcomes = [process_file(deps, f, ahead=ahead.take(f)) for f in files]
    assert [o.status for o in outcomes] == ["rejected", "accepted"]
    assert [o.findings for o in outcomes] == [found for _, found, _ in alone]
    assert {(f.code, f.cell) for f in outcomes[0].findings} >= {("BAND_UNKNOWN", "C3"), ("DATE_AMBIGUOUS", "B4")}
    with session_scope(deps.engine) as session:
        filed = repo.latest_submission(session, partner_id="city-mind", period="2026-10")
    assert filed is not None and filed.row_count == 4


def test_a_file_whose_checks_fail_is_not_checked_ahead_and_fails_in_its_own_turn(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One return the checks cannot run on: the others are checked ahead; it is checked again in its turn, where its
    failure is its partner's alone (the cycle fails once every other partner is filed)."""
    files = [
        _landed(deps, "harbour-trust", "boom.xlsx", return_bytes(deps.contract, rows=_rows("B"))),
        _landed(deps, "city-mind", "fine.xlsx", return_bytes(deps.contract, "city-mind", rows=_rows("C"))),
    ]
    read = intake.read_return

    def failing_for_boom(name: str, content: bytes, **kwargs: object) -> object:
        if name == "boom.xlsx":
            raise RuntimeError("the reader could not cope")
        return read(name, content, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "read_return", failing_for_boom)
    ahead = check_ahead(deps, files)
    assert ahead.take(files[0]) is None
    assert process_file(deps, files[1], ahead=ahead.take(files[1])).status == "accepted"
    with pytest.raises(RuntimeError, match="could not cope"):
        process_file(deps, files[0])


def test_a_file_from_no_partners_folder_is_left_to_its_turn(deps: Deps) -> None:
    deps.workspace.inbox.mkdir(parents=True, exist_ok=True)
    (deps.workspace.inbox / "loose.xlsx").write_bytes(return_bytes(deps.contract, rows=_rows("L")))
    loose = read_file(deps.workspace.inbox / "loose.xlsx", received_at=LANDED)
    assert len(check_ahead(deps, [loose])) == 0
    assert process_file(deps, loose).status == "quarantined"


@pytest.mark.parametrize("locked_when_checked", [True, False])
def test_a_lock_lifted_or_added_after_the_check_ahead_is_what_the_filing_follows(
    deps: Deps, locked_when_checked: bool
) -> None:
    """A wave is checked while the one before is filed: an officer unlocking (or locking) the month meanwhile is
    followed, not the lock as it stood when the return was checked."""
    from models import ledger

    def lock(action: str) -> None:
        with session_scope(deps.engine) as session:
            ledger.add_lock_event(
                session,
                period=str(OCTOBER),
                partner_id="harbour-trust",
                action=action,
                by="officer",
                reason="r",
                at=LANDED,
            )

    if locked_when_checked:
        lock("lock")
    file = _landed(deps, "harbour-trust", "h.xlsx", return_bytes(deps.contract, rows=_rows("H")))
    ahead = check_ahead(deps, [file])
    checked = ahead.take(file)
    assert checked is not None
    assert ("RETURN_LOCKED" in [f.code for f in checked.checked[1]]) is locked_when_checked
    lock("unlock" if locked_when_checked else "lock")
    outcome = process_file(deps, file, ahead=checked)
    assert outcome.status == ("accepted" if locked_when_checked else "rejected")
    assert ("RETURN_LOCKED" in [f.code for f in outcome.findings]) is not locked_when_checked
