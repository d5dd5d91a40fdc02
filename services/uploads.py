"""Returns uploaded in the portal: placed in the partner's inbox folder, then filed exactly as an inbox file is.

The upload is first streamed to the workspace's ``.uploads/`` (web/ counts the bytes and stops at the limit),
then moved into ``inbox/<partner>/`` under a name made from the time and its SHA-256 (never the partner's
file name alone), and recorded as a :class:`PortalUpload` that is being checked. Checking is
``services.intake.process_file``: archived by SHA-256, versioned, every layer of checks, the feedback workbook,
the records and the partner's messages, with the signed-in partner as its sender. A file whose checking was
cut short (the process stopped) is still in the inbox: the next cycle files it, or the portal when it starts.
"""

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import fsspec
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import col, select

from domain.access import Principal, authorise
from domain.errors import AllianceError, NotFound, UsageError
from domain.findings import Finding, ordered
from integrations.inbox import MAX_FILE_BYTES, InboxFile
from models import repo
from models.db import read_scope, session_scope
from models.portal_tables import PortalUpload
from services.deps import Deps
from services.intake import process_file
from services.portal import NOT_FOUND, own_partner, shown_from
from services.self_check import SelfCheck, self_check

UPLOAD_LIMIT = MAX_FILE_BYTES  # the reader refuses anything larger anyway
NAME_LIMIT = 100  # characters of the partner's file name kept, and at most NAME_BYTES bytes of it in UTF-8
NAME_BYTES = 150


class UploadBusy(AllianceError):
    """The partner's previous upload is still being checked."""

    exit_code = 2


@dataclass(frozen=True)
class Staged:
    """An upload received whole: where it was streamed, what the partner called it, its size and digest."""

    path: Path
    filename: str
    size: int
    sha256: str


def clean_filename(name: str) -> str:
    """The partner's file name as shown and kept: its last path part, without control or direction characters
    (U+202E would show ``xlsx.exe`` as ``exe.xlsx``), spaces collapsed, at most NAME_LIMIT characters."""
    last = re.split(r"[\\/]", name or "")[-1]
    kept = "".join(" " if ch.isspace() else ch for ch in last if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    kept = " ".join(kept.split()).lstrip(".-")
    stem, dot, suffix = kept.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = kept, ""
    while stem and (len(stem) + len(suffix) + 1 > NAME_LIMIT or len(f"{stem}.{suffix}".encode()) > NAME_BYTES):
        stem = stem[:-1]
    kept = (f"{stem.rstrip()}.{suffix}" if suffix else stem.rstrip()) if stem else kept[:0]
    return kept or "return.xlsx"


def staging_folder(deps: Deps) -> Path:
    folder = deps.workspace.uploads
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    return folder


def receive(deps: Deps, principal: Principal, staged: Staged) -> PortalUpload:
    """Put a partner's upload in its inbox folder and record it as being checked (web/ then checks it)."""
    partner = own_partner(deps, principal, "portal submit")
    try:
        if staged.size == 0:
            raise UsageError("The selected file is empty. Choose your saved return and upload it again")
        now = deps.clock()
        stored_name = f"{now:%Y%m%dT%H%M%S}-{staged.sha256[:8]}-{_ascii(staged.filename)}"
        target = _inbox_target(deps, partner.id, stored_name)
        try:
            with session_scope(deps.engine) as session:
                repo.sync_partners(session, contract=deps.contract)
                if principal.account_id is None:
                    raise UsageError("returns are uploaded by a signed-in partner's account")
                upload = PortalUpload(
                    partner_id=partner.id,
                    account_id=principal.account_id,
                    filename=staged.filename,
                    inbox_path=target,
                    sha256=staged.sha256,
                    size_bytes=staged.size,
                    received_at=now,
                )
                session.add(upload)
                session.flush()  # the one-being-checked index refuses a second now, before any file moves
                _place(staged.path, target)
        except DatabaseIntegrityError:
            raise UploadBusy(
                "Your previous return is still being checked. Wait for its result (it takes seconds), then upload "
                "again if you need to"
            ) from None
        return upload
    finally:
        staged.path.unlink(missing_ok=True)


def _ascii(name: str) -> str:
    """A stored name's tail: the partner's name in safe characters, short (the name shown is kept separately)."""
    stem, dot, suffix = name.rpartition(".")
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem if dot else name).strip("_-")[:50] or "return"
    ending = re.sub(r"[^A-Za-z0-9]+", "", suffix)[:10] if dot else ""
    return f"{safe}.{ending}" if ending else safe


def _inbox_target(deps: Deps, partner_id: str, name: str) -> str:
    location = deps.workspace.inbox_location
    if "://" in location and not location.startswith("file://"):
        return f"{location.rstrip('/')}/{partner_id}/{name}"
    folder = Path(location.removeprefix("file://")) / partner_id
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


