"""Processing one file from the inbox: read, validate, feed back, store, notify."""

import hashlib
import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain import return_layout as layout
from domain.changes import Changes, compare
from domain.contract import Contract, Partner
from domain.errors import IntegrityError, UsageError, answer_or_raise
from domain.findings import Finding, Severity, has_errors, in_partners_words, ordered
from domain.notifications import is_partner_file
from domain.period_states import period_state
from domain.periods import Period, london_date
from domain.plausibility import RECENT_MONTHS
from domain.returns import RawReturn, RawTable, ReturnContext
from expectations.about import timing
from expectations.returns import ContextFor, ToValidate, ValidatedReturn, locked, validate_returns
from integrations.inbox import MAX_FILE_BYTES, SYMLINK, InboxFile, archive_original
from integrations.spreadsheets.feedback import FeedbackHeading, write_feedback
from integrations.spreadsheets.reader import ReadResult, read_return
from models import ledger, repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import Submission
from services import messages, outbox
from services.deps import Deps

logger = logging.getLogger(__name__)


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


CheckedFile = tuple[ValidatedReturn | None, list[Finding], RawReturn | None]


def check_file(
    file: InboxFile,
    contract: Contract,
    *,
    received_at: datetime | None = None,
    context_for: ContextFor | None = None,
    require_sender: bool = False,
) -> CheckedFile:
    """Read and validate a file; without ``context_for`` nothing touches the database (the offline self-check).

    With ``received_at``, also whether the return is on time and for a month that has begun; with
    ``require_sender`` (the cycle), a file from no partner's own folder is refused (SENDER_UNKNOWN) whatever it says.
    """
    return answer_or_raise(
        check_files([ToCheck(file, received_at, context_for)], contract, require_sender=require_sender)[0]
    )


@dataclass(frozen=True)
class ToCheck:
    """An inbox file to check, when it landed (whether it is on time) and how to look up the records."""

    file: InboxFile
    received_at: datetime | None = None
    context_for: ContextFor | None = None


def check_files(
    files: list[ToCheck], contract: Contract, *, require_sender: bool = False
) -> list[CheckedFile | BaseException]:
    """``check_file`` of each, the returns validated together (``validate_returns``: the same findings, each file's
    own); a file whose reading or checks raised gets its exception back instead, and only it."""
    answers: list[CheckedFile | BaseException | None] = [None] * len(files)
    read: dict[int, ReadResult] = {}
    for number, item in enumerate(files):
        file = item.file
        if file.refused is not None:  # a link or odd entry in the inbox: never read
            answers[number] = None, [Finding(file.refused, params={"filename": file.name})], None
            continue
        if file.content is None:
            detail = f"{MAX_FILE_BYTES:,} bytes"
            answers[number] = None, [Finding("FILE_TOO_LARGE", params={"filename": file.name, "detail": detail})], None
            continue
        try:
            result = read_return(file.name, file.content, headers=contract.framework.header_aliases)
        except Exception as failed:  # noqa: BLE001 - handed back as this file's answer
            answers[number] = failed
            continue
        if result.raw is None:
            answers[number] = None, result.findings, None
        else:
            read[number] = result
    senders = {n: _known_sender(files[n].file, contract) for n in read}
    validated = validate_returns(
        [
            ToValidate(result.raw, senders[n], files[n].context_for)
            for n, result in read.items()
            if result.raw is not None
        ],
        contract,
    )
    for (number, result), answer in zip(read.items(), validated, strict=True):
        if isinstance(answer, BaseException):
            answers[number] = answer
            continue
        item, findings = files[number], result.findings + answer.findings
        if item.received_at is not None and answer.period is not None:
            findings += timing(answer.period, item.received_at, contract)
        if require_sender and senders[number] is None:
            findings.append(_sender_unknown(item.file, answer))
        answers[number] = answer, in_partners_words(ordered(findings), contract.framework.names), result.raw
    return [answer for answer in answers if answer is not None]


def _known_sender(file: InboxFile, contract: Contract) -> str | None:
    return file.sender if file.sender and contract.partner(file.sender) else None


