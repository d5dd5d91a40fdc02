"""`alliance serve`: the single-machine default runs every deployment on its schedule beside its own Prefect server."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

from tests.conftest import EXAMPLE
from tests.prefect_server import _free_port, http_json

ALLIANCE = str(Path(sys.executable).with_name("alliance"))


def test_alliance_serve_schedules_every_flow_and_runs_one_asked_for(tmp_path: Path) -> None:
    workspace = tmp_path / "alliance"
    workspace.mkdir()
    (workspace / "alliance.yaml").write_text(EXAMPLE.read_text())
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ALLIANCE_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-client"), PREFECT_RUNNER_POLL_FREQUENCY="1")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen(
            [ALLIANCE, "serve", "--workspace", str(workspace), "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deployments = _wait_for(lambda: _deployments(api), timeout=180)
        assert sorted(deployments) == ["intake", "monthly-cycle", "partner-review", "reminders"]
        for record in deployments.values():
            assert record["parameters"] == {"workspace": str(workspace)}
        for name in ("monthly-cycle", "partner-review", "reminders"):
            assert deployments[name]["schedules"][0]["schedule"]["timezone"] == "Europe/London"
        assert deployments["intake"]["schedules"] == []  # started by a cycle in shares only

        run = http_json(f"{api}/deployments/{deployments['reminders']['id']}/create_flow_run", {})
        finished = _wait_for(lambda: _finished(api, run["id"]), timeout=180)
        assert finished["state_type"] == "COMPLETED"
        assert (workspace / "alliance.db").exists()  # the flow ran against the workspace's own database
        assert (workspace / ".prefect" / "server.log").exists()  # the Prefect server's home is in the workspace

        scheduled = _wait_for(lambda: _scheduled(api, deployments["monthly-cycle"]["id"]), timeout=120)
        assert all(r["expected_start_time"][8:10] == "16" for r in scheduled)
    except BaseException:
        print(f"---- alliance serve log ----\n{log_path.read_text(errors='replace')[-6000:]}", file=sys.stderr)
        raise
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
    assert _down(api)


def _deployments(api: str) -> dict[str, dict[str, object]] | None:
    try:
        records = http_json(f"{api}/deployments/filter", {})
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return {d["name"]: d for d in records} if len(records) == 4 else None


def _finished(api: str, run_id: str) -> dict[str, str] | None:
    run = http_json(f"{api}/flow_runs/{run_id}")
    return run if run["state_type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def _scheduled(api: str, deployment_id: str) -> list[dict[str, str]] | None:
    runs = http_json(
        f"{api}/flow_runs/filter",
        {"flow_runs": {"deployment_id": {"any_": [deployment_id]}, "state": {"type": {"any_": ["SCHEDULED"]}}}},
    )
    return runs or None


def _down(api: str) -> bool:
    try:
        http_json(f"{api}/health", timeout=2)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return True
    return False


def _wait_for(probe, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"not ready after {timeout:.0f}s")
