"""Issue 31, case 14: a database or an output path the command cannot use is a usage error: exit 2, one line, never
"internal error" (exit 3)."""

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from integrations.workspace import Workspace
from models.db import ensure_schema, make_engine
from tests.cli.test_cli import alliance, assert_one_clear_line


def _execute(workspace: Workspace, statement: str) -> None:
    engine = make_engine(workspace.database_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def newer_revision(workspace: Workspace) -> None:
    _execute(workspace, "UPDATE alembic_version SET version_num = '0099'")


def dropped_table(workspace: Workspace) -> None:
    _execute(workspace, "DROP TABLE payment_line")


def malformed_file(workspace: Workspace) -> None:
    (workspace.root / "alliance.db").write_bytes(b"SQLite format 3\x00" + b"not really" * 100)


def bogus_url(workspace: Workspace) -> None:
    (workspace.root / ".env").write_text("ALLIANCE_DATABASE_URL=bogus://me:secret@host/db\n")


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        (newer_revision, ["made by a newer version of alliance (schema revision 0099", "upgrade alliance"]),
        (dropped_table, ["table payment_line is missing", "restore it from a backup"]),
        (malformed_file, ["cannot read the database", "restore it from a backup"]),
        (bogus_url, ["is not one alliance can use", "ALLIANCE_DATABASE_URL"]),
    ],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["payments", "show", "--period", "2026-10"]])
def test_a_database_this_version_cannot_use_is_one_line_and_exit_2(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Workspace], None],
    fragments: list[str],
    command: list[str],
) -> None:
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    damage(workspace)
    result = alliance(*command, cwd=workspace.root)
    assert_one_clear_line(result, 2, *fragments)
    assert "internal error" not in result.stderr and "secret" not in result.stderr


def test_an_export_into_a_folder_that_does_not_exist_is_one_line_and_exit_2(workspace: Workspace) -> None:
    assert alliance("cycle", "run", "--period", "2026-10", cwd=workspace.root).returncode == 0
    out = workspace.root / "no-such-folder" / "october.csv"
    result = alliance("payments", "export", "--period", "2026-10", "--out", str(out), cwd=workspace.root)
    assert_one_clear_line(result, 2, f"cannot write {out}", "folder that exists")
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ("UPDATE alembic_version SET version_num = '0099'", "made by a newer version of alliance"),
        ("DROP TABLE payment_line", "table payment_line is missing"),
    ],
)
def test_the_same_on_either_database(
    engine: Engine, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, statement: str, fragment: str
) -> None:
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    (workspace.root / ".env").write_text(f"ALLIANCE_DATABASE_URL={engine.url.render_as_string(hide_password=False)}\n")
    with engine.begin() as connection:
        connection.execute(text(statement))
    assert_one_clear_line(alliance("payments", "show", "--period", "2026-10", cwd=workspace.root), 2, fragment)
