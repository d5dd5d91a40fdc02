"""Who holds which role is the database's own record, not whichever alliance.yaml a command was pointed at.

A contract's ``roles:`` is recorded in the audit chain (an entry ``roles.recorded`` that holds them) the first time
its database meets it; from then on the newest record is in force for the command line, the flows and the
portal, whatever contract a caller names with ``--workspace`` while ``ALLIANCE_DATABASE_URL`` names the real
database. Roles edited in alliance.yaml are recorded by an officer of the roles in force (any command they run,
cli/common.py); until then everyone works under the record. A database that never met ``roles:`` has one operator
who does everything (a new workspace, the demo), as before.
"""

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.contract import Roles
from models.audit import append_audit, serialise_appends
from models.db import read_scope, session_scope
from models.tables import AuditEntry

RECORDED = "roles.recorded"


def _dump(roles: Roles | None) -> object:
    return roles.model_dump(mode="json") if roles is not None else None


def same(one: Roles | None, other: Roles | None) -> bool:
    return _dump(one) == _dump(other)


def recorded(session: Session) -> tuple[bool, Roles | None]:
    """(whether the database holds a record of roles, the roles it records: None for one operator)."""
    query = select(AuditEntry).where(col(AuditEntry.action) == RECORDED).order_by(col(AuditEntry.id).desc())
    entry = session.exec(query.limit(1)).first()
    if entry is None:
        return False, None
    held = json.loads(entry.detail).get("roles")
    return True, Roles.model_validate(held) if held is not None else None


def roles_in_force(engine: Engine, contract_roles: Roles | None, clock: Callable[[], datetime]) -> Roles | None:
    """The database's record; the contract's roles, recorded now, when the database has none yet."""
    with read_scope(engine) as session:
        found, roles = recorded(session)
    if found or contract_roles is None:
        return roles
    with session_scope(engine) as session:
        serialise_appends(session)  # two first commands at once record the roles once
        found, roles = recorded(session)
        if found:
            return roles
        _record(session, contract_roles, by="alliance.yaml (the first roles this database met)", at=clock())
    return contract_roles


def record(engine: Engine, roles: Roles | None, *, by: str, at: datetime) -> None:
    """Record ``roles`` as those in force (an officer of the roles in force has applied alliance.yaml's)."""
    with session_scope(engine) as session:
        serialise_appends(session)
        _record(session, roles, by=by, at=at)


def _record(session: Session, roles: Roles | None, *, by: str, at: datetime) -> None:
    append_audit(session, at=at, actor=by, action=RECORDED, subject="roles", detail={"roles": _dump(roles)})
