"""The scheduled deployments: one table that `alliance serve` runs and `prefect.yaml` mirrors (a test holds
the two together), so the single-machine default and the worker set-up run the same flows on the same days."""

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL, temporary_settings

from domain.errors import UsageError
from flows.intake import intake
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
    cron: str | None  # None: run only when asked (a share of a cycle)
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
    Scheduled(
        "intake",
        intake,
        "flows/intake.py:intake",
        None,  # started by a monthly-cycle run split into shares, one run per share
        "One share of a monthly cycle's returns (read, validate, feed back, record); the cycle pays once all end.",
    ),
)


def runner_deployments(workspace: str, shares: int = 1) -> list[RunnerDeployment]:
    """Every deployment for ``workspace``; the monthly cycle split into ``shares`` `intake` runs when above 1."""
    return [
        cast(
            RunnerDeployment,  # to_deployment is sync-compatible: called outside an event loop it returns the value
            s.flow.to_deployment(
                name=s.name,
                schedules=[Cron(s.cron, timezone=TIMEZONE)] if s.cron else None,
                parameters={"workspace": workspace}
                | ({"shares": shares} if s.flow is monthly_cycle and shares > 1 else {}),
                description=s.description,
            ),
        )
        for s in SCHEDULED
    ]


def serve_all(workspace: str, *, limit: int, port: int, shares: int = 1) -> None:
    """Run every deployment on its schedule in this process until stopped (the single-machine default); each
    run is a process of its own, so a cycle in ``shares`` shares uses that many cores.

    Against the Prefect server PREFECT_API_URL names; without one, a server of our own on ``port`` whose
    database is in the workspace's `.prefect/`."""
    if shares >= limit:
        raise UsageError(
            f"--limit {limit} leaves no room for {shares} share(s) beside the cycle that waits for them: "
            f"use --limit {shares + 1} or more"
        )
    if PREFECT_API_URL.value():
        serve(*runner_deployments(workspace, shares), limit=limit)
        return
    with (
        local_prefect_server(Path(workspace) / ".prefect", port) as api_url,
        temporary_settings(updates={PREFECT_API_URL: api_url}),
    ):
        print(f"Prefect server for this workspace: {api_url.removesuffix('/api')} (schedules, runs, the board's forms)")
        serve(*runner_deployments(workspace, shares), limit=limit)