class RecordsContext:
    """Looks up, for a return being checked, what the records know; keeps the other partners' claims."""

    def __init__(self, deps: Deps, session: Session | None = None) -> None:
        self.deps = deps
        self.session = session  # looks up in this session (the write's, under the period's lock), else its own
        self.others: list[repo.OtherClaim] = []
        self.asked: tuple[Partner, Period, list[str]] | None = None
        self.last_filed: int | None = None  # the period's newest submission when the claims were read
        self.partners_last: int | None = None  # the partner's own newest submission, any month, then
        self.locked_on: date | None = None  # the period's lock for the partner, then

    def __call__(self, partner: Partner, period: Period, participant_ids: list[str]) -> ReturnContext:
        self.asked = (partner, period, participant_ids)
        if self.session is not None:
            return self._look_up(self.session, partner, period, participant_ids)
        with session_scope(self.deps.engine) as session:
            return self._look_up(session, partner, period, participant_ids)

    def _look_up(self, session: Session, partner: Partner, period: Period, participant_ids: list[str]) -> ReturnContext:
        self.last_filed = repo.last_submission_id(session, period=str(period))  # read first: errs on the safe side
        self.partners_last = repo.last_submission_id_of(session, partner_id=partner.id)
        claims = repo.claims_of(session, partner_id=partner.id, period=str(period), participant_ids=participant_ids)
        before, self.others = claims.in_other_months, claims.elsewhere
        history = repo.recent_months(session, partner_id=partner.id, before=str(period), limit=RECENT_MONTHS)
        lock = ledger.current_lock(session, period=str(period), partner_id=partner.id)
        self.locked_on = london_date(lock.at) if lock else None
        return ReturnContext(
            claimed_in_other_months=before,
            claimed_elsewhere=frozenset(c.participant_id for c in self.others),
            history=tuple(history),
            locked_on=self.locked_on,
        )

    def outdated(self, session: Session) -> bool:
        """Whether what the checks looked up has changed since (read under the period's lock, where no other return
        for the month can be recorded): another partner's return for the month with the same participants (partners'
        files are processed side by side), the partner's own records in any month (claims, history: a return filed
        from the portal meanwhile), or the month's lock (an officer locked or unlocked it). A return checked ahead of
        its turn (``check_ahead``) may have been checked a wave earlier."""
        if self.asked is None:
            return False
        partner, period, ids = self.asked
        if repo.last_submission_id_of(session, partner_id=partner.id) != self.partners_last:
            return True
        lock = ledger.current_lock(session, period=str(period), partner_id=partner.id)
        if (london_date(lock.at) if lock else None) != self.locked_on:
            return True
        if repo.last_submission_id(session, period=str(period)) == self.last_filed:
            return False  # nothing filed for the month since: the claims read are the claims now
        now = repo.claims_elsewhere(session, partner_id=partner.id, period=str(period), participant_ids=ids)
        return now != self.others


def sender_of(file: InboxFile, contract: Contract) -> Partner | None:
    """The partner whose own folder (or portal upload) the file came from; None for the top of the inbox or a folder no
    partner has. Only a sender makes a file a partner's return: an About sheet can be copied by anyone."""
    return contract.partner(file.sender) if file.sender else None


def record_key(file: InboxFile, contract: Contract) -> str:
    """The digest a file is recorded under: its SHA-256, or for a file with no sender (quarantined, never filed) a
    digest of that, so the same bytes moved into the partner's folder by an officer are then filed as theirs."""
    if sender_of(file, contract) is not None or file.refused is not None:
        return file.sha256
    return hashlib.sha256(f"sender-unknown:{file.sha256}".encode()).hexdigest()


def recorded(session: Session, file: InboxFile, contract: Contract) -> Submission | None:
    """The submission these bytes were filed as (from anywhere), or this file quarantined before; None: new."""
    known = repo.submission_by_sha(session, sha256=file.sha256)
    key = record_key(file, contract)
    if known is None and key != file.sha256:
        known = repo.submission_by_sha(session, sha256=key)
    return known


def _audit_detail(file: InboxFile, submission: Submission) -> dict[str, object]:
    """What the audit chain says of a file: the digest it is recorded under, and the bytes' own digest where that
    differs (a quarantined file), so either finds it."""
    detail: dict[str, object] = {"sha256": submission.sha256, "file": file.name, "errors": submission.error_count}
    if submission.sha256 != file.sha256:
        detail["content_sha256"] = file.sha256
    return detail


def is_accepted(validated: ValidatedReturn | None, findings: list[Finding]) -> bool:
    """Accepted: identified, and no error anywhere (reader, checks or timing)."""
    return bool(validated and validated.accepted) and not has_errors(findings)


def by_sender(files: list[InboxFile], contract: Contract) -> list[list[InboxFile]]:
    """The files in groups that may be processed at the same time, each in arrival order: one group per
    partner when every file came from a partner's folder. A file from anywhere else is never filed as a partner's
    (quarantined: SENDER_UNKNOWN), but is kept with the rest as before: then all of them form one group, in arrival
    order."""
    if any(file.sender is None or contract.partner(file.sender) is None for file in files):
        return [files] if files else []
    groups: dict[str, list[InboxFile]] = {}
    for file in files:
        assert file.sender is not None
        groups.setdefault(file.sender, []).append(file)
    return list(groups.values())


def share_out(groups: list[list[InboxFile]], shares: int) -> list[list[InboxFile]]:
    """The groups dealt into at most ``shares`` shares of about equal bytes (the largest group first, each to the
    lightest share so far), for workers on several machines; a group is never split, each keeps its order."""
    if shares < 1:
        raise UsageError(f"a cycle is split into at least one share, not {shares}")
    dealt: list[list[InboxFile]] = [[] for _ in range(min(shares, len(groups)))]
    weights = [0] * len(dealt)
    for group in sorted(groups, key=lambda g: (-sum(f.size for f in g), g[0].path)):
        lightest = weights.index(min(weights))
        dealt[lightest] += group
        weights[lightest] += sum(f.size for f in group)
    return [share for share in dealt if share]


def recorded_outcomes(deps: Deps, files: list[InboxFile]) -> tuple[list[Outcome], list[InboxFile]]:
    """What became of ``files`` processed elsewhere (another worker), read back from the records, in their order;
    and the files nothing was recorded for. Findings come back as codes and places (their full messages are in
    the records and the partner's feedback)."""
    outcomes: list[Outcome] = []
    missing: list[InboxFile] = []
    with session_scope(deps.engine) as session:
        for file in files:
            known = recorded(session, file, deps.contract)
            if known is None:
                missing.append(file)
            elif known.source != file.path:  # the same bytes sent twice: the other copy was filed
                outcomes.append(_duplicate(file, known))
            else:
                assert known.id is not None
                stored = repo.findings_of(session, submission_id=known.id)
                findings = [Finding(r.code, r.sheet, r.cell, r.row, r.column, r.value) for r in stored]
                # superseded: accepted when filed, then replaced by a later version (the only way to it)
                status = "accepted" if known.status == "superseded" else known.status
                outcomes.append(
                    Outcome(
                        file.name,
                        status,
                        known.partner_id,
                        known.period,
                        known.version,
                        findings,
                        known.feedback_path,
                        known.id,
                    )
                )
    return outcomes, missing


Checked = Callable[[list[Finding]], None]


@dataclass(frozen=True)
class Ahead:
    """A partner's file checked before its turn, with others (``check_ahead``): what the checks found, and the records
    they looked up, which are looked at again under the period's lock as for any file."""

    checked: CheckedFile
    records: RecordsContext


class CheckedAhead:
    """Files checked together before their turn, each taken once by the thread that files it."""

    def __init__(self, ahead: dict[tuple[str, str], Ahead] | None = None) -> None:
        self._ahead = ahead or {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ahead)

    def take(self, file: InboxFile) -> Ahead | None:
        with self._lock:
            return self._ahead.pop((file.path, file.sha256), None)


