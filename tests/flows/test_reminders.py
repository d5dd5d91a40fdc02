import json
from datetime import UTC, datetime

from domain.periods import LONDON
from flows.reminders import reminders
from integrations.inbox import read_file
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps, production_deps
from services.intake import process_file
from tests.helpers import named_partner, return_bytes

ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)
A_WEEK_OVERDUE = datetime(2026, 11, 22, 8, tzinfo=LONDON)  # October's returns were due 14/11/2026


def submit(deps: Deps, name: str, content: bytes) -> str:
    path = deps.workspace.root / name
    path.write_bytes(content)
    return process_file(deps, read_file(path, received_at=ON_TIME, sender=named_partner(content))).status


def test_the_daily_run_chases_overdue_partners_once(workspace: Workspace) -> None:
    deps = production_deps(workspace, clock=lambda: A_WEEK_OVERDUE)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    assert submit(deps, "harbour.xlsx", return_bytes(deps.contract)) == "accepted"
    assert submit(deps, "city.xlsx", return_bytes(deps.contract, "city-mind", rows=[], summary=None)) == "rejected"

    first = reminders(deps=deps)
    again = reminders(deps=deps)

    assert first.counts() == {"reminder_overdue": 2, "overdue_summary": 1}
    assert again.counts() == {} and again.repeats == 3
    with session_scope(deps.engine) as session:
        notes = repo.notifications(session)
        sent = {n.channel: n.text for n in notes if n.kind not in ("return_processed", "template_issued")}
        templates = sorted((n.channel, json.loads(n.payload)["period"]) for n in notes if n.kind == "template_issued")
    assert set(sent) == {"#city-mind", "#northfield-works", "#alliance-officers"}
    # The month begun is each partner's template, once, however often the daily run comes.
    assert templates == sorted((p.slack_channel, "2026-11") for p in deps.contract.partners)
    assert "`city-mind-2026-10-v1-feedback.xlsx`" in sent["#city-mind"]
    assert "8 day(s) overdue" in sent["#northfield-works"]
