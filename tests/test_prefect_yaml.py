"""prefect.yaml and `alliance serve` deploy the same flows on the same schedules, with parameters they take."""

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from domain.errors import UsageError
from flows.deployments import SCHEDULED, TIMEZONE, WORK_POOL, runner_deployments, serve_all

REPO = Path(__file__).resolve().parents[1]
DEPLOYMENTS = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_a_deployment_entrypoint_loads_the_flow_it_names(deployment: dict[str, object]) -> None:
    loaded = load_flow_from_entrypoint(str(REPO / str(deployment["entrypoint"])))

    assert loaded.name == deployment["name"]
    accepted = set(inspect.signature(loaded.fn).parameters)
    assert set(deployment.get("parameters") or {}) <= accepted  # type: ignore[arg-type]


def test_every_scheduled_flow_runs_without_parameters() -> None:
    # A schedule gives no period or year: each flow must work out what is due itself.
    for scheduled in (s for s in SCHEDULED if s.cron):
        required = [
            name
            for name, p in inspect.signature(scheduled.flow.fn).parameters.items()
            if p.default is inspect.Parameter.empty
        ]
        assert required == [], scheduled.name


def test_prefect_yaml_deploys_what_alliance_serve_runs() -> None:
    in_yaml = {
        d["name"]: (
            d["entrypoint"],
            d["work_pool"]["name"],
            [(s["cron"], s["timezone"], s["active"]) for s in d["schedules"]],
        )
        for d in DEPLOYMENTS
    }
    served = {s.name: (s.entrypoint, WORK_POOL, [(s.cron, TIMEZONE, True)] if s.cron else []) for s in SCHEDULED}

    assert in_yaml == served
    for scheduled in SCHEDULED:
        assert load_flow_from_entrypoint(str(REPO / scheduled.entrypoint)).name == scheduled.name


def test_served_deployments_carry_the_workspace_and_the_london_schedule(tmp_path: Path) -> None:
    deployments = runner_deployments(str(tmp_path))

    assert [d.name for d in deployments] == ["monthly-cycle", "reminders", "partner-review", "intake"]
    for deployment in deployments[:3]:
        assert deployment.parameters == {"workspace": str(tmp_path)}
        (schedule,) = deployment.schedules
        assert schedule.schedule.timezone == TIMEZONE  # type: ignore[union-attr]
    assert deployments[3].parameters == {"workspace": str(tmp_path)}
    assert deployments[3].schedules == []  # a share runs when a cycle starts it, never on a schedule


def test_a_cycle_served_in_shares_carries_them_and_needs_room_for_them(tmp_path: Path) -> None:
    cycle = runner_deployments(str(tmp_path), shares=3)[0]
    assert cycle.parameters == {"workspace": str(tmp_path), "shares": 3}

    with pytest.raises(UsageError, match="--limit 4 or more"):
        serve_all(str(tmp_path), limit=3, port=0, shares=3)
