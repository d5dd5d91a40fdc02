"""The relay step every flow ends with: deliver the outbox to Slack (a no-op without a token)."""

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from services.deps import Deps
from services.notifications import DeliveryReport, deliver_notifications


@task(cache_policy=NONE)
def deliver(deps: Deps) -> DeliveryReport:
    report = deliver_notifications(deps)
    get_run_logger().info("Slack: %s", report.summary())
    return report
