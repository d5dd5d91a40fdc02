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
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError
from sqlmodel import Session, SQLModel

import models.portal_tables  # noqa: F401  (the portal's tables, on SQLModel.metadata: check_database wants them all)
import models.tables  # noqa: F401
from domain.errors import ConfigError, IntegrityError
from models.rules import RULE_MESSAGES

MIGRATIONS = Path(__file__).parent / "migrations"


URL_FORMS = "sqlite:///path/to/alliance.db or postgresql+psycopg://user@host/name"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a URL that names no database alliance can use is refused in words (never printed
    whole: it may hold a password)."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_begin_immediate)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except ArgumentError:  # not a URL, or an unknown dialect (NoSuchModuleError)
        seen = f"{url.split('://', 1)[0]}://..." if "://" in url else "not a URL"
        raise ConfigError(
            f"the database URL ({seen}) is not one alliance can use: set ALLIANCE_DATABASE_URL to {URL_FORMS}"
        ) from None
    except ImportError as exc:  # a dialect whose driver is not installed (postgresql:// wants psycopg2)
        raise ConfigError(
            f"the database URL names a driver that is not installed ({exc.name}): write it as {URL_FORMS}"
        ) from None


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
    """Bring the schema to the newest migration (a no-op when it is already there); refused, in words, for a database
    this version cannot use (schema.check_database)."""
    with _opening(engine):
        check_database(engine, tables=False)
    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise ConfigError(f"cannot reach the database: {exc.orig}") from None
    with _opening(engine):
        check_database(engine)


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def ensure_schema(engine: Engine) -> None:
    """Migrations run automatically on first use; a database this version cannot use is refused in words."""
    with _opening(engine):
        current = is_current(engine)
    if not current:
        upgrade(engine)
    else:
        with _opening(engine):
            check_database(engine)


def check_database(engine: Engine, *, tables: bool = True) -> None:
    """Refuse a database made by a newer alliance (a revision no migration here knows), and, with ``tables``, one
    at the newest revision that lacks a table (dropped by hand, or a damaged file): upgrading cannot mend either."""
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        names = set(inspect(connection).get_table_names()) if tables else set()
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise ConfigError(
            f"the database {_where(engine)} was made by a newer version of alliance (schema revision {revision}; "
            f"this one knows up to {scripts.get_current_head()}): upgrade alliance"
        )
    missing = sorted(set(SQLModel.metadata.tables) - names) if tables and revision is not None else []
    if missing:
        raise ConfigError(
            f"table {missing[0]} is missing from the database {_where(engine)}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            + ": the database is damaged; restore it from a backup"
        )


@contextmanager
def _opening(engine: Engine) -> Iterator[None]:
    """A database that cannot be reached or read is the caller's to mend: one line, no driver's traceback."""
    try:
        yield
    except OperationalError as exc:
        raise ConfigError(f"cannot open the database {_where(engine)}: {_first_line(exc)}") from None
    except DatabaseError as exc:  # SQLite: "file is not a database"
        raise ConfigError(
            f"cannot read the database {_where(engine)} ({_first_line(exc)}): it is not an alliance database "
            "or it is damaged; restore it from a backup, or point ALLIANCE_DATABASE_URL at the right one"
        ) from None


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig).strip() if exc.orig is not None else ""
    return text.splitlines()[0] if text else type(exc).__name__


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
