"""Engine, sessions and schema migrations.

SQLite runs in WAL mode and every transaction starts with BEGIN IMMEDIATE, so concurrent
writers queue on the busy timeout instead of failing with "database is locked".
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from domain.errors import ConfigError, IntegrityError
from models.rules import RULE_MESSAGES

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


READ_ONLY = "alliance_read_only"  # an execution option: this transaction only reads


def _sqlite_begin_immediate(connection: Any) -> None:
    # A reader does not queue behind writers (WAL lets it read while one writes); every writer takes the lock first.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is already there)."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise ConfigError(f"cannot reach the database: {exc.orig}") from None


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def ensure_schema(engine: Engine) -> None:
    """Migrations run automatically on first use."""
    try:
        current = is_current(engine)
    except OperationalError as exc:
        raise ConfigError(f"cannot open the database: {exc.orig}") from None
    if not current:
        upgrade(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises.

    A write refused by one of the database's own rules (models/rules.py, models/immutable.py)
    comes out as ``domain.errors.IntegrityError`` with the rule's message, not a driver error."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except DBAPIError as exc:
        message = rule_refusal(exc)
        if message is None:
            raise
        raise IntegrityError(message) from exc


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A transaction that only reads: on SQLite it does not wait for a writer's lock (a page shown while a return is
    being recorded); a write in it is a mistake (SQLite would refuse it while another writer holds the lock)."""
    with Session(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False) as session, session.begin():
        yield session


def rule_refusal(exc: DBAPIError) -> str | None:
    """The message of a database rule that refused a write, or None for any other database error."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else ""
    text = text.removeprefix("ERROR:").strip()
    return text if any(rule in text for rule in RULE_MESSAGES) else None
