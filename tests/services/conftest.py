from datetime import UTC, datetime

import pytest

from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps, production_deps

CYCLE_AT = datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.fixture
def deps(workspace: Workspace) -> Deps:
    """Services on the workspace's SQLite database, partners synced, the clock at the October cycle."""
    deps = production_deps(workspace, clock=lambda: CYCLE_AT)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps
