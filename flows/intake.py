"""Flow `intake`: returns read, validated, fed back and recorded, partners side by side. The monthly cycle runs
it in its own process, or hands one share of the month's files each to several runs of the `intake` deployment,
which workers on other machines pick up (README, "National scale"). Orchestration only."""

import logging
import time
from typing import cast
from uuid import UUID

from prefect import flow, get_client, task, unmapped
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run as current_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from domain.errors import AllianceError, UsageError
from integrations.inbox import InboxFile
from integrations.workspace import Workspace
from models.db import session_scope
from services.deps import Deps, production_deps
from services.intake import (
    CheckedAhead,
    Outcome,
    by_sender,
    check_ahead,
    process_file,
    recorded,
    recorded_outcomes,
    share_out,
)

# Partners' files are processed side by side, each partner's own in the order they arrived (so its
# versions follow that order). Not more at once: the writes queue on the period's lock anyway, and
# Prefect's default pool is unbounded (DESIGN.md section 9). More machines: shares, below.
PARTNERS_AT_ONCE = 4
logger = logging.getLogger(__name__)
# So many partners' first files are checked together, then filed side by side (services.intake.check_ahead): one
# validation for them all, and at most two waves' returns held at once (200 x 5,000: peak RSS 691 MiB, 532 before).
CHECKED_TOGETHER = 20
DEPLOYMENT = "intake/intake"  # flow name / deployment name (flows/deployments.py, prefect.yaml)
# How long a cycle waits for a share to end: no worker polling the pool would otherwise hold it for ever.
# A 200 x 5,000 month takes minutes in one process (README, "National scale").
SHARE_DEADLINE_SECONDS = 4 * 3600
SHARE_POLL_SECONDS = 2.0


class SharesIncomplete(AllianceError):
    """A share of the month's returns was not processed: the files not recorded stay in the inbox."""

    exit_code = 1


@task(cache_policy=NONE)
def collect(deps: Deps) -> list[InboxFile]:
    files = list(deps.inbox.files())
    with session_scope(deps.engine) as session:
        return [f for f in files if recorded(session, f, deps.contract) is None]


# Held in memory only, never persisted: it holds database sessions' findings and the records' lookups.
@task(cache_policy=NONE, persist_result=False, task_run_name="check {label} together")
def check_together(deps: Deps, files: list[InboxFile], label: str) -> CheckedAhead:
    return check_ahead(deps, files)


@task(cache_policy=NONE, task_run_name="process {label}")
def process(deps: Deps, files: list[InboxFile], label: str, ahead: CheckedAhead | None = None) -> list[Outcome]:
    return [process_file(deps, file, ahead=ahead.take(file) if ahead else None) for file in files]


def _checked_together(deps: Deps, wave: list[list[InboxFile]]) -> CheckedAhead | None:
    """Each partner's first file of the wave checked together, while the wave before is filed (its writes queue on
    the period's lock, the checks on nothing). If that fails, the wave's files are checked each in its turn, where a
    failure is its own partner's, after every other partner's files are filed."""
    try:
        return check_together(deps, [group[0] for group in wave], f"{len(wave)} partners' returns")
    except Exception:  # noqa: BLE001 - nothing lost: process_file checks a file it is not given checked
        logger.warning("checking %d partners' returns together failed; each is checked in its turn", len(wave))
        return None


def process_side_by_side(deps: Deps, files: list[InboxFile]) -> list[Outcome]:
    """Every file processed, partners side by side; the outcomes in arrival order. One that fails
    fails the cycle, but only once every other partner's files are processed (none left half done).

    Partners come in waves of ``CHECKED_TOGETHER``: each partner's first file of a wave is checked with the others'
    (one Great Expectations validation for the wave), then the wave is filed side by side while the next is checked."""
    groups = by_sender(files, deps.contract)
    labels = [f"{g[0].sender} ({len(g)} file(s))" if len(groups) > 1 else f"{len(g)} file(s)" for g in groups]
    waves = [groups[start : start + CHECKED_TOGETHER] for start in range(0, len(groups), CHECKED_TOGETHER)]
    futures: list[PrefectFuture[list[Outcome]]] = []
    filing: list[list[PrefectFuture[list[Outcome]]]] = []  # each wave's, as submitted
    for number, wave in enumerate(waves):
        if len(filing) >= 2:
            wait(filing[-2])  # at most two waves' returns held at once; the pool keeps the last wave queued meanwhile
        start = number * CHECKED_TOGETHER
        ahead = _checked_together(deps, wave) if len(groups) > 1 else None  # one group: filed in turn, no batch
        # Quoted: Prefect would otherwise walk every value of every return held ahead (and the contract), once for
        # each task of the wave, looking for futures; at 200 x 5,000 that walk was 6 s of the cycle.
        filing.append(
            process.map(quote(unmapped(deps)), wave, labels[start : start + len(wave)], quote(unmapped(ahead)))
        )
        futures += filing[-1]
    wait(futures)
    position = {id(file): n for n, file in enumerate(files)}
    outcomes: dict[int, Outcome] = {}
    for group, future in zip(groups, futures, strict=True):
        # result() raises a group's failure; the first group's first, once all are done
        outcomes.update(zip((position[id(f)] for f in group), future.result(), strict=True))
    return [outcomes[n] for n in range(len(files))]