def _place(staged: Path, target: str) -> None:
    if "://" in target:
        with staged.open("rb") as source, fsspec.open(target, "wb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                sink.write(block)
        return
    try:
        os.replace(staged, target)
    except OSError:  # another file system: copy, then the staged file is removed by the caller
        with staged.open("rb") as source, open(target, "wb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                sink.write(block)


IN_PROGRESS = ("checking", "checked")  # checked: the findings are known, the version is being recorded


def check(deps: Deps, upload_id: int, changed: Callable[[], None] = lambda: None) -> PortalUpload:
    """File one upload through the intake path; what became of it is recorded on the upload (its findings as soon
    as they are known, then the version they were recorded with). ``changed`` is told each time its state moves."""
    with read_scope(deps.engine) as session:
        upload = session.get(PortalUpload, upload_id)
    if upload is None or upload.state not in IN_PROGRESS:
        raise NotFound(NOT_FOUND)

    def checked(findings: list[Finding]) -> None:
        shown = [asdict(f) for f in shown_from(ordered(findings))]
        with session_scope(deps.engine) as session:
            session.execute(
                update(PortalUpload)
                .where(col(PortalUpload.id) == upload_id, col(PortalUpload.state) == "checking")
                .values(state="checked", findings=json.dumps(shown))
            )
        changed()

    outcome, submission_id, problem = None, None, None
    try:
        content = _read(upload.inbox_path)
        if hashlib.sha256(content).hexdigest() != upload.sha256:
            raise UsageError("the file in the inbox is not the one uploaded")
        result = process_file(
            deps,
            InboxFile(
                name=upload.filename,
                path=upload.inbox_path,
                received_at=upload.received_at,
                size=len(content),
                sha256=upload.sha256,
                content=content,
                sender=upload.partner_id,
            ),
            on_checked=checked,
        )
        outcome, submission_id = result.status, result.submission_id
    except Exception as exc:  # noqa: BLE001 (recorded on the upload; the file waits in the inbox for the cycle)
        problem = f"{type(exc).__name__}: {exc}"[:500] if not isinstance(exc, AllianceError) else str(exc)[:500]
    with session_scope(deps.engine) as session:
        fresh = session.get(PortalUpload, upload_id)
        assert fresh is not None
        if fresh.state not in IN_PROGRESS:  # checked by another process meanwhile (one restarting): the first holds
            return fresh
        fresh.state = "done" if problem is None else "failed"
        fresh.busy, fresh.outcome, fresh.submission_id, fresh.problem = None, outcome, submission_id, problem
        fresh.finished_at = deps.clock()
        session.add(fresh)
    changed()
    return fresh


def _read(location: str) -> bytes:
    if "://" in location:
        with fsspec.open(location, "rb") as handle:
            return bytes(handle.read())
    return Path(location).read_bytes()


def upload_of(deps: Deps, principal: Principal, upload_id: int) -> PortalUpload:
    partner = own_partner(deps, principal, "portal returns")
    with read_scope(deps.engine) as session:
        upload = session.get(PortalUpload, upload_id)
    if upload is None or upload.partner_id != partner.id:
        raise NotFound(NOT_FOUND)
    return upload


def being_checked(deps: Deps, principal: Principal) -> list[PortalUpload]:
    partner = own_partner(deps, principal, "portal returns")
    with read_scope(deps.engine) as session:
        query = select(PortalUpload).where(
            PortalUpload.partner_id == partner.id, col(PortalUpload.state).in_(IN_PROGRESS)
        )
        return list(session.exec(query.order_by(col(PortalUpload.id))))


def unfinished(deps: Deps) -> list[int]:
    """Uploads left being checked (a process stopped): checked again when the portal starts."""
    with read_scope(deps.engine) as session:
        query = select(PortalUpload.id).where(col(PortalUpload.state).in_(IN_PROGRESS)).order_by(col(PortalUpload.id))
        return [i for i in session.exec(query) if i is not None]


def warm_up(deps: Deps) -> None:
    """Check an empty template once, recorded nowhere: the first partner to upload after the portal starts does not
    pay for the checks' first run (building the Great Expectations context takes seconds once per process)."""
    from io import BytesIO

    from domain.periods import Period, london_date
    from integrations.spreadsheets.templates import build_template
    from services.intake import check_file

    partner = deps.contract.partners[0]
    today = london_date(deps.clock())
    period = max(Period(today.year, today.month), deps.contract.alliance.start)
    buffer = BytesIO()
    build_template(deps.contract, partner, period, portal_url=deps.workspace.base_url).save(buffer)
    content = buffer.getvalue()
    sha = hashlib.sha256(content).hexdigest()
    check_file(InboxFile("warm-up.xlsx", "warm-up", deps.clock(), len(content), sha, content), deps.contract)


def check_only(deps: Deps, principal: Principal, staged: Staged) -> SelfCheck:
    """The checks of `alliance validate` on an upload, recorded nowhere; the upload is deleted after."""
    authorise(principal, "validate")
    try:
        if staged.size == 0:
            raise UsageError("The selected file is empty. Choose your saved return and check it again")
        sender = next(iter(principal.partner_ids)) if len(principal.partner_ids) == 1 else None
        file = InboxFile(
            name=staged.filename,
            path=staged.filename,
            received_at=deps.clock(),
            size=staged.size,
            sha256=staged.sha256,
            content=staged.path.read_bytes(),
            sender=sender,
        )
        return self_check(file, deps.contract, principal)
    finally:
        staged.path.unlink(missing_ok=True)
