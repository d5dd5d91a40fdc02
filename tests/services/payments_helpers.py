"""Shared by the payment tests: a workspace whose contract needs officer approval, and submitting."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integrations.inbox import read_file
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import PaymentLine, PaymentRun
from services.deps import Deps, production_deps
from services.intake import Outcome, process_file
from tests.helpers import named_partner

ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 10, tzinfo=UTC)


def with_approval(workspace: Workspace, clock: datetime) -> Deps:
    path = Path(workspace.root) / "alliance.yaml"
    path.write_text(path.read_text().replace("require_officer_approval: false", "require_officer_approval: true"))
    deps = production_deps(workspace, clock=lambda: clock)
    assert deps.contract.payments.require_officer_approval
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def submit(deps: Deps, name: str, content: bytes, at: datetime = ON_TIME) -> Outcome:
    path = Path(deps.workspace.root) / name
    path.write_bytes(content)
    return process_file(deps, read_file(path, received_at=at, sender=named_partner(content)))


def frozen_rows(deps: Deps, run_id: int) -> list[dict[str, Any]]:
    """A run and its lines exactly as stored, for byte-for-byte comparisons."""
    with session_scope(deps.engine) as session:
        run = session.get(PaymentRun, run_id)
        assert run is not None
        lines: list[PaymentLine] = repo.lines_of(session, run_id=run_id)
        return [run.model_dump(), *(line.model_dump() for line in lines)]
