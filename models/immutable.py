"""Tables whose rows are never updated or deleted, enforced by the database itself."""

from typing import Any

IMMUTABLE_MESSAGE = "history is append-only: rows of this table are never updated or deleted"


def forbid_changes(op: Any, tables: tuple[str, ...]) -> None:
    """Triggers refusing UPDATE and DELETE on ``tables`` (SQLite and PostgreSQL); ``op`` is Alembic's."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION alliance_forbid_change() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '%: {IMMUTABLE_MESSAGE}', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            if dialect == "sqlite":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table}: {IMMUTABLE_MESSAGE}'); END"
                )
            elif dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION alliance_forbid_change()"
                )


def allow_changes(op: Any, tables: tuple[str, ...]) -> None:
    for table in tables:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if _pg(op) else ""))


def _pg(op: Any) -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")