@task(cache_policy=NONE)
def start_shares(workspace: str, shares: list[list[str]]) -> list[str]:
    """One `intake` deployment run per share (of file digests), started at once; their flow run ids."""
    parent = current_run.get_id()
    started = []
    for number, files in enumerate(shares, 1):
        try:
            run = cast(  # sync-compatible: called outside an event loop it returns the value
                FlowRun,
                run_deployment(
                    DEPLOYMENT,
                    parameters={"files": files, "workspace": workspace},
                    flow_run_name=f"share {number} of {len(shares)}",
                    # a retried task finds the run it started instead of starting a second
                    idempotency_key=f"{parent}:share:{number}" if parent else None,
                    timeout=0,  # started, not awaited: every share is started before any is waited for
                ),
            )
        except ObjectNotFound as missing:
            raise SharesIncomplete(
                f"the Prefect server has no `{DEPLOYMENT}` deployment to run a share on: deploy it (`prefect deploy "
                '--all`, README "Running it for real") or run the cycle in one process (--shares 1)'
            ) from missing
        started.append(str(run.id))
    return started


@task(cache_policy=NONE)
def wait_for_shares(runs: list[str]) -> list[dict[str, str]]:
    """Each share's run once it has ended, or as it stands at the deadline."""
    deadline = time.monotonic() + SHARE_DEADLINE_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            ended = [client.read_flow_run(UUID(run)) for run in runs]
            if all(r.state and r.state.is_final() for r in ended) or time.monotonic() > deadline:
                break
            time.sleep(SHARE_POLL_SECONDS)
    return [
        {"run": str(r.id), "state": r.state.type.value if r.state else "UNKNOWN", "name": r.state_name or "unknown"}
        for r in ended
    ]


def process_in_shares(deps: Deps, files: list[InboxFile], shares: int) -> list[Outcome]:
    """The files dealt into ``shares`` shares of whole partners, each an `intake` deployment run (on other workers,
    other machines: they share the workspace folder and the database); the outcomes read back from the records.
    Files from outside the partner folders cannot be shared out: they are processed here, all together."""
    if shares < 1:
        raise UsageError(f"a cycle is split into at least one share, not {shares}")
    groups = by_sender(files, deps.contract)
    if shares == 1 or len(groups) <= 1:
        return process_side_by_side(deps, files)
    dealt = share_out(groups, shares)
    workspace = str(deps.workspace.root.resolve())
    ended = wait_for_shares(start_shares(workspace, [[f.sha256 for f in share] for share in dealt]))
    outcomes, missing = recorded_outcomes(deps, files)
    failed = [f"share {n} (run {e['run']}: {e['name']})" for n, e in enumerate(ended, 1) if e["state"] != "COMPLETED"]
    if failed or missing:
        raise SharesIncomplete(
            f"{len(missing)} of {len(files)} file(s) were not processed; they stay in the inbox for the next run"
            + (f"; not completed: {', '.join(failed)}" if failed else "")
            + ". A share still scheduled or running may end later; the next run skips what it recorded."
            + " Is a worker polling the work pool of the `intake` deployment, with room beside the cycle?"
        )
    return outcomes


@flow(
    name="intake",
    validate_parameters=False,
    task_runner=ThreadPoolTaskRunner(max_workers=PARTNERS_AT_ONCE),  # type: ignore[arg-type]
)
def intake(files: list[str], workspace: str | None = None, deps: Deps | None = None) -> dict[str, int]:
    """Process the inbox files with these SHA-256 digests that are not recorded yet (one share of a cycle)."""
    deps = deps or production_deps(Workspace.for_run(workspace))
    wanted = set(files)
    chosen = [f for f in collect(deps) if f.sha256 in wanted]
    counts: dict[str, int] = {}
    for outcome in process_side_by_side(deps, chosen):
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts
