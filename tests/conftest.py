import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from domain.contract import Contract
from integrations.workspace import Workspace, load_contract
from models.db import ensure_schema, make_engine
from services.collector import collect_less_often

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CONTRACT = REPO / "alliance.yaml"
# The example contract as most tests take it: runs final when made. The example itself needs an officer's approval
# (as every contract that does not say otherwise); tests of approval turn it back on (payments_helpers.with_approval).
EXAMPLE = Path(tempfile.mkdtemp(prefix="alliance-example-")) / "alliance.yaml"
EXAMPLE.write_text(
    EXAMPLE_CONTRACT.read_text().replace("require_officer_approval: true", "require_officer_approval: false")
)
# CI's profile tries 10,000 examples per property (money must hold for every split, not most).
settings.register_profile("ci", max_examples=10_000, deadline=None)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("ALLIANCE_REQUIRE_SERVICES") == "1" else "dev")
)

# Tests file returns as the system does, with its collector setting (services/collector.py).
collect_less_often()

PG_ADMIN_URL = os.environ.get("ALLIANCE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def require_or_skip(reason: str) -> None:
    """A missing service skips the test, except in CI where it must fail."""
    if os.environ.get("ALLIANCE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture
def contract() -> Contract:
    return load_contract(EXAMPLE)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    (tmp_path / "alliance.yaml").write_text(EXAMPLE.read_text())
    return Workspace(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'alliance.db'}")


def _postgres_engine() -> Iterator[Engine]:
    from sqlalchemy import create_engine, text

    name = f"alliance_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        require_or_skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The application database, migrated, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        sqlite = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
        ensure_schema(sqlite)
        yield sqlite
        sqlite.dispose()
    else:
        for pg in _postgres_engine():
            ensure_schema(pg)
            yield pg
