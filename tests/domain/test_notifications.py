from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.contract import Contract
from domain.notifications import (
    FIRST_RETRY,
    LONGEST_WAIT,
    Refused,
    RouteProblem,
    check_route,
    is_partner_file,
    next_attempt,
)
from tests.domain.test_contract import EXAMPLE, problems_of

NOW = datetime(2026, 10, 15, 9, 30, tzinfo=UTC)
OFFICERS = "#alliance-officers"
BOARD = "#alliance-board"


@pytest.fixture
def city_and_city_mind(contract: Contract) -> Contract:
    """The example contract plus a partner "city" whose id prefixes "city-mind"."""
    data = contract.model_dump()
    city = {**data["partners"][1], "id": "city", "name": "City", "slack_channel": "#city"}
    return Contract.model_validate({**data, "partners": [*data["partners"], city]})


# --- routing -----------------------------------------------------------------------------------


def test_a_partners_message_to_its_own_channel_passes(contract: Contract) -> None:
    assert check_route(contract, partner_id="city-mind", channel="#city-mind", file_name=None) is None


@pytest.mark.parametrize("channel", ["#harbour-trust", OFFICERS, BOARD, "#city-mind-archive", "city-mind"])
def test_a_partners_message_to_any_other_channel_is_refused(contract: Contract, channel: str) -> None:
    refused = check_route(contract, partner_id="city-mind", channel=channel, file_name=None)
    assert refused is not None
    assert refused.problem is RouteProblem.partner_channel_mismatch
    assert channel in refused.detail and "#city-mind" in refused.detail
    assert str(refused).startswith("ROUTE_PARTNER_CHANNEL_MISMATCH: ")


def test_a_message_for_a_partner_not_in_the_contract_is_refused(contract: Contract) -> None:
    refused = check_route(contract, partner_id="gone-partner", channel="#gone-partner", file_name=None)
    assert refused == Refused(RouteProblem.unknown_partner, "gone-partner is not a partner in the contract")
    assert str(refused).startswith("ROUTE_UNKNOWN_PARTNER: ")


@pytest.mark.parametrize("channel", ["#city-mind", "#harbour-trust", "#general"])
def test_a_message_for_no_partner_is_refused_outside_officers_and_board(contract: Contract, channel: str) -> None:
    refused = check_route(contract, partner_id=None, channel=channel, file_name=None)
    assert refused is not None
    assert refused.problem is RouteProblem.not_an_alliance_channel
    assert channel in refused.detail


@pytest.mark.parametrize("channel", [OFFICERS, BOARD])
def test_a_message_for_no_partner_goes_to_officers_or_board(contract: Contract, channel: str) -> None:
    assert check_route(contract, partner_id=None, channel=channel, file_name=None) is None


def test_officers_and_board_channels_are_read_from_the_contract(contract: Contract) -> None:
    moved = Contract.model_validate(
        {**contract.model_dump(), "alliance": {**contract.alliance.model_dump(), "officers_channel": "#office"}}
    )
    assert check_route(moved, partner_id=None, channel="#office", file_name=None) is None
    assert check_route(moved, partner_id=None, channel=OFFICERS, file_name=None) is not None


def test_a_partner_may_receive_its_own_statement(contract: Contract) -> None:
    statement = "city-mind-2026-10-v2.xlsx"
    assert check_route(contract, partner_id="city-mind", channel="#city-mind", file_name=statement) is None


@pytest.mark.parametrize(
    "file_name",
    ["harbour-trust-2026-10-v1.xlsx", "officers-summary-2026-10-v1.xlsx", "city-mind-2026-10-v1.xlsx.exe", "notes.txt"],
)
def test_a_partners_message_carrying_any_other_file_is_refused(contract: Contract, file_name: str) -> None:
    refused = check_route(contract, partner_id="city-mind", channel="#city-mind", file_name=file_name)
    assert refused is not None
    assert refused.problem is RouteProblem.file_of_another_partner
    assert file_name in refused.detail


def test_a_partner_whose_id_prefixes_anothers_does_not_get_the_others_statement(city_and_city_mind: Contract) -> None:
    refused = check_route(city_and_city_mind, partner_id="city", channel="#city", file_name="city-mind-2026-10-v1.xlsx")
    assert refused is not None and refused.problem is RouteProblem.file_of_another_partner
    assert check_route(city_and_city_mind, partner_id="city", channel="#city", file_name="city-2026-10-v1.xlsx") is None


@pytest.mark.parametrize("channel", [OFFICERS, BOARD])
def test_officers_and_board_messages_never_carry_a_partners_statement(contract: Contract, channel: str) -> None:
    refused = check_route(contract, partner_id=None, channel=channel, file_name="harbour-trust-2026-10-v3.xlsx")
    assert refused is not None
    assert refused.problem is RouteProblem.file_of_another_partner
    assert "harbour-trust-2026-10-v3.xlsx" in refused.detail


def test_officers_may_receive_their_own_summary(contract: Contract) -> None:
    summary = "officers-summary-2026-10-v1.xlsx"
    assert check_route(contract, partner_id=None, channel=OFFICERS, file_name=summary) is None


@pytest.mark.parametrize(
    ("file_name", "partner_id", "expected"),
    [
        ("city-mind-2026-10-v1.xlsx", "city-mind", True),
        ("city-mind-2026-10-v12.xlsx", "city-mind", True),
        ("city-mind-2026-10-v1.xlsx", "city", False),
        ("city-2026-10-v1.xlsx", "city-mind", False),
        ("xcity-mind-2026-10-v1.xlsx", "city-mind", False),
        ("city-mind-2026-10-v1.xlsx\n", "city-mind", False),
        ("city-mind-2026-10-v1.xlsx.zip", "city-mind", False),
        ("city-mind-2026-10-v.xlsx", "city-mind", False),
        ("city-mind-2026-1-v1.xlsx", "city-mind", False),
        ("city-mind-2026-10-v1-feedback.xlsx", "city-mind", True),  # its feedback workbook (issue 28)
        ("city-mind-2026-10.xlsx", "city-mind", True),  # its template
        ("city-2026-10-v1-feedback.xlsx", "city-mind", False),
    ],
)
def test_a_statement_belongs_only_to_the_partner_it_is_named_after(
    file_name: str, partner_id: str, expected: bool
) -> None:
    assert is_partner_file(file_name, partner_id) is expected


# --- backoff -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(0, 30), (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, 3600), (9, 3600)],
)
def test_failed_deliveries_back_off_from_30_seconds_doubling_up_to_an_hour(attempts: int, wait: int) -> None:
    assert next_attempt(now=NOW, attempts=attempts) == NOW + timedelta(seconds=wait)


@pytest.mark.parametrize("attempts", [13, 14, 64, 1_000, 10_000, 10**9])
def test_backoff_never_overflows_after_many_attempts(attempts: int) -> None:
    assert next_attempt(now=NOW, attempts=attempts) == NOW + timedelta(hours=1)


def test_a_longer_retry_after_wins_over_backoff() -> None:
    assert next_attempt(now=NOW, attempts=1, retry_after=90) == NOW + timedelta(seconds=90)
    assert next_attempt(now=NOW, attempts=10_000, retry_after=7200) == NOW + timedelta(hours=2)


@pytest.mark.parametrize("retry_after", [0, 1, 29.5, 120])
def test_a_shorter_retry_after_does_not_shorten_backoff(retry_after: float) -> None:
    assert next_attempt(now=NOW, attempts=3, retry_after=retry_after) == NOW + timedelta(seconds=120)


@settings(max_examples=min(settings().max_examples, 1000))  # CI's 10,000 is for money
@given(
    attempts=st.integers(min_value=-5, max_value=100_000),
    more=st.integers(min_value=0, max_value=100_000),
    retry_after=st.none() | st.floats(min_value=0, max_value=10 * 24 * 3600, allow_nan=False),
)
def test_backoff_grows_with_attempts_and_stays_between_30_seconds_and_the_cap(
    attempts: int, more: int, retry_after: float | None
) -> None:
    wait = next_attempt(now=NOW, attempts=attempts, retry_after=retry_after) - NOW
    later = next_attempt(now=NOW, attempts=attempts + more, retry_after=retry_after) - NOW
    assert wait <= later
    ceiling = max(LONGEST_WAIT, timedelta(seconds=retry_after or 0))
    assert FIRST_RETRY <= wait <= ceiling
    assert FIRST_RETRY <= later <= ceiling


# --- the contract: one channel per audience ----------------------------------------------------


def test_two_partners_sharing_a_channel_are_refused_naming_the_channel() -> None:
    text = EXAMPLE.read_text().replace('slack_channel: "#city-mind"', 'slack_channel: "#harbour-trust"')
    [problem] = problems_of(text)
    assert "#harbour-trust" in problem
    assert "harbour-trust" in problem and "city-mind" in problem


@pytest.mark.parametrize("channel", [OFFICERS, BOARD])
def test_a_partner_using_the_officers_or_board_channel_is_refused(channel: str) -> None:
    text = EXAMPLE.read_text().replace('slack_channel: "#northfield-works"', f'slack_channel: "{channel}"')
    [problem] = problems_of(text)
    assert channel in problem and "northfield-works" in problem


def test_a_partner_channel_clashing_with_a_renamed_officers_channel_is_refused() -> None:
    text = EXAMPLE.read_text().replace('officers_channel: "#alliance-officers"', 'officers_channel: "#city-mind"')
    [problem] = problems_of(text)
    assert "#city-mind" in problem


def test_an_alliance_channel_is_written_like_a_partners_so_it_cannot_alias_one() -> None:
    import pytest
    import yaml

    from domain.contract import parse_contract
    from domain.errors import ConfigError
    from tests.conftest import EXAMPLE

    data = yaml.safe_load(EXAMPLE.read_text())
    data["alliance"]["officers_channel"] = "harbour-trust"  # the same Slack channel as #harbour-trust
    with pytest.raises(ConfigError) as refused:
        parse_contract(data)
    assert any("officers_channel" in problem for problem in refused.value.problems)
