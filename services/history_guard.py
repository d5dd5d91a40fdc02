"""A database that lacks the history its workspace holds is refused before anything runs on it.

An emptied or replaced ``alliance.db`` looks like a new alliance: the next cycle would file every inbox file
again, post the months' first payment runs again and queue the statements again. The workspace keeps three
traces of what its database recorded, each written only after the record was committed: the audit chain's
head (``.audit-head``), the feedback workbooks (``out/feedback``) and the statements (``out/statements``). A
database holding none of what one of them shows is refused. It is cheap: the first file found is enough, and the
database is asked three one-row questions. A database restored from an older backup is not empty, so it starts
(``alliance audit verify`` then says which entries it lacks); a fresh workspace has none of the three.
"""

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from domain.errors import ConfigError
from integrations.workspace import Workspace
from models.audit import chain_is_empty
from models.db import read_scope
from models.tables import PaymentRun, Submission


def refuse_without_history(workspace: Workspace, engine: Engine) -> None:
    # The files first, then the database: a file was put in place after its record was committed, so the
    # database read next holds that record even while another process is filing (no false alarm in a race).
    head = workspace.audit_head()
    feedback = first_file(workspace.feedback_dir)
    statement = first_file(workspace.statements_dir)
    if head is None and feedback is None and statement is None:
        return  # a fresh workspace (or one that has recorded nothing yet)
    with read_scope(engine) as session:
        lacking = []
        if head is not None and chain_is_empty(session):
            lacking.append(f"its audit log is empty, but {workspace.audit_head_file.name} records entry {head[0]}")
        if feedback is not None and session.exec(select(Submission.id).limit(1)).first() is None:
            lacking.append(f"it records no return, but {_shown(workspace, feedback)} is feedback on one")
        if statement is not None and session.exec(select(PaymentRun.id).limit(1)).first() is None:
            lacking.append(f"it records no payment run, but {_shown(workspace, statement)} is a statement of one")
    if lacking:
        raise ConfigError(
            f"the database ({_database(engine)}) lacks this workspace's history: {lacking[0]}. It was emptied or "
            "replaced: restore it from its backup, or start a new alliance in a new workspace folder"
        )


def first_file(folder: Path) -> Path | None:
    """Any one finished file below ``folder`` (a name starting with a dot is a partial one, being written)."""
    for here, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            if not name.startswith("."):
                return Path(here) / name
    return None


def _shown(workspace: Workspace, path: Path) -> str:
    return str(path.relative_to(workspace.root)) if path.is_relative_to(workspace.root) else str(path)


def _database(engine: Engine) -> str:
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)
