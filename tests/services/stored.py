"""Stored submissions and services' deps on the ``engine`` fixture, without reading workbooks."""

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.contract import Contract
from integrations.inbox import open_inbox
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import Submission
from services.deps import Deps, fixed_clock


def deps_on(engine: Engine, contract: Contract, root: Path, at: datetime) -> Deps:
    workspace = Workspace(root=root, database_url=str(engine.url))
    return Deps(
        workspace=workspace, engine=engine, inbox=open_inbox(root / "inbox"), contract=contract, clock=fixed_clock(at)
    )


def store(
    engine: Engine,
    contract: Contract,
    partner_id: str,
    *,
    period: str = "2026-10",
    version: int = 1,
    status: str = "accepted",
    at: datetime,
    on_time: bool = True,
    errors: int = 0,
    filename: str = "return.xlsx",
) -> None:
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        session.add(
            Submission(
                sha256=f"{partner_id}-{period}-{version}".ljust(64, "0"),
                filename=filename,
                stored_path="archive/x",
                received_at=at,
                partner_id=partner_id,
                period=period,
                version=version,
                status=status,
                on_time=on_time,
                row_count=4 if status == "accepted" else 0,
                error_count=errors,
                feedback_path=f"out/feedback/{period}/{partner_id}-{period}-v{version}-feedback.xlsx",
            )
        )
