"""Issue 31, case 7, in the portal: alliance.yaml read again after an edit keeps the database's record of roles."""

import os
from pathlib import Path

from sqlalchemy import Engine

from integrations.workspace import Workspace
from services.deps import production_deps
from tests.conftest import EXAMPLE
from web.app import DepsSource

ROLES = 'roles:\n  officers: ["Olive Officer"]\n  board: ["Sam Chair"]\n'


def test_the_contract_read_again_keeps_the_roles_the_database_records(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "alliance.yaml").write_text(EXAMPLE.read_text() + ROLES)
    workspace = Workspace(root=tmp_path, database_url=engine.url.render_as_string(hide_password=False))
    source = DepsSource(production_deps(workspace))
    recorded = source().contract.roles
    assert recorded is not None and recorded.board == ["Sam Chair"]

    workspace.contract_path.write_text(EXAMPLE.read_text().replace("Northfield", "North Field"))  # roles gone
    stat = workspace.contract_path.stat()
    os.utime(workspace.contract_path, (stat.st_atime, stat.st_mtime + 5))
    reread = source().contract
    assert "North Field" in reread.alliance.name  # the edit is read...
    assert reread.roles == recorded  # ...but not the roles: those are the database's
