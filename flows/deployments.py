"""The scheduled deployments: one table that `alliance serve` runs and `prefect.yaml` mirrors (a test holds
the two together), so the single-machine default and the worker set-up run the same flows on the same days."""

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.local_server import local_prefect_server
from flows.monthly_cycle import monthly_cycle
from flows.partner_review import partner_review
from flows.reminders import reminders

TIMEZONE = "Europe/London"
WORK_POOL = "alliance-process"


@dataclass(frozen=True)
class Scheduled:
    name: str
    flow: Flow  # type: ignore[type-arg]
    entrypoint: str
    cron: str
    description: str


SCHEDULED = (
    Scheduled(
        "monthly-cycle",
        monthly_cycle,
        "flows/monthly_cycle.py:monthly_cycle",
        # 09:00 on the 16th: two days after returns are due on the 14th; the run takes the latest period due.
        "0 9 16 * *",
        "Collect, validate, feed back, pay and notify for the latest period whose returns are due.",
    ),
    Scheduled(
        "reminders",
        reminders,
        "flows/reminders.py:reminders",
        "0 8 * * *",  # reminder days and overdue notices are worked out from the date
        "Remind partners before the due date and chase overdue returns (a second run the same day sends nothing).",
    ),
    Scheduled(
        "partner-review",
        partner_review,
        "flows/partner_review.py:partner_review",
        # 09:00 on 20 April: after the contract year (April to March) and its last returns, due 14 April.
        "0 9 20 4 *",
        "The annual review of the worst-performing tenth of the latest contract year; pauses for the board.",
    ),
)


def runner_deployments(workspace: str) -> list[RunnerDeployment]:
    return [
        cast(
            RunnerDeployment,  # to_deployment is sync-compatible: called outside an event loop it returns the value
            s.flow.to_deployment(
                name=s.name,
                schedules=[Cron(s.cron, timezone=TIMEZONE)],
                parameters={"workspace": workspace},
                description=s.description,
            ),
        )
        for s in SCHEDULED
    ]


def serve_all(workspace: str, *, limit: int, port: int) -> None:
    """Run every deployment on its schedule in this process until stopped (the single-machine default).

    Against the Prefect server PREFECT_API_URL names; without one, a server of our own on ``port`` whose
    database is in the workspace's `.prefect/`."""
    if PREFECT_API_URL.value():
        serve(*runner_deployments(workspace), limit=limit)
        return
    with (
        local_prefect_server(Path(workspace) / ".prefect", port) as api_url,
        temporary_settings(updates={PREFECT_API_URL: api_url}),
    ):
        print(f"Prefect server for this workspace: {api_url.removesuffix('/api')} (schedules, runs, the board's forms)")
        serve(*runner_deployments(workspace), limit=limit)
