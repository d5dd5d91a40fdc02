"""Flow `reminders`: daily, remind partners before the due date and chase overdue returns."""

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.delivery import deliver
from integrations.workspace import Workspace
from services.deps import Deps, production_deps
from services.reminders import ReminderReport, send_reminders
from services.template_issue import send_templates


@task(cache_policy=NONE)
def remind(deps: Deps) -> ReminderReport:
    return send_reminders(deps)


@task(cache_policy=NONE)
def templates(deps: Deps) -> list[str]:
    return [partner_id for partner_id, new in send_templates(deps) if new]


@flow(name="reminders", validate_parameters=False)
def reminders(workspace: str | None = None, deps: Deps | None = None) -> ReminderReport:
    deps = deps or production_deps(Workspace.for_run(workspace))
    report = remind(deps)
    sent = templates(deps)
    if sent:
        get_run_logger().info("this month's template sent to %s", ", ".join(sent))
    get_run_logger().info(
        "%s: looked at %s; queued %s; %d already queued today",
        report.day.isoformat(),
        ", ".join(report.periods) or "no period",
        report.counts() or "nothing new",
        report.repeats,
    )
    deliver(deps)
    return report
