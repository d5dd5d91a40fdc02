"""Rules for delivering the outbox: where a message may go, and when a failed one is tried again."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.contract import Contract

EMAIL = "email:"  # an outbox row's channel for an email: "email:" and the address
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)  # transient failures are retried for ever, at most this far apart


class RouteProblem(StrEnum):
    """Why a queued message is refused instead of sent (stable codes, shown by `alliance notifications`)."""

    unknown_partner = "ROUTE_UNKNOWN_PARTNER"
    partner_channel_mismatch = "ROUTE_PARTNER_CHANNEL_MISMATCH"
    not_an_alliance_channel = "ROUTE_NOT_AN_ALLIANCE_CHANNEL"
    file_of_another_partner = "ROUTE_FILE_OF_ANOTHER_PARTNER"
    not_a_person_of_the_alliance = "ROUTE_NOT_AN_ACCOUNT"


@dataclass(frozen=True)
class Refused:
    problem: RouteProblem
    detail: str

    def __str__(self) -> str:
        return f"{self.problem.value}: {self.detail}"


def check_route(contract: Contract, *, partner_id: str | None, channel: str, file_name: str | None) -> Refused | None:
    """A partner's message goes to that partner's channel only; anything else to officers or board only.

    Checked again just before sending, against the contract as it is then, so a channel changed or
    mistyped since the message was queued is refused rather than guessed.
    """
    if partner_id is not None:
        partner = contract.partner(partner_id)
        if partner is None:
            return Refused(RouteProblem.unknown_partner, f"{partner_id} is not a partner in the contract")
        if channel not in partner_destinations(contract, partner_id):
            places = ", ".join(partner_destinations(contract, partner_id)) or "nowhere"
            return Refused(
                RouteProblem.partner_channel_mismatch,
                f"queued for {channel} but {partner_id} is told at {places}",
            )
        if file_name is not None and not is_partner_file(file_name, partner_id):
            return Refused(RouteProblem.file_of_another_partner, f"{file_name} is not a statement of {partner_id}")
        return None
    if channel.startswith(EMAIL):  # to a person's account (an invitation, a reset): checked against the accounts
        if file_name is not None:
            return Refused(RouteProblem.not_a_person_of_the_alliance, "files go to partners and channels only")
        return None
    if channel not in (contract.alliance.officers_channel, contract.alliance.board_channel):
        return Refused(RouteProblem.not_an_alliance_channel, f"{channel} is neither the officers' nor the board's")
    if file_name is not None and any(is_partner_file(file_name, p.id) for p in contract.partners):
        return Refused(RouteProblem.file_of_another_partner, f"{file_name} belongs to a partner")
    return None


def email_channel(address: str) -> str:
    return f"{EMAIL}{address}"


def partner_destinations(contract: Contract, partner_id: str) -> list[str]:
    """Where a partner's messages may go: its Slack channel and its email addresses, as the contract says now."""
    partner = contract.partner(partner_id)
    if partner is None:
        return []
    return ([partner.slack_channel] if partner.slack_channel else []) + [email_channel(a) for a in partner.email]


def is_partner_file(file_name: str, partner_id: str) -> bool:
    """Statements are named ``<partner>-<YYYY-MM>-v<n>.xlsx``, feedback workbooks ``<partner>-<YYYY-MM>-v<n>-feedback
    .xlsx``, templates ``<partner>-<YYYY-MM>.xlsx`` and evidence packs ``<partner>-review-<year>.xlsx``; an id that
    prefixes another's does not match."""
    partner = re.escape(partner_id)
    kinds = r"\d{4}-\d{2}(-v\d+(-feedback)?)?|review-\d+"
    return re.fullmatch(rf"{partner}-({kinds})\.xlsx", file_name) is not None


def next_attempt(*, now: datetime, attempts: int, retry_after: float | None = None) -> datetime:
    """Exponential backoff from 30 s, capped at an hour; Slack's Retry-After is honoured when longer."""
    wait = min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 12), LONGEST_WAIT)
    if retry_after is not None and 0 <= retry_after <= 86_400:  # a nonsense header is ignored
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait
