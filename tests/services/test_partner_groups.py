"""Which inbox files the cycle may process side by side (services.intake.by_sender), and shares of them."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.contract import Contract
from domain.errors import UsageError
from integrations.inbox import InboxFile
from services.intake import by_sender, share_out


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


def _sized(name: str, sender: str, size: int) -> InboxFile:
    return replace(_file(name, sender), size=size)


def test_shares_keep_each_partner_whole_and_in_order_and_balance_the_bytes() -> None:
    groups = [
        [_sized("a1", "a", 50), _sized("a2", "a", 50)],
        [_sized("b1", "b", 90)],
        [_sized("c1", "c", 60)],
        [_sized("d1", "d", 30), _sized("d2", "d", 10)],
        [_sized("e1", "e", 20)],
    ]
    shares = share_out(groups, 2)

    # the heaviest partner first, each to the lightest share so far: 100 | 90, +60 | +40, +20
    assert [[f.name for f in share] for share in shares] == [["a1", "a2", "d1", "d2", "e1"], ["b1", "c1"]]
    assert [sum(f.size for f in share) for share in shares] == [160, 150]


@given(st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=40), st.integers(1, 12))
def test_every_file_is_in_exactly_one_share_and_no_share_is_empty(sizes: list[int], count: int) -> None:
    groups = [[_sized(f"f{n}", f"p{n}", size)] for n, size in enumerate(sizes)]
    shares = share_out(groups, count)

    assert sorted(f.name for share in shares for f in share) == sorted(f"f{n}" for n in range(len(sizes)))
    assert len(shares) == min(count, len(sizes)) and all(shares)
    weights = [sum(f.size for f in share) for share in shares]
    assert max(weights) - min(weights) <= max(sizes)  # no share heavier than another by more than one group


def test_no_shares_is_refused() -> None:
    with pytest.raises(UsageError):
        share_out([[_file("a", "a")]], 0)
