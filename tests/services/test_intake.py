import hashlib
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from domain.contract import Contract
from integrations.inbox import FolderInbox, read_file
from integrations.spreadsheets.templates import build_template
from models import repo
from models.db import session_scope
from models.tables import AuditEntry, FindingRecord, Notification, ParticipantRecord, PeriodRecord, Submission
from services.deps import Deps
from services.intake import Outcome, process_file
from tests.helpers import OCTOBER, clean_rows, named_partner, return_bytes, summary_of
from tests.services.stored import deps_on

ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)


OWN = "(the partner's own folder)"  # the partner the About sheet names: where that partner puts its returns


def submit(deps: Deps, name: str, content: bytes, at: datetime = ON_TIME, sender: str | None = OWN) -> Outcome:
    """Into ``sender``'s folder (None: the top of the inbox), as the partner the About sheet names by default."""
    sender = named_partner(content) if sender == OWN else sender
    folder = deps.workspace.inbox / sender if sender else deps.workspace.inbox
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return process_file(deps, read_file(folder / name, received_at=at, sender=sender))


def codes(outcome: Outcome) -> list[str]:
    return [f.code for f in outcome.findings]


def count(deps: Deps, table: type) -> int:
    with session_scope(deps.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_an_accepted_return_is_archived_read_only_with_where_it_came_from(deps: Deps) -> None:
    outcome = submit(deps, "October return.xlsx", return_bytes(deps.contract), sender="harbour-trust")
    assert (outcome.status, outcome.version) == ("accepted", 1)
    with session_scope(deps.engine) as session:
        record = session.get(Submission, outcome.submission_id)
        assert record is not None
        archived = Path(record.stored_path)
        assert (record.filename, record.sender_partner_id) == ("October return.xlsx", "harbour-trust")
        assert record.source == str(deps.workspace.inbox / "harbour-trust" / "October return.xlsx")
        assert record.size_bytes == archived.stat().st_size
    assert archived.read_bytes() == (deps.workspace.inbox / "harbour-trust" / "October return.xlsx").read_bytes()
    assert not archived.stat().st_mode & stat.S_IWUSR


def test_a_file_from_a_partner_folder_naming_another_partner_is_rejected_to_the_sender(deps: Deps) -> None:
    outcome = submit(deps, "r.xlsx", return_bytes(deps.contract, "city-mind"), sender="harbour-trust")
    assert (outcome.status, outcome.partner_id) == ("rejected", "harbour-trust")
    assert "ABOUT_PARTNER_MISMATCH" in codes(outcome)
    with session_scope(deps.engine) as session:
        [note] = repo.notifications(session)
    assert note.channel == deps.contract.partner("harbour-trust").slack_channel  # type: ignore[union-attr]


def test_an_unreadable_file_from_a_partner_folder_is_fed_back_to_that_partner(deps: Deps) -> None:
    outcome = submit(deps, "r.xlsx", b"participant_id,referral_date\n", sender="city-mind")
    assert (outcome.status, outcome.partner_id, outcome.period, codes(outcome)) == (
        "rejected",
        "city-mind",
        None,
        ["FILE_TEXT"],
    )
    assert outcome.feedback_path is not None and Path(outcome.feedback_path).is_file()


def test_a_file_no_one_can_be_matched_to_is_quarantined_for_officers(deps: Deps) -> None:
    outcome = submit(deps, "scan.pdf", b"%PDF-1.4 not a return", sender=None)
    assert (outcome.status, outcome.partner_id, outcome.feedback_path) == ("quarantined", None, None)
    with session_scope(deps.engine) as session:
        [note] = repo.notifications(session)
        record = session.get(Submission, outcome.submission_id)
    assert (note.kind, note.channel) == ("quarantined_file", deps.contract.alliance.officers_channel)
    assert record is not None and "FILE_NOT_XLSX" in note.text and record.stored_path in note.text
    assert count(deps, PeriodRecord) == 0 and count(deps, ParticipantRecord) == 0


def test_a_return_for_a_month_not_yet_begun_is_refused(deps: Deps) -> None:
    december = OCTOBER.plus(2)
    outcome = submit(deps, "r.xlsx", return_bytes(deps.contract, period=december, rows=clean_rows(period=december)))
    assert outcome.status == "rejected" and "ABOUT_PERIOD_FUTURE" in codes(outcome)


def test_an_about_sheet_edited_to_another_partner_is_refused(deps: Deps) -> None:
    book = build_template(deps.contract, deps.contract.partners[0], OCTOBER)
    book["About"]["B2"].value = deps.contract.partners[1].id  # the id, but not the template it was issued with
    from integrations.spreadsheets.filler import fill_return

    outcome = submit(deps, "r.xlsx", fill_return(book, clean_rows(), summary=summary_of(clean_rows())))
    assert outcome.status == "rejected" and codes(outcome) == ["ABOUT_TEMPLATE_MISMATCH"]


def test_a_failure_while_recording_leaves_nothing_half_written(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(repo, "enqueue", broken)
    content = return_bytes(deps.contract)
    with pytest.raises(RuntimeError):
        submit(deps, "r.xlsx", content)
    assert [count(deps, t) for t in (Submission, FindingRecord, ParticipantRecord, Notification)] == [0, 0, 0, 0]
    assert not [p for p in deps.workspace.feedback_dir.rglob("*") if p.is_file()]  # no feedback for a lost version
    monkeypatch.undo()
    file = read_file(deps.workspace.inbox / "harbour-trust" / "r.xlsx", received_at=ON_TIME, sender="harbour-trust")
    assert process_file(deps, file).status == "accepted"  # the next cycle files it whole
    assert count(deps, ParticipantRecord) == 4


def test_the_same_bytes_from_another_folder_are_a_duplicate(deps: Deps) -> None:
    content = return_bytes(deps.contract)
    first = submit(deps, "a.xlsx", content, sender="harbour-trust")
    again = submit(deps, "copy.xlsx", content, sender="city-mind")
    assert (first.status, again.status, again.submission_id) == ("accepted", "duplicate", first.submission_id)


def test_a_file_over_the_size_limit_is_refused_unread_but_kept(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations import inbox

    monkeypatch.setattr(inbox, "MAX_FILE_BYTES", 1000)
    outcome = submit(deps, "huge.xlsx", return_bytes(deps.contract), sender="harbour-trust")
    assert (outcome.status, codes(outcome)) == ("rejected", ["FILE_TOO_LARGE"])
    with session_scope(deps.engine) as session:
        record = session.get(Submission, outcome.submission_id)
    assert record is not None
    assert Path(record.stored_path).read_bytes() == (deps.workspace.inbox / "harbour-trust" / "huge.xlsx").read_bytes()


def test_a_file_name_with_control_characters_is_processed_and_fed_back(deps: Deps) -> None:
    outcome = submit(deps, "October\x07return.xlsx", return_bytes(deps.contract))
    assert (outcome.status, outcome.filename) == ("accepted", "October\x07return.xlsx")
    assert outcome.feedback_path is not None and Path(outcome.feedback_path).is_file()


def test_a_link_to_another_partners_return_never_makes_that_return_a_duplicate(deps: Deps) -> None:
    inbox = deps.workspace.inbox
    (inbox / "harbour-trust").mkdir(parents=True)
    (inbox / "city-mind").mkdir()
    real = inbox / "harbour-trust" / "october.xlsx"
    real.write_bytes(return_bytes(deps.contract))
    (inbox / "city-mind" / "ours.xlsx").symlink_to("../harbour-trust/october.xlsx")
    at = ON_TIME.timestamp()
    os.utime(inbox / "city-mind" / "ours.xlsx", (at, at), follow_symlinks=False)
    os.utime(real, (at + 60, at + 60))  # the link is seen first
    outcomes = [process_file(deps, file) for file in FolderInbox(inbox).files()]
    assert [(o.filename, o.status, o.partner_id, codes(o)) for o in outcomes] == [
        ("ours.xlsx", "rejected", "city-mind", ["FILE_SYMLINK"]),
        ("october.xlsx", "accepted", "harbour-trust", []),
    ]
    with session_scope(deps.engine) as session:
        told = session.exec(select(Notification.kind, Notification.channel)).all()
    harbour = deps.contract.partner("harbour-trust")
    city = deps.contract.partner("city-mind")
    assert harbour is not None and city is not None
    assert ("return_processed", harbour.slack_channel) in told and ("return_processed", city.slack_channel) in told
    assert ("link_refused", deps.contract.alliance.officers_channel) in told
    assert count(deps, ParticipantRecord) == 4
    again = [process_file(deps, file) for file in FolderInbox(inbox).files()]  # the next cycle: nothing new
    assert [o.status for o in again] == ["duplicate", "duplicate"]


def test_a_thousand_character_name_with_a_newline_and_a_leading_dash_is_filed_and_fed_back(deps: Deps) -> None:
    import uuid

    import fsspec

    from integrations.inbox import UrlInbox

    root = f"memory://inbox-{uuid.uuid4().hex[:8]}"
    name = "-" + "a\n" * 500 + ".xlsx"
    fsspec.filesystem("memory").pipe(f"{root}/harbour-trust/{name}", return_bytes(deps.contract))
    (file,) = UrlInbox(root, now=lambda: ON_TIME).files()
    outcome = process_file(deps, file)
    assert (outcome.status, outcome.filename, outcome.partner_id) == ("accepted", name, "harbour-trust")
    assert outcome.feedback_path is not None and Path(outcome.feedback_path).is_file()
    with session_scope(deps.engine) as session:
        assert session.get(Submission, outcome.submission_id).filename == name  # type: ignore[union-attr]


def test_a_file_from_no_partners_folder_is_never_filed_as_the_partner_its_about_sheet_names(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    """Issue 31, case 2: the template id is computable by anyone, so the About sheet alone proves nothing. On
    SQLite and PostgreSQL (the quarantined file is recorded under a digest of its digest)."""
    deps = deps_on(engine, contract, tmp_path, ON_TIME)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
    content = return_bytes(deps.contract, "harbour-trust")
    other = return_bytes(deps.contract, "city-mind")
    outcomes = [submit(deps, "v2.xlsx", content, sender=None), submit(deps, "v2.xlsx", other, sender="no-such")]
    assert [(o.status, o.partner_id, o.period, o.version, o.feedback_path) for o in outcomes] == [
        ("quarantined", None, None, None, None)
    ] * 2
    assert codes(outcomes[0]) == ["SENDER_UNKNOWN"] and codes(outcomes[1]) == ["SENDER_UNKNOWN"]
    assert "Harbour Trust" in outcomes[0].findings[0].message and "City Mind" in outcomes[1].findings[0].message
    assert count(deps, ParticipantRecord) == 0
    with session_scope(deps.engine) as session:
        notes = repo.notifications(session)
        assert repo.accepted_submissions(session, period="2026-10") == []
    assert [(n.kind, n.channel) for n in notes] == [("quarantined_file", deps.contract.alliance.officers_channel)] * 2
    assert all("SENDER_UNKNOWN" in n.text for n in notes)
    with session_scope(deps.engine) as session:
        details = [
            json.loads(e.detail) for e in session.exec(select(AuditEntry)).all() if e.action.startswith("submission.")
        ]
    assert [d["content_sha256"] for d in details] == [
        hashlib.sha256(content).hexdigest(),
        hashlib.sha256(other).hexdigest(),
    ]
    assert all(d["sha256"] != d["content_sha256"] for d in details)  # the record's key, and the bytes' own digest
    # The officer moves it into the partner's folder: the same bytes are then filed as that partner's return.
    moved = submit(deps, "v2.xlsx", content, sender="harbour-trust")
    assert (moved.status, moved.partner_id, moved.version) == ("accepted", "harbour-trust", 1)
