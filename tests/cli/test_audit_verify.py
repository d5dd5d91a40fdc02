"""Issue 31, case 4, on the command line (SQLite and PostgreSQL): `alliance audit verify` notices the newest
entries removed, which the chain alone cannot show, and an emptied audit log stops every command (exit 2)."""

from pathlib import Path

from sqlalchemy import Engine, text

from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import production_deps
from tests.cli.test_cli import alliance, assert_one_clear_line
from tests.conftest import EXAMPLE
from tests.helpers import return_bytes
from tests.services.payments_helpers import submit


def remove_entries(engine: Engine, where: str) -> None:
    """What someone with the database's password does: the guard dropped, entries deleted."""
    on = " ON audit_entry" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        connection.execute(text(f"DROP TRIGGER IF EXISTS audit_entry_no_delete{on}"))
        connection.execute(text(f"DELETE FROM audit_entry {where}"))


def test_verify_notices_the_newest_entries_removed_and_an_emptied_log_stops_every_command(
    engine: Engine, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    (root / ".env").write_text(f"ALLIANCE_DATABASE_URL={engine.url.render_as_string(hide_password=False)}\n")
    deps = production_deps(Workspace.at(root))
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    for partner_id in ("harbour-trust", "city-mind"):
        submit(deps, f"{partner_id}.xlsx", return_bytes(deps.contract, partner_id))
    deps.engine.dispose()
    head = deps.workspace.audit_head()
    assert head is not None
    assert alliance("audit", "verify", cwd=root).returncode == 0

    remove_entries(engine, f"WHERE id = {head[0]}")  # the newest: the chain that is left is well formed
    cut = alliance("audit", "verify", cwd=root)
    assert_one_clear_line(cut, 1, "audit log cut short", f"entry {head[0]}, recorded in the workspace as the head")

    remove_entries(engine, "")
    for command in (("audit", "verify"), ("cycle", "run", "--period", "2026-10"), ("status", "--period", "2026-10")):
        refused = alliance(*command, cwd=root)
        assert_one_clear_line(refused, 2, "lacks this workspace's history", "restore it from its backup")
