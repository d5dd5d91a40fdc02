"""Every deployment in prefect.yaml points at a flow that loads, under its name, with parameters it takes."""

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

REPO = Path(__file__).resolve().parents[1]
DEPLOYMENTS = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_a_deployment_entrypoint_loads_the_flow_it_names(deployment: dict[str, object]) -> None:
    loaded = load_flow_from_entrypoint(str(REPO / str(deployment["entrypoint"])))

    assert loaded.name == deployment["name"]
    accepted = set(inspect.signature(loaded.fn).parameters)
    assert set(deployment.get("parameters") or {}) <= accepted  # type: ignore[arg-type]
    for schedule in deployment.get("schedules") or []:  # type: ignore[attr-defined]
        assert schedule["timezone"] == "Europe/London"
