"""Runs of the Prefect deployments, as the faces see them: long work started from a page (a cycle, a review) and a
paused review resumed by the board's decision. The faces take a :class:`Runs` from whoever starts them (`alliance web`
passes flows.launch.PrefectRuns: Prefect stays in flows/ and cli/); without one, :class:`NoRuns` says what to do."""

from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import AllianceError
from models.tables import BoardDecisionRecord


class LaunchError(AllianceError):
    """The run could not be started: no Prefect server, or no such deployment on it."""

    exit_code = 2


@dataclass(frozen=True)
class RunState:
    name: str  # Scheduled, Pending, Running, Paused, Completed, Failed, ...
    final: bool
    message: str | None


class Runs(Protocol):
    def start(self, what: str, parameters: dict[str, Any]) -> str: ...

    def state(self, flow_run_id: str) -> RunState: ...

    def resume_review(self, *, year: int, partner_id: str, record: BoardDecisionRecord) -> str | None: ...


NOT_CONNECTED = (
    "The portal is not connected to the Prefect server the workers use: start it from the command line "
    "(alliance cycle run, alliance review run), or serve the portal with `alliance web`"
)


class NoRuns:
    """No Prefect server: nothing starts from a page, and a paused review finds a decision in the database."""

    def start(self, what: str, parameters: dict[str, Any]) -> str:
        raise LaunchError(NOT_CONNECTED)

    def state(self, flow_run_id: str) -> RunState:
        raise LaunchError(NOT_CONNECTED)

    def resume_review(self, *, year: int, partner_id: str, record: BoardDecisionRecord) -> str | None:
        return None
