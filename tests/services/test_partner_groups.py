"""Which inbox files the cycle may process side by side (services.intake.by_sender)."""

from datetime import UTC, datetime

from domain.contract import Contract
from integrations.inbox import InboxFile
from services.intake import by_sender


def _file(name: str, sender: str | None) -> InboxFile:
    at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    return InboxFile(
        name=name, path=f"/inbox/{name}", received_at=at, size=1, sha256=name * 8, content=b"x", sender=sender
    )


def test_files_from_partner_folders_are_grouped_by_partner_in_arrival_order(contract: Contract) -> None:
    files = [
        _file("h1", "harbour-trust"),
        _file("c1", "city-mind"),
        _file("h2", "harbour-trust"),
        _file("c2", "city-mind"),
        _file("h3", "harbour-trust"),
    ]
    assert [[f.name for f in group] for group in by_sender(files, contract)] == [["h1", "h2", "h3"], ["c1", "c2"]]


def test_a_file_outside_the_partner_folders_puts_every_file_in_one_group_in_arrival_order(contract: Contract) -> None:
    # Its About sheet may name harbour-trust: processing it beside harbour-trust's folder could swap versions.
    files = [_file("h1", "harbour-trust"), _file("loose", None), _file("c1", "city-mind")]
    assert [[f.name for f in group] for group in by_sender(files, contract)] == [["h1", "loose", "c1"]]


def test_a_folder_that_is_no_partner_counts_as_outside(contract: Contract) -> None:
    files = [_file("h1", "harbour-trust"), _file("x", "not-a-partner")]
    assert [[f.name for f in group] for group in by_sender(files, contract)] == [["h1", "x"]]


def test_no_files_no_groups(contract: Contract) -> None:
    assert by_sender([], contract) == []
