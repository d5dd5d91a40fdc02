"""The exception tree. Every message is written for the person who must act on it."""

from typing import TypeVar

T = TypeVar("T")


class AllianceError(Exception):
    """Base of every error a user can act on; the CLI prints it as one line."""

    exit_code = 1


class ConfigError(AllianceError):
    """The workspace or its alliance.yaml is missing or invalid."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.source = source


class UsageError(AllianceError):
    """A command was given something it cannot use (an unknown period, a bad option)."""

    exit_code = 2


class UnknownPartner(UsageError):
    """A partner id the contract does not have; the message lists the ids it has (Contract.known_partner)."""


class ReturnRejected(AllianceError):
    """A return was read but has errors, or could not be read at all."""

    exit_code = 1


class IntegrityError(AllianceError):
    """Stored history disagrees with what is being written (never overwritten silently)."""

    exit_code = 3


class AccessDenied(AllianceError):
    """The caller's role in the contract (``roles:``) does not allow this action or this partner's data."""

    exit_code = 4


class NotFound(AllianceError):
    """Nothing by that id that the caller may see: what does not exist and what is another partner's are answered
    in the same words, so ids cannot be probed."""

    exit_code = 2


def answer_or_raise(answer: T | BaseException) -> T:
    """One item of work done in a batch, which hands back each item's exception as its answer: the answer, or the
    exception raised here, as if the item had been done alone."""
    if isinstance(answer, BaseException):
        raise answer
    return answer
