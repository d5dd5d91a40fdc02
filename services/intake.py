"""Processing one file from the inbox: read, validate, feed back, store, notify."""

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from domain.contract import Contract, Partner
from domain.findings import Finding, has_errors, ordered
from domain.periods import Period
from expectations.about import timing
from expectations.returns import ValidatedReturn, validate_return
from integrations.inbox import MAX_FILE_BYTES, InboxFile, archive_original
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
    status: str  # accepted | rejected | quarantined | duplicate
    partner_id: str | None
    period: str | None
    version: int | None
    findings: list[Finding]
    feedback_path: str | None
    submission_id: int | None


def check_file(
    file: InboxFile, contract: Contract, *, received_at: datetime | None = None
) -> tuple[ValidatedReturn | None, list[Finding]]:
    """Read and validate a file without touching the database (the offline self-check too).

    With ``received_at``, also whether the return is on time and for a month that has begun.
    """
    if file.content is None:
        too_large = Finding("FILE_TOO_LARGE", params={"filename": file.name, "detail": f"{MAX_FILE_BYTES:,} bytes"})
        return None, [too_large]
    result = read_return(file.name, file.content)
    if result.raw is None:
        return None, result.findings
    sender = file.sender if file.sender and contract.partner(file.sender) else None
    validated = validate_return(result.raw, contract, sender=sender)
    findings = result.findings + validated.findings
    if received_at is not None and validated.period is not None:
        findings += timing(validated.period, received_at, contract)
    return validated, ordered(findings)


def is_accepted(validated: ValidatedReturn | None, findings: list[Finding]) -> bool:
    """Accepted: identified, and no error anywhere (reader, checks or timing)."""
    return bool(validated and validated.accepted) and not has_errors(findings)


def process_file(deps: Deps, file: InboxFile) -> Outcome:
    """File one inbox file: archived, read, validated, fed back and recorded in one transaction."""
    contract = deps.contract
    with session_scope(deps.engine) as session:
        known = repo.submission_by_sha(session, sha256=file.sha256)
        if known is not None:
            return Outcome(file.name, "duplicate", known.partner_id, known.period, known.version, [], None, known.id)

    validated, findings = check_file(file, contract, received_at=file.received_at)
    accepted = is_accepted(validated, findings)
    sender = contract.partner(file.sender) if file.sender else None
    # Feedback goes to whoever sent the file: its partner folder, failing that its About sheet.
    partner = sender or (validated.partner if validated else None)
    period = validated.period if validated and partner else None
    filed = partner is not None and period is not None
    status = "accepted" if accepted else ("rejected" if partner else "quarantined")
    late = any(f.code == "RETURN_LATE" for f in findings)
    stored = archive_original(deps.workspace.archive, file)
    now = deps.clock()

    # The feedback workbook is written beside its final name and moved there once the record is
    # committed: a transaction that fails leaves no feedback for a version that does not exist.
    feedback: Path | None = None
    staging: Path | None = None
    try:
        with session_scope(deps.engine) as session:
            version = None
            if partner is not None and period is not None:
                version = repo.next_version(session, partner_id=partner.id, period=str(period))
            if partner is not None:
                feedback = _feedback_path(deps, file, period, partner, version)
                staging = feedback.with_name(f".{feedback.name}.partial")
                write_feedback(
                    staging,
                    partner_name=partner.name,
                    period=str(period) if period else "unknown period",
                    version=version,
                    filename=file.name,
                    status=status,
                    findings=findings,
                )
            if period is not None:
                repo.ensure_period(session, period=str(period))
            submission = repo.add_submission(
                session,
                submission=Submission(
                    sha256=file.sha256,
                    filename=file.name,
                    stored_path=str(stored),
                    source=file.path,
                    size_bytes=file.size,
                    sender_partner_id=sender.id if sender else None,
                    received_at=file.received_at,
                    partner_id=partner.id if partner else None,
                    period=str(period) if filed else None,
                    version=version,
                    status=status,
                    on_time=(not late) if filed else None,
                    feedback_path=str(feedback) if feedback else None,
                    processed_at=now,
                ),
                findings=findings,
                rows=validated.rows if (validated and accepted) else [],
            )
            if partner is not None:
                repo.enqueue(
                    session,
                    dedup_key=f"return-processed:{submission.id}",
                    channel=partner.slack_channel,
                    partner_id=partner.id,
                    kind="return_processed",
                    at=now,
                    text=messages.return_processed(
                        partner_name=partner.name,
                        period=str(period) if period else "an unknown period",
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
                    dedup_key=f"quarantined-file:{submission.id}",
                    channel=contract.alliance.officers_channel,
                    kind="quarantined_file",
                    at=now,
                    text=messages.quarantined_file(filename=file.name, archived=str(stored), findings=findings),
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
            outcome = Outcome(
                file.name,
                status,
                submission.partner_id,
                submission.period,
                version,
                findings,
                str(feedback) if feedback else None,
                submission.id,
            )
    except BaseException:
        if staging is not None:
            staging.unlink(missing_ok=True)
        raise
    if staging is not None and feedback is not None:
        os.replace(staging, feedback)
    return outcome


def _feedback_path(deps: Deps, file: InboxFile, period: Period | None, partner: Partner, version: int | None) -> Path:
    if period is not None and version is not None:
        return deps.workspace.feedback_dir / str(period) / f"{partner.id}-{period}-v{version}-feedback.xlsx"
    # Refused before its month was known: filed by partner, named after the file.
    return (
        deps.workspace.feedback_dir / "unfiled" / partner.id / f"{Path(file.name).stem}-{file.sha256[:8]}-feedback.xlsx"
    )