def check_ahead(deps: Deps, files: list[InboxFile]) -> CheckedAhead:
    """Partners' files checked together, as ``process_file`` checks each (the same records looked up, the same
    findings), with one Great Expectations validation for many returns; a validation costs about 55 ms whatever its
    rows. Only the first file of each partner should be given: a partner's later file is checked after the earlier
    is recorded (it may repeat its claims). A file from no partner's folder, or whose checks raised, is not checked
    ahead: ``process_file`` checks it in its turn, and fails there if it fails."""
    contract = deps.contract
    chosen = [file for file in files if sender_of(file, contract) is not None]
    records = [RecordsContext(deps) for _ in chosen]
    try:
        answers = check_files(
            [ToCheck(file, file.received_at, lookup) for file, lookup in zip(chosen, records, strict=True)],
            contract,
            require_sender=True,
        )
    except Exception:  # noqa: BLE001 - each file is checked again in its turn, where a failure fails only its own
        logger.warning("checking %d returns together failed; each is checked in its turn", len(chosen), exc_info=True)
        return CheckedAhead()
    return CheckedAhead(
        {
            (file.path, file.sha256): Ahead(answer, lookup)
            for file, lookup, answer in zip(chosen, records, answers, strict=True)
            if not isinstance(answer, BaseException)
        }
    )


