"""A run started from a page is a run of the deployment on the Prefect server, with the page's parameters; with no
such deployment the officer is told what to start."""

import pytest

from domain.errors import NotFound
from flows.launch import PrefectRuns
from flows.monthly_cycle import monthly_cycle
from services.runs import LaunchError


def test_a_cycle_is_started_as_a_run_of_its_deployment_and_its_state_is_read_back() -> None:
    launcher = PrefectRuns()
    with pytest.raises(LaunchError, match="no monthly-cycle deployment"):
        launcher.start("cycle", {"period": "2026-10", "workspace": "/srv/alliance"})
    monthly_cycle.to_deployment(name="monthly-cycle").apply()  # type: ignore[union-attr]

    run_id = launcher.start("cycle", {"period": "2026-10", "workspace": "/srv/alliance"})

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)  # type: ignore[arg-type]
    assert run.parameters == {"period": "2026-10", "workspace": "/srv/alliance"}
    state = launcher.state(run_id)
    assert state.name == "Scheduled" and not state.final  # no worker here: it waits for one
    with pytest.raises(NotFound):
        launcher.state("not-a-run-id")
