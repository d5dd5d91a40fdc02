"""Values longer than the database keeps: the same finding on SQLite and PostgreSQL, never a crashed cycle."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.contract import Contract
from integrations.inbox import read_file
from models import repo
from models.db import session_scope
from models.tables import ParticipantRecord
from services.intake import process_file
from tests.helpers import clean_rows, return_bytes
from tests.services.stored import deps_on

ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)


def test_a_participant_id_longer_than_the_records_keep_is_a_finding_on_every_database(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    deps = deps_on(engine, contract, tmp_path, ON_TIME)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
    rows = clean_rows()
    rows[1]["participant_id"] = "P" * 65
    rows[2]["participant_id"] = "Q" * 64  # the longest kept
    folder = tmp_path / "inbox" / "harbour-trust"
    folder.mkdir(parents=True)
    (folder / "october.xlsx").write_bytes(return_bytes(contract, rows=rows))
    outcome = process_file(deps, read_file(folder / "october.xlsx", received_at=ON_TIME, sender="harbour-trust"))
    assert outcome.status == "rejected"
    assert [(f.code, f.row, f.column, f.value) for f in outcome.findings] == [
        ("VALUE_TOO_LONG", 3, "participant_id", "P" * 65)
    ]
    assert outcome.findings[0].message == "Participant ID in row 3 is 65 characters long; it can be at most 64."
    with session_scope(engine) as session:
        assert session.query(ParticipantRecord).count() == 0
        assert repo.findings_of(session, submission_id=outcome.submission_id)[0].code == "VALUE_TOO_LONG"  # type: ignore[arg-type]
    rows[1]["participant_id"] = "P" * 64
    (folder / "again.xlsx").write_bytes(return_bytes(contract, rows=rows))
    again = process_file(deps, read_file(folder / "again.xlsx", received_at=ON_TIME, sender="harbour-trust"))
    assert (again.status, again.version) == ("accepted", 2)


def test_an_overlong_band_or_postcode_district_is_a_finding_on_every_database(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    deps = deps_on(engine, contract, tmp_path, ON_TIME)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
    rows = clean_rows()
    rows[0]["complexity_band"] = "c" * 65
    rows[1]["postcode_district"] = "N" * 65
    folder = tmp_path / "inbox" / "harbour-trust"
    folder.mkdir(parents=True)
    (folder / "october.xlsx").write_bytes(return_bytes(contract, rows=rows))
    outcome = process_file(deps, read_file(folder / "october.xlsx", received_at=ON_TIME, sender="harbour-trust"))
    assert outcome.status == "rejected"
    assert sorted((f.code, f.row) for f in outcome.findings) == [("BAND_UNKNOWN", 2), ("POSTCODE_INVALID", 3)]