def process_file(
    deps: Deps, file: InboxFile, *, on_checked: Checked | None = None, ahead: Ahead | None = None
) -> Outcome:
    """File one inbox file: archived, read, validated, fed back and recorded in one transaction.

    ``on_checked`` hears the findings as soon as the checks have run, before the feedback workbook is written
    and the version recorded (the portal shows them at once); what is recorded is the Outcome's. ``ahead``: the
    file's checks, run with others' (``check_ahead``)."""
    contract = deps.contract
    with session_scope(deps.engine) as session:
        known = recorded(session, file, contract)
        if known is not None:
            return _duplicate(file, known)

    sender = sender_of(file, contract)
    if ahead is not None and sender is not None:
        records = ahead.records
        validated, findings, raw = ahead.checked
    else:
        records = RecordsContext(deps)
        # A file with no sender is checked as the offline self-check does (nothing looked up), for the officers.
        validated, findings, raw = check_file(
            file, contract, received_at=file.received_at, context_for=records if sender else None, require_sender=True
        )
    if on_checked is not None:
        on_checked(findings)
    accepted = sender is not None and is_accepted(validated, findings)
    # Filed only as the partner whose own folder it came from; feedback goes to that partner alone.
    partner = sender
    period = validated.period if validated and partner else None
    filed = partner is not None and period is not None
    status = "accepted" if accepted else ("rejected" if partner else "quarantined")
    late = any(f.code == "RETURN_LATE" for f in findings)
    stored = archive_original(deps.workspace.archive, file)
    now = deps.clock()
    changes, changes_note = _changes(deps, partner, period, raw) if partner and period else (None, None)

    # The feedback workbook is written beside its final name and moved there once the record is
    # committed: a transaction that fails leaves no feedback for a version that does not exist.
    feedback: Path | None = None
    staging: Path | None = None
    try:
        with session_scope(deps.engine) as session:
            version = None
            if partner is not None and period is not None:
                ledger.serialise_period(session, period=str(period))
            known = recorded(session, file, contract)
            if known is not None:  # the same bytes, filed by another submitter since the check above
                return _duplicate(file, known)
            if partner is not None and period is not None and records.outdated(session):
                # The same participant in a return recorded meanwhile: check again, now it is there to see.
                records = RecordsContext(deps, session)
                validated, findings, raw = check_file(
                    file, contract, received_at=file.received_at, context_for=records, require_sender=True
                )
                accepted = is_accepted(validated, findings)
                status = "accepted" if accepted else "rejected"
                late = any(f.code == "RETURN_LATE" for f in findings)
            if partner is not None and period is not None:
                version = repo.next_version(session, partner_id=partner.id, period=str(period))
                lock = ledger.current_lock(session, period=str(period), partner_id=partner.id)
                if lock is not None:
                    # Locked after the checks looked (an approval in between): the lock still holds.
                    if not any(f.code == "RETURN_LOCKED" for f in findings):
                        findings = ordered([*findings, locked(period, london_date(lock.at))])
                    accepted, status = False, "rejected"
                    _tell_officers_of_locked_return(deps, session, file, partner, period, now)
            if partner is not None:
                feedback = _feedback_path(deps, file, period, partner, version)
                staging = feedback.with_name(f".{feedback.name}.{uuid.uuid4().hex[:12]}.partial")
                write_feedback(
                    staging,
                    heading=FeedbackHeading(
                        partner_name=partner.name,
                        period=str(period) if period else "unknown period",
                        version=version,
                        filename=file.name,
                        status=_shown_status(status, findings),
                    ),
                    findings=findings,
                    grids=raw.grids if raw else None,
                    changes=changes,
                    changes_note=changes_note,
                )
            if period is not None:
                # A return processed after the due date finds its period due (never moved back).
                state = period_state(period, due_day=contract.deadlines.due_day, now=now, paid=False)
                repo.advance_period(session, period=str(period), to=state)
            submission = repo.add_submission(
                session,
                submission=Submission(
                    sha256=record_key(file, contract),
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
                measure_ids=contract.framework.measure_ids,
            )
            if partner is not None:
                payload = _with_feedback_file(
                    deps, partner, {"submission_id": submission.id, "feedback": str(feedback)}, feedback
                )
                outbox.tell_partner(
                    session,
                    partner,
                    dedup_key=f"return-processed:{submission.id}",
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
                        feedback=feedback.name if feedback else None,
                        attached="file" in payload,
                    ),
                    payload=payload,
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
            if partner is not None and file.refused == SYMLINK:  # whoever put a link there: officers should know
                repo.enqueue(
                    session,
                    dedup_key=f"link-refused:{submission.id}",
                    channel=contract.alliance.officers_channel,
                    kind="link_refused",
                    at=now,
                    text=messages.link_refused(
                        partner_id=partner.id, partner_name=partner.name, filename=file.name, archived=str(stored)
                    ),
                    payload={"submission_id": submission.id},
                )
            if accepted and period is not None and partner is not None and records.others:
                _tell_other_claimants(deps, session, submission, partner, period, records.others, now)
            append_audit(
                session,
                at=now,
                actor="monthly-cycle",
                action=f"submission.{status}",
                subject=f"{partner.id if partner else 'unknown'}/{period or 'unknown'}/v{version or '-'}",
                detail=_audit_detail(file, submission),
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
    except IntegrityError as refused:  # a rule of the database itself (models/rules.py): say which file
        if staging is not None:
            staging.unlink(missing_ok=True)
        where = f"{partner.id if partner else 'unknown partner'}/{period or 'unknown period'}"
        raise IntegrityError(f"{file.name} ({where}) was not recorded: {refused}") from refused
    except DatabaseIntegrityError:
        if staging is not None:
            staging.unlink(missing_ok=True)
        # The same bytes filed by another submitter between our check and our insert: a duplicate.
        with session_scope(deps.engine) as session:
            known = recorded(session, file, contract)
        if known is None:
            raise
        return _duplicate(file, known)
    except BaseException:
        if staging is not None:
            staging.unlink(missing_ok=True)
        raise
    if staging is not None and feedback is not None:
        os.replace(staging, feedback)
    if raw is not None and partner is not None:
        _recent_rows.keep(file.sha256, raw.table)
    return outcome


def _sender_unknown(file: InboxFile, validated: ValidatedReturn | None) -> Finding:
    named = validated.partner if validated else None
    words = f" (its About sheet names {named.name}, {named.id})" if named else ""
    return Finding("SENDER_UNKNOWN", params={"filename": file.name, "detail": words})


def _duplicate(file: InboxFile, known: Submission) -> Outcome:
    return Outcome(file.name, "duplicate", known.partner_id, known.period, known.version, [], None, known.id)


def _tell_officers_of_locked_return(
    deps: Deps, session: Session, file: InboxFile, partner: Partner, period: Period, now: datetime
) -> None:
    repo.enqueue(
        session,
        dedup_key=f"locked-return:{file.sha256}",
        channel=deps.contract.alliance.officers_channel,
        kind="locked_return_received",
        at=now,
        text=messages.locked_return_received(
            partner_id=partner.id, partner_name=partner.name, period=str(period), filename=file.name
        ),
        payload={"partner": partner.id, "period": str(period), "sha256": file.sha256},
    )


def _shown_status(status: str, findings: list[Finding]) -> str:
    if status == "accepted" and any(f.severity is Severity.warning for f in findings):
        return "accepted with warnings"
    return status


def _changes(deps: Deps, partner: Partner, period: Period, raw: RawReturn | None) -> tuple[Changes | None, str | None]:
    """This version against the partner's previous one for the period, read again from the archive."""
    with session_scope(deps.engine) as session:
        latest = repo.latest_submission(session, partner_id=partner.id, period=str(period))
    if latest is None or latest.version is None:
        return None, None
    if raw is None:
        return None, "This version could not be read, so it is not compared with the previous one."
    before = _recent_rows.get(latest.sha256)
    if before is None:
        try:
            read = read_return(
                latest.filename, Path(latest.stored_path).read_bytes(), headers=deps.contract.framework.header_aliases
            ).raw
        except OSError:
            read = None
        if read is None:
            return None, f"Version {latest.version} could not be read, so there is nothing to compare with."
        before = read.table
    return compare(before.records(), raw.table.records(), deps.contract.framework.columns, latest.version), None


class _RecentRows:
    """The rows of the last few files read, by SHA-256: a partner's next version is compared with its previous one
    without reading and checking that one's bytes again (same bytes, same rows)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: OrderedDict[str, RawTable] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, sha256: str) -> RawTable | None:
        with self.lock:
            return self.rows.get(sha256)

    def keep(self, sha256: str, rows: RawTable) -> None:
        with self.lock:
            self.rows[sha256] = rows
            self.rows.move_to_end(sha256)
            while len(self.rows) > self.size:
                self.rows.popitem(last=False)


_recent_rows = _RecentRows(size=8)


def _tell_other_claimants(
    deps: Deps,
    session: Session,
    submission: Submission,
    partner: Partner,
    period: Period,
    others: list[repo.OtherClaim],
    now: datetime,
) -> None:
    """A duplicate claim is a finding for the partner that claimed first too, and a message to them."""
    by_submission: dict[int, list[repo.OtherClaim]] = {}
    for claim in others:
        by_submission.setdefault(claim.submission_id, []).append(claim)
    for other_id, claims in sorted(by_submission.items()):
        other = session.get(Submission, other_id)
        owner = deps.contract.partner(claims[0].partner_id)
        if other is None or owner is None:
            continue
        already = {(f.code, f.value) for f in repo.findings_of(session, submission_id=other_id)}
        new = [
            Finding(
                "DUPLICATE_CLAIM",
                sheet=layout.PARTICIPANTS,
                row=c.sheet_row,
                column="participant_id",
                value=c.participant_id,
                params={"period": str(period)},
            )
            for c in claims
            if ("DUPLICATE_CLAIM", c.participant_id) not in already
        ]
        if not new:
            continue
        repo.add_findings(session, submission=other, findings=new)
        outbox.tell_partner(
            session,
            owner,
            dedup_key=f"duplicate-claim:{other_id}:{submission.id}",
            kind="duplicate_claim",
            at=now,
            text=messages.duplicate_claim(
                partner_name=owner.name, period=str(period), version=other.version, findings=new
            ),
            payload={"submission_id": other_id, "claimed_again_by": submission.id},
        )


def _with_feedback_file(
    deps: Deps, partner: Partner, payload: dict[str, object], feedback: Path | None
) -> dict[str, object]:
    """The message carries its feedback workbook (uploaded to the partner's channel, attached to its email); one
    for a file no month could be found for is named after the partner's file, so it stays in the outbox folder."""
    if feedback is None or not is_partner_file(feedback.name, partner.id):
        return payload
    try:
        relative = feedback.relative_to(deps.workspace.feedback_dir)
    except ValueError:
        return payload
    return {**payload, "file": relative.as_posix(), "folder": "feedback"}


def _feedback_path(deps: Deps, file: InboxFile, period: Period | None, partner: Partner, version: int | None) -> Path:
    if period is not None and version is not None:
        return deps.workspace.feedback_dir / str(period) / f"{partner.id}-{period}-v{version}-feedback.xlsx"
    # Refused before its month was known: filed by partner and named by the file's digest, never by the partner's
    # own name for the file (it may be 255 bytes in any script; the name stays in the records and the messages).
    return deps.workspace.feedback_dir / "unfiled" / partner.id / f"{partner.id}-{file.sha256[:16]}-feedback.xlsx"
