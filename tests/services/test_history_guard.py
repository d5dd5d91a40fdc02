"""Issue 31, case 4: an emptied or replaced database is not taken for a new one (SQLite and PostgreSQL).

The workspace keeps three traces of what its database recorded: the audit chain's head, the feedback
workbooks and the statements. A database lacking what any one of them shows is refused before anything runs;
the database restored from its backup starts again; a fresh workspace starts as before."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from domain.errors import ConfigError
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps, production_deps
from services.statements import pay_period
from tests.conftest import EXAMPLE
from tests.helpers import return_bytes
from tests.services.payments_helpers import submit

CYCLE_AT = datetime(2026, 11, 16, 9, tzinfo=UTC)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def a_month_filed_and_paid(root: Path, url: str) -> Deps:
    root.mkdir()
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    deps = production_deps(Workspace(root=root, database_url=url), clock=lambda: CYCLE_AT)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    submit(deps, "harbour-trust.xlsx", return_bytes(deps.contract, "harbour-trust"))
    pay_period(deps, Period(2026, 10))
    return deps


def empty(engine: Engine) -> None:
    """What happened in the issue: the database emptied (SQLite: the file truncated to nothing)."""
    engine.dispose()
    if engine.dialect.name == "sqlite":
        assert engine.url.database
        Path(engine.url.database).write_bytes(b"")
        for suffix in ("-wal", "-shm"):
            Path(engine.url.database + suffix).unlink(missing_ok=True)
        return
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def a_fresh_workspace_starts(root: Path, url: str) -> None:
    """With templates made, and a feedback workbook still being written by a cycle that has not committed."""
    root.mkdir()
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    workspace = Workspace(root=root, database_url=url)
    (workspace.templates_dir / "2026-10").mkdir(parents=True)
    (workspace.templates_dir / "2026-10" / "harbour-trust-2026-10.xlsx").write_bytes(b"a template")
    (workspace.feedback_dir / "2026-10").mkdir(parents=True)
    (workspace.feedback_dir / "2026-10" / ".harbour-trust-2026-10-v1-feedback.xlsx.1a2b.partial").write_bytes(b"")
    production_deps(workspace).engine.dispose()


def test_an_emptied_database_is_refused_by_each_trace_of_the_workspace(engine: Engine, tmp_path: Path) -> None:
    a_fresh_workspace_starts(tmp_path / "fresh", url_of(engine))
    deps = a_month_filed_and_paid(tmp_path / "ws", url_of(engine))
    engine.dispose()
    workspace = deps.workspace
    assert workspace.audit_head() is not None
    assert any(workspace.feedback_dir.rglob("*.xlsx")) and any(workspace.statements_dir.rglob("*.xlsx"))
    empty(deps.engine)
    aside = tmp_path / "aside"
    aside.mkdir()
    traces = {
        "head": (workspace.audit_head_file, "its audit log is empty, but .audit-head records entry"),
        "feedback": (workspace.feedback_dir, "it records no return, but out/feedback/2026-10/harbour-trust-2026-10-v1"),
        "statements": (workspace.statements_dir, "it records no payment run, but out/statements/2026-10/v1/"),
    }
    for kept, (_, words) in traces.items():
        for name, (path, _) in traces.items():  # only one trace left in the workspace at a time
            if name != kept and path.exists():
                shutil.move(path, aside / name)
        with pytest.raises(ConfigError) as refused:
            production_deps(workspace)
        message = str(refused.value)
        assert words in message, message
        assert "lacks this workspace's history" in message and "restore it from its backup" in message
        for name, (path, _) in traces.items():
            if (aside / name).exists():
                shutil.move(aside / name, path)


def test_the_database_restored_from_its_backup_starts_again(tmp_path: Path) -> None:
    deps = a_month_filed_and_paid(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'alliance.db'}")
    deps.engine.dispose()
    backup = tmp_path / "backup.db"
    shutil.copy(tmp_path / "ws" / "alliance.db", backup)
    empty(deps.engine)
    with pytest.raises(ConfigError, match="lacks this workspace's history"):
        production_deps(deps.workspace)
    shutil.copy(backup, tmp_path / "ws" / "alliance.db")
    again = production_deps(deps.workspace)
    with session_scope(again.engine) as session:
        assert repo.submission_by_sha(session, sha256=next(iter(submitted(again)))) is not None


def submitted(deps: Deps) -> list[str]:
    return [path.stem for path in deps.workspace.archive.rglob("*.xlsx")]
