"""Long work started from a page runs as a run of its Prefect deployment, on whichever worker picks it up, never inside
the web request (DESIGN.md section 8): a monthly cycle, a year's review. The page then shows the run's state. And the
board's decision from a page resumes the review run paused for it. `alliance web` gives the portal a PrefectRuns.

Needs the Prefect server the workers use (PREFECT_API_URL) and the deployments from `alliance serve` or prefect.yaml.
"""

from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from domain.errors import NotFound
from flows.partner_review import resume_waiting_review
from models.tables import BoardDecisionRecord
from services.runs import LaunchError, RunState

DEPLOYMENTS = {"cycle": "monthly-cycle/monthly-cycle", "review": "partner-review/partner-review"}


class PrefectRuns:
    """Runs of the deployments on the Prefect server in PREFECT_API_URL (services.runs.Runs)."""

    def start(self, what: str, parameters: dict[str, Any]) -> str:
        if not PREFECT_API_URL.value():
            raise LaunchError(
                "The portal is not connected to the Prefect server the workers use (PREFECT_API_URL is not set): "
                "start it from the command line (alliance cycle run), or set PREFECT_API_URL for the portal"
            )
        name = DEPLOYMENTS[what]
        try:
            run = run_deployment(name=name, parameters=parameters, timeout=0, as_subflow=False)
        except ObjectNotFound:
            raise LaunchError(
                f"There is no {name.split('/')[1]} deployment on the Prefect server: start `alliance serve` or "
                "deploy prefect.yaml with its workers, then try again"
            ) from None
        return str(run.id)  # type: ignore[union-attr]

    def state(self, flow_run_id: str) -> RunState:
        try:
            wanted = UUID(flow_run_id)
        except ValueError:
            raise NotFound("There is no such run") from None
        if not PREFECT_API_URL.value():
            raise LaunchError("The portal is not connected to the Prefect server (PREFECT_API_URL is not set)")
        with get_client(sync_client=True) as client:
            try:
                run = client.read_flow_run(wanted)
            except ObjectNotFound:
                raise NotFound("There is no such run") from None
        state = run.state
        if state is None:
            return RunState("Scheduled", False, None)
        return RunState(state.name or state.type.value.title(), state.is_final(), state.message)

    def resume_review(self, *, year: int, partner_id: str, record: BoardDecisionRecord) -> str | None:
        return resume_waiting_review(year=year, partner_id=partner_id, record=record)
