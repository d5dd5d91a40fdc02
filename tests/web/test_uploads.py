"""A partner's return uploaded in the portal goes through exactly the intake path an inbox file takes; hostile and
odd uploads end as a finding or a clear message, with nothing lost, nothing half-recorded, nothing leaked."""

import re
import time
from pathlib import Path

from markupsafe import escape
from sqlalchemy import func
from sqlmodel import select

from domain.periods import Period
from integrations.inbox import open_inbox
from models.db import read_scope, session_scope
from models.portal_tables import PortalUpload
from models.tables import Notification, Submission
from services.intake import process_file
from services.statements import pay_period
from tests.helpers import clean_rows, return_bytes
from tests.web.conftest import HARBOUR, Portal, bad_return, good_return, start_portal, upload


def submissions(portal: Portal) -> list[Submission]:
    with read_scope(portal.deps.engine) as session:  # a reader: it must not wait for a return being recorded
        return list(session.exec(select(Submission).order_by(Submission.id)))  # type: ignore[arg-type]


def test_a_return_with_mistakes_is_checked_shown_cell_by_cell_then_corrected_and_accepted(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    first = upload(person, portal, "October return.xlsx", bad_return(portal.deps))
    assert "sent back" in first.text and "2 errors" in first.text
    assert "Participants" in first.text and "super complex" in first.text and "N/A" in first.text
    assert re.search(r"Participants <span class=\"portal-cell\">[A-Z]+\d+</span>", first.text)
    assert "How to fix:" in first.text
    [v1] = submissions(portal)
    assert (v1.status, v1.sender_partner_id, v1.partner_id, v1.version) == (
        "rejected",
        "harbour-trust",
        "harbour-trust",
        1,
    )
    assert Path(v1.stored_path).is_file() and v1.sha256 in v1.stored_path  # archived by its SHA-256
    feedback = person.get(f"/versions/{v1.id}/feedback")
    assert feedback.status_code == 200 and feedback.content[:2] == b"PK"
    assert "attachment" in feedback.headers["content-disposition"]

    second = upload(person, portal, "October return corrected.xlsx", good_return(portal.deps))
    assert "accepted" in second.text and "Changes since version 1" in second.text
    assert "0 participants added" in second.text and "2 cells changed" in second.text  # the band and the Yes/No
    v2 = submissions(portal)[-1]
    assert (v2.status, v2.version, v2.on_time) == ("accepted", 2, True)
    with session_scope(portal.deps.engine) as session:
        told = session.exec(select(Notification).where(Notification.kind == "return_processed")).all()
    assert len(told) == 2 and {n.partner_id for n in told} == {"harbour-trust"}
    months = person.get("/returns").text
    assert "Accepted" in months


def test_the_cycle_does_not_file_an_uploaded_return_again(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    upload(person, portal, "r.xlsx", good_return(portal.deps))
    inbox = list(open_inbox(portal.deps.workspace.inbox_location).files())
    assert [f.sender for f in inbox] == ["harbour-trust"]
    outcome = process_file(portal.deps, inbox[0])  # what the cycle does with every inbox file it sees
    assert outcome.status == "duplicate" and len(submissions(portal)) == 1


def test_a_correction_uploaded_after_the_month_was_paid_is_paid_by_the_next_cycle(portal: Portal) -> None:
    from services.payments import periods_with_new_returns

    person = portal.person(HARBOUR)
    upload(person, portal, "r.xlsx", good_return(portal.deps))
    pay_period(portal.deps, Period(2026, 10))
    with session_scope(portal.deps.engine) as session:
        assert periods_with_new_returns(session) == []
    rows = clean_rows(8)
    upload(person, portal, "r2.xlsx", return_bytes(portal.deps.contract, "harbour-trust", rows=rows))
    with session_scope(portal.deps.engine) as session:
        assert periods_with_new_returns(session) == [Period(2026, 10)]


def test_a_file_over_the_limit_is_stopped_while_it_streams_and_nothing_is_kept(tmp_path: Path) -> None:
    portal = start_portal(tmp_path / "ws", upload_limit=20_000)
    try:
        person = portal.person(HARBOUR)
        big = good_return(portal.deps) + b"\0" * 30_000
        response = person.post("/upload", files={"return": ("big.xlsx", big)}, page="/upload")
        assert response.status_code == 400 and "must be smaller than" in response.text
        assert _kept(portal) == (0, 0, 0)
    finally:
        portal.close()


def _kept(portal: Portal) -> tuple[int, int, int]:
    with session_scope(portal.deps.engine) as session:
        uploads = session.exec(select(func.count()).select_from(PortalUpload)).one()
    staged = portal.deps.workspace.uploads
    inbox = portal.deps.workspace.inbox
    return (
        uploads,
        sum(1 for _ in staged.iterdir()) if staged.exists() else 0,
        sum(1 for p in inbox.rglob("*") if p.is_file()) if inbox.exists() else 0,
    )


def test_an_empty_upload_or_no_file_is_a_clear_message_and_nothing_is_kept(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    empty = person.post("/upload", files={"return": ("empty.xlsx", b"")}, page="/upload")
    assert empty.status_code == 400 and "The selected file is empty" in empty.text
    none = person.post("/upload", files={"return": ("", b"")}, page="/upload")
    assert none.status_code == 400 and "Select your return" in none.text
    assert _kept(portal) == (0, 0, 0)


def test_what_the_reader_refuses_is_a_finding_on_the_page_never_a_traceback(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    for name, content, code in [
        ("return.xlsx", b"participant_id,referral_date\nP1,2026-10-01\n", "FILE_TEXT"),
        ("return.xlsx", b"PK\x03\x04 truncated", "FILE_CORRUPT"),
        ("return.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "FILE_LEGACY_XLS"),
    ]:
        page = upload(person, portal, name, content)
        assert page.status_code == 200 and code in page.text, page.text[-1500:]
        assert "Traceback" not in page.text
    assert [s.status for s in submissions(portal)] == ["rejected"] * 3


def test_a_file_name_with_path_parts_control_characters_or_1000_characters_is_kept_clean(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    names = ["../../etc/passwd.xlsx", "a\x1b]0;owned\x07b\u202eslx.exe.xlsx", "x" * 1000 + ".xlsx"]
    for n, name in enumerate(names):
        upload(person, portal, name, good_return(portal.deps, ids=f"Q{n}"))
    with session_scope(portal.deps.engine) as session:
        kept = [u for u in session.exec(select(PortalUpload).order_by(PortalUpload.id))]  # type: ignore[arg-type]
    assert kept[0].filename == "passwd.xlsx"
    assert all(u.filename.isprintable() and "\u202e" not in u.filename for u in kept)  # no escapes, no flips
    assert kept[1].filename.endswith("slx.exe.xlsx")
    assert len(kept[2].filename) <= 100 and kept[2].filename.endswith(".xlsx")
    for u in kept:
        assert Path(u.inbox_path).parent == portal.deps.workspace.inbox / "harbour-trust"
        assert len(Path(u.inbox_path).name.encode()) < 100
    escaped = portal.deps.workspace.root.parent / "etc"
    assert not escaped.exists()


def test_a_second_upload_while_the_first_is_being_checked_is_told_to_wait(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    portal.app.state.checker.submit = lambda upload_id: None  # the first stays "being checked"
    first = person.post("/upload", files={"return": ("one.xlsx", good_return(portal.deps))}, page="/upload")
    assert first.status_code == 303
    waiting = person.get(first.headers["location"])
    assert "We are checking your return" in waiting.text and "checking.js" in waiting.text
    second = person.post("/upload", files={"return": ("two.xlsx", good_return(portal.deps, ids="Z"))}, page="/upload")
    assert second.status_code == 400 and "still being checked" in second.text
    assert _kept(portal) == (1, 0, 1)


def test_an_upload_left_being_checked_is_checked_when_the_portal_starts_again(portal: Portal) -> None:
    from starlette.testclient import TestClient

    person = portal.person(HARBOUR)
    portal.app.state.checker.submit = lambda upload_id: None
    person.post("/upload", files={"return": ("one.xlsx", good_return(portal.deps))}, page="/upload")
    from web.app import create_app

    again = create_app(deps=portal.deps)
    with TestClient(again):  # its start-up finds the upload and checks it
        again.state.checker.pool.shutdown(wait=True)
    with session_scope(portal.deps.engine) as session:
        [done] = session.exec(select(PortalUpload)).all()
    assert (done.state, done.outcome, done.busy) == ("done", "accepted", None)


def test_partner_text_is_escaped_in_every_page(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    rows = clean_rows(4)
    rows[0]["participant_id"] = "<script>alert(1)</script>"
    rows[1]["complexity_band"] = '<img src=x onerror="alert(2)">'
    name = '<b onmouseover="alert(3)">return.xlsx'
    page = upload(person, portal, name, return_bytes(portal.deps.contract, "harbour-trust", rows=rows))
    months = person.get("/returns/2026-10").text
    for text in (page.text, months):
        assert "<script>alert(1)" not in text and "<img src=x" not in text and "<b onmouseover" not in text
    assert str(escape('<img src=x onerror="alert(2)">')) in page.text
    assert "&lt;b onmouseover=" in months


def test_the_findings_show_as_soon_as_they_are_known_while_the_version_is_recorded(portal: Portal, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    import services.intake

    recording = threading.Event()
    original = services.intake.write_feedback

    def slow_feedback(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert recording.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(services.intake, "write_feedback", slow_feedback)
    person = portal.person(HARBOUR)
    sent = person.post("/upload", files={"return": ("early.xlsx", bad_return(portal.deps))}, page="/upload")
    state_of = f"{sent.headers['location']}/state"
    state = person.get(state_of, params={"seen": "checking", "wait": 20}).json()["state"]  # answered when it moves
    assert state == "checked"
    early = person.get(sent.headers["location"])
    assert (
        "early.xlsx: sent back" in early.text
        and "super complex" in early.text
        and "recording this version" in early.text
    )
    assert submissions(portal) == []  # not recorded yet: the page says what it found, not a version
    started = time.monotonic()
    assert person.get(state_of, params={"seen": "checked", "wait": 0.5}).json()["state"] == "checked"  # not yet
    assert time.monotonic() - started >= 0.4
    threading.Timer(0.2, recording.set).start()
    assert person.get(state_of, params={"seen": "checked", "wait": 20}).json()["state"] == "done"
    portal.wait_for_uploads()
    final = person.get(sent.headers["location"], follow_redirects=True)
    assert "version 1: sent back" in final.text and len(submissions(portal)) == 1
