"""Processing one file from the inbox: read, validate, feed back, store, notify."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.contract import Contract
from domain.findings import Finding, ordered
from domain.periods import LONDON, due_at
from expectations.returns import ValidatedReturn, validate_return
from integrations.inbox import MAX_FILE_BYTES, InboxFile
from integrations.spreadsheets.feedback import write_feedback
from integrations.spreadsheets.reader import read_return
from models import repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import Submission
from services import messages
from services.deps import Deps


@dataclass(frozen=True)
class Outcome:
    """What happened to one inbox file."""

    filename: str
    status: str  # accepted | rejected | unreadable | duplicate
    partner_id: str | None
    period: str | None
    version: int | None
    findings: list[Finding]
    feedback_path: str | None
    submission_id: int | None


def check_file(file: InboxFile, contract: Contract) -> tuple[ValidatedReturn | None, list[Finding]]:
    """Read and validate a file without touching the database (the offline self-check too)."""
    if file.content is None:
        too_large = Finding("FILE_TOO_LARGE", params={"filename": file.name, "detail": f"{MAX_FILE_BYTES:,} bytes"})
        return None, [too_large]
    result = read_return(file.name, file.content)
    if result.raw is None:
        return None, result.findings
    validated = validate_return(result.raw, contract)
    return validated, ordered(result.findings + validated.findings)


def process_file(deps: Deps, file: InboxFile) -> Outcome:
    contract = deps.contract
    with session_scope(deps.engine) as session:
        known = repo.submission_by_sha(session, sha256=file.sha256)
        if known is not None:
            return Outcome(file.name, "duplicate", known.partner_id, known.period, known.version, [], None, known.id)

    validated, findings = check_file(file, contract)
    partner = validated.partner if validated else None
    period = validated.period if validated else None
    late = False
    if partner and period:
        due = due_at(period, contract.deadlines.due_day)
        late = file.received_at > due
        if late:
            findings = ordered(
                [*findings, Finding("RETURN_LATE", value=_london(file.received_at), params={"expected": _london(due)})]
            )
    # A file is filed under a partner and period only when both are known.
    partner_id = partner.id if partner and period else None
    period_id = str(period) if partner and period else None
    accepted = bool(validated and validated.accepted)
    status = "accepted" if accepted else ("rejected" if partner_id else "unreadable")
    now = deps.clock()

    with session_scope(deps.engine) as session:
        version = (
            repo.next_version(session, partner_id=partner_id, period=period_id) if partner_id and period_id else None
        )
        feedback = _feedback_path(deps, file, period_id, partner_id, version)
        write_feedback(
            feedback,
            partner_name=partner.name if partner else "Unidentified file",
            period=str(period) if period else "unknown period",
            version=version,
            filename=file.name,
            status=status,
            findings=findings,
        )
        if period_id is not None:
            repo.ensure_period(session, period=period_id)
        submission = repo.add_submission(
            session,
            submission=Submission(
                sha256=file.sha256,
                filename=file.name,
                stored_path=file.path,
                received_at=file.received_at,
                partner_id=partner_id,
                period=period_id,
                version=version,
                status=status,
                on_time=(not late) if partner_id else None,
                feedback_path=str(feedback),
                processed_at=now,
            ),
            findings=findings,
            rows=validated.rows if (validated and accepted) else [],
        )
        if partner and period_id and version:
            repo.enqueue(
                session,
                dedup_key=f"return-processed:{submission.id}",
                channel=partner.slack_channel,
                partner_id=partner.id,
                kind="return_processed",
                at=now,
                text=messages.return_processed(
                    partner_name=partner.name,
                    period=str(period),
                    version=version,
                    filename=file.name,
                    status=status,
                    findings=findings,
                    late=late,
                ),
                payload={"submission_id": submission.id, "feedback": str(feedback)},
            )
        else:
            repo.enqueue(
                session,
                dedup_key=f"unidentified-file:{submission.id}",
                channel=contract.alliance.officers_channel,
                kind="unidentified_file",
                at=now,
                text=messages.unidentified_file(filename=file.name, findings=findings),
                payload={"submission_id": submission.id},
            )
        append_audit(
            session,
            at=now,
            actor="monthly-cycle",
            action=f"submission.{status}",
            subject=f"{partner.id if partner else 'unknown'}/{period or 'unknown'}/v{version or '-'}",
            detail={"sha256": file.sha256, "file": file.name, "errors": submission.error_count},
        )
        return Outcome(
            file.name, status, submission.partner_id, submission.period, version, findings, str(feedback), submission.id
        )


def _london(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%d/%m/%Y %H:%M")


def _feedback_path(
    deps: Deps, file: InboxFile, period: str | None, partner_id: str | None, version: int | None
) -> Path:
    if partner_id and period:
        return deps.workspace.feedback_dir / period / f"{partner_id}-{period}-v{version}-feedback.xlsx"
    return deps.workspace.feedback_dir / "unidentified" / f"{Path(file.name).stem}-{file.sha256[:8]}-feedback.xlsx"
