"""Session functions (keyword arguments, one purpose each) over the tables."""

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Text, cast, func, insert, literal, literal_column, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from domain.contract import Contract
from domain.findings import Finding, count_by_severity
from domain.notifications import EMAIL
from domain.period_states import PERIOD_ORDER, PeriodState, is_forward
from domain.returns import MonthFigures, ParticipantRow, ParticipantRows
from models.tables import (
    AchievementGroup,
    FindingRecord,
    Notification,
    ParticipantRecord,
    PartnerRecord,
    PaymentLine,
    PaymentRun,
    PeriodRecord,
    Submission,
)


def sync_partners(session: Session, *, contract: Contract) -> None:
    """The partner table mirrors the contract (partners are never deleted: history refers to them)."""
    for partner in contract.partners:
        record = session.get(PartnerRecord, partner.id) or PartnerRecord(
            id=partner.id,
            name=partner.name,
            size=partner.size.value,
            annual_core_pence=partner.annual_core_pence,
            slack_channel=partner.slack_channel or "",
        )
        record.name = partner.name
        record.size = partner.size.value
        record.annual_core_pence = partner.annual_core_pence
        record.slack_channel = partner.slack_channel or ""
        session.add(record)
    session.flush()


def advance_period(session: Session, *, period: str, to: PeriodState) -> PeriodRecord:
    """Move a period's state forward to ``to``; a no-op when it is there or past it already.

    One conditional UPDATE: two transactions advancing at once cannot move it back (a later
    state is never overwritten by an earlier one, and the database refuses it anyway)."""
    table = PeriodRecord.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(id=period, state=PeriodState.open.value).on_conflict_do_nothing())
    earlier = [s.value for s in PERIOD_ORDER if is_forward(s, to)]
    if earlier:
        session.execute(
            update(PeriodRecord)
            .where(col(PeriodRecord.id) == period, col(PeriodRecord.state).in_(earlier))
            .values(state=to.value)
        )
    record = session.get(PeriodRecord, period, populate_existing=True)
    assert record is not None
    return record


def period_state_of(session: Session, *, period: str) -> str | None:
    record = session.get(PeriodRecord, period)
    return record.state if record else None


def submission_by_sha(session: Session, *, sha256: str) -> Submission | None:
    return session.exec(select(Submission).where(Submission.sha256 == sha256)).first()


def last_submission_id(session: Session, *, period: str) -> int | None:
    """The newest submission filed for the period (ids only grow): a cheap sign that something was filed since."""
    return session.exec(select(func.max(Submission.id)).where(Submission.period == period)).one()


def last_submission_id_of(session: Session, *, partner_id: str) -> int | None:
    """The partner's newest submission, any month: a cheap sign that its records changed since."""
    return session.exec(select(func.max(Submission.id)).where(Submission.partner_id == partner_id)).one()


def next_version(session: Session, *, partner_id: str, period: str) -> int:
    current = session.exec(
        select(func.max(Submission.version)).where(Submission.partner_id == partner_id, Submission.period == period)
    ).one()
    return (current or 0) + 1


def add_submission(
    session: Session,
    *,
    submission: Submission,
    findings: Sequence[Finding],
    rows: ParticipantRows | Sequence[ParticipantRow],
    measure_ids: Sequence[str] = (),
) -> Submission:
    """Store a processed file with its findings and (if accepted) its rows; supersede older versions."""
    rows = ParticipantRows.of(rows)
    counts = count_by_severity(list(findings))
    submission.error_count = counts["error"]
    submission.warning_count = counts["warning"]
    submission.info_count = counts["info"]
    submission.row_count = len(rows)
    if rows:
        # Every measure of the framework, zeros included: a measure absent here did not exist yet.
        by_set = Counter(rows.achieved)  # a handful of distinct sets of measures
        measures = set(measure_ids).union(*by_set)
        achieved = {m: sum(n for got, n in by_set.items() if m in got) for m in sorted(measures)}
        submission.measure_counts = json.dumps(achieved, sort_keys=True)
    if submission.status == "accepted":
        for older in session.exec(
            select(Submission).where(
                Submission.partner_id == submission.partner_id,
                Submission.period == submission.period,
                Submission.status == "accepted",
            )
        ):
            older.status = "superseded"
            session.add(older)
    session.add(submission)
    session.flush()
    assert submission.id is not None
    # Thousands of rows per return: one executemany each, not an ORM object per row (DESIGN.md section 9).
    if findings:
        session.execute(_bulk(FindingRecord), [_finding_values(submission.id, f) for f in findings])
    if rows:
        joined = {got: ",".join(sorted(got)) for got in by_set}  # each set of measures joined once
        _insert_rows(
            session,
            ParticipantRecord,
            {
                "submission_id": [submission.id] * len(rows),
                "participant_id": rows.participant_ids,
                "sheet_row": rows.sheet_rows,
                "referral_date": rows.referral_dates,
                "complexity_band": rows.complexity_bands,
                "achieved": list(map(joined.__getitem__, rows.achieved)),
                "postcode_district": rows.postcode_districts,
            },
        )
        session.execute(
            _bulk(AchievementGroup),
            [
                {"submission_id": submission.id, "complexity_band": band, "achieved": achieved, "rows": count}
                for (band, achieved), count in sorted(
                    Counter(zip(rows.complexity_bands, map(joined.__getitem__, rows.achieved), strict=True)).items()
                )
            ],
        )
    return submission


def _insert_rows(session: Session, model: type[SQLModel], columns: dict[str, list[Any]]) -> None:
    """Many rows into ``model``'s table in the session's transaction, given column by column (name -> values): by
    ``COPY`` on PostgreSQL, by the driver's own ``executemany`` on SQLite (each value converted once, as SQLAlchemy
    would bind it), by one Core ``executemany`` elsewhere; never an ORM object per row. 5,000 participant rows here:
    PostgreSQL 160-230 ms through the ORM, 75 ms by COPY; SQLite 50-80 ms through the ORM, 34-54 ms by Core,
    FIXME by the driver."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        import psycopg
        from sqlalchemy.exc import DBAPIError

        statement = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        driver = session.connection().connection.driver_connection
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as failed:  # as any other statement's failure: SQLAlchemy's, mapped by session_scope
            raise DBAPIError.instance(statement, None, failed, psycopg.Error) from failed
        return
    if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        bound = []
        for name, values in columns.items():
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            bound.append(values if process is None else list(map(process, values)))
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(['?'] * len(names))})"
        session.connection().exec_driver_sql(statement, list(zip(*bound, strict=True)))
        return
    session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def _bulk(model: type[SQLModel]) -> Any:
    """An INSERT for many rows at once. render_nulls: without it the ORM leaves out a None value and starts a
    new statement whenever the keys present change (a blank postcode here and there: one INSERT per row)."""
    return insert(model).execution_options(render_nulls=True)


def _finding_values(submission_id: int, f: Finding) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "code": f.code,
        "severity": f.severity.value,
        "sheet": f.sheet,
        "cell": f.cell,
        "row": f.row,
        "column": f.column,
        "value": f.value,
        "message": f.message,
        "fix": f.fix,
    }


def accepted_submissions(session: Session, *, period: str) -> list[Submission]:
    return list(
        session.exec(
            select(Submission)
            .where(Submission.period == period, Submission.status == "accepted")
            .order_by(col(Submission.partner_id))
        )
    )


def submissions_for_period(session: Session, *, period: str) -> list[Submission]:
    return list(
        session.exec(
            select(Submission)
            .where(Submission.period == period)
            .order_by(col(Submission.partner_id), col(Submission.version))
        )
    )


def submissions_with_status(session: Session, *, status: str) -> list[Submission]:
    return list(session.exec(select(Submission).where(Submission.status == status).order_by(col(Submission.id))))


def rows_of(session: Session, *, submission_id: int) -> list[ParticipantRow]:
    records = session.exec(
        select(ParticipantRecord)
        .where(ParticipantRecord.submission_id == submission_id)
        .order_by(col(ParticipantRecord.id))
    )
    return [
        ParticipantRow(
            participant_id=r.participant_id,
            referral_date=r.referral_date,
            complexity_band=r.complexity_band,
            achieved=frozenset(a for a in r.achieved.split(",") if a),
            postcode_district=r.postcode_district,
            sheet_row=r.sheet_row,
        )
        for r in records
    ]


def achievement_counts(
    session: Session, *, submission_ids: list[int]
) -> dict[int, list[tuple[str, frozenset[str], int]]]:
    """Per submission: (band, measures achieved, rows) groups (what points need), as counted when its rows were
    recorded; a submission whose rows were stored without their groups is counted from the rows."""
    groups: dict[int, list[tuple[str, frozenset[str], int]]] = {i: [] for i in submission_ids}
    for chunk in _int_chunks(submission_ids):
        stored = select(
            AchievementGroup.submission_id,
            AchievementGroup.complexity_band,
            AchievementGroup.achieved,
            AchievementGroup.rows,
        ).where(col(AchievementGroup.submission_id).in_(chunk))
        for submission_id, band, achieved, rows in session.exec(stored):  # type: ignore[call-overload]
            groups[submission_id].append((band, frozenset(a for a in achieved.split(",") if a), int(rows)))
    missing = [i for i in submission_ids if not groups[i]]
    for chunk in _int_chunks(missing):
        query = (
            select(
                ParticipantRecord.submission_id,
                ParticipantRecord.complexity_band,
                ParticipantRecord.achieved,
                func.count(),
            )
            .where(col(ParticipantRecord.submission_id).in_(chunk))
            .group_by(
                col(ParticipantRecord.submission_id),
                col(ParticipantRecord.complexity_band),
                col(ParticipantRecord.achieved),
            )
        )
        for submission_id, band, achieved, rows in session.exec(query):
            groups[submission_id].append((band, frozenset(a for a in achieved.split(",") if a), int(rows)))
    return groups


def _int_chunks(values: list[int]) -> Iterator[list[int]]:
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


# Participant ids are looked up in chunks: SQLite and PostgreSQL both cap bound parameters.
_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def latest_period_of(session: Session, *, partner_id: str) -> str | None:
    """The latest period the partner has a filed version for."""
    query = select(func.max(Submission.period)).where(Submission.partner_id == partner_id)
    return session.exec(query).one()


def latest_submission(session: Session, *, partner_id: str, period: str) -> Submission | None:
    """The partner's latest version for the period, whatever became of it."""
    return session.exec(
        select(Submission)
        .where(Submission.partner_id == partner_id, Submission.period == period)
        .order_by(col(Submission.version).desc())
        .limit(1)
    ).first()


def claims_in_other_months(
    session: Session, *, partner_id: str, period: str, participant_ids: Sequence[str]
) -> dict[str, dict[str, str]]:
    """participant id -> measure -> the earliest other period this partner's accepted return claimed it in.

    Later periods count too: a late return for an earlier month must not claim an outcome already paid."""
    return claims_of(session, partner_id=partner_id, period=period, participant_ids=participant_ids).in_other_months


@dataclass(frozen=True)
class Claims:
    """What the records hold of a return's participants: this partner's claims in other months (participant id ->
    measure -> earliest period), and other partners' accepted rows for the same month."""

    in_other_months: dict[str, dict[str, str]]
    elsewhere: list["OtherClaim"]


def claims_of(session: Session, *, partner_id: str, period: str, participant_ids: Sequence[str]) -> Claims:
    """``claims_in_other_months`` and ``claims_elsewhere`` from one reading of the participants' stored rows."""
    mine = dict(
        session.exec(
            select(Submission.id, Submission.period).where(
                Submission.partner_id == partner_id, Submission.status == "accepted", Submission.period != period
            )
        ).all()
    )
    others = _accepted_elsewhere(session, partner_id=partner_id, period=period)
    if not mine and not others:  # nothing filed this could repeat: nothing to read
        return Claims({}, [])
    before: dict[str, dict[str, str]] = {}
    elsewhere = []
    for participant_id, achieved, submission_id, sheet_row in _rows_of(session, participant_ids):
        if submission_id in others:
            elsewhere.append(OtherClaim(participant_id, others[submission_id] or "", submission_id, sheet_row))
        claimed_in = mine.get(submission_id)
        if claimed_in is None or not achieved:
            continue
        measures = before.setdefault(participant_id, {})
        for measure in achieved.split(","):
            if measure not in measures or claimed_in < measures[measure]:
                measures[measure] = claimed_in
    return Claims(before, sorted(elsewhere, key=lambda c: (c.participant_id, c.partner_id)))


def _rows_of(session: Session, participant_ids: Sequence[str]) -> Iterator[Any]:
    """(participant id, achieved, submission id, sheet row) of every stored row for these participants.

    Found by participant id alone, and filtered by submission in Python: joined to the submission table,
    SQLite's planner walks every row of the period instead (the index on period looks selective), which
    made each return's lookups grow with the alliance, and a national cycle quadratic. The ids go to the database
    as one value (a JSON array on SQLite, an array on PostgreSQL): 5,000 ids as bound parameters, 500 a query, cost
    19 ms on SQLite and 360 ms on PostgreSQL here, against 8 ms and 50 ms."""
    unique = sorted(set(participant_ids))
    if not unique:
        return
    columns = select(
        ParticipantRecord.participant_id,
        ParticipantRecord.achieved,
        ParticipantRecord.submission_id,
        ParticipantRecord.sheet_row,
    )
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        values: Any = select(literal_column("value")).select_from(
            func.json_each(json.dumps(unique, ensure_ascii=False))
        )
        yield from session.exec(columns.where(col(ParticipantRecord.participant_id).in_(values)))
    elif dialect == "postgresql":
        array = cast(literal(unique, ARRAY(Text)), ARRAY(Text))
        yield from session.exec(columns.where(ParticipantRecord.participant_id == func.any(array)))
    else:
        for chunk in _chunks(unique):
            yield from session.exec(columns.where(col(ParticipantRecord.participant_id).in_(chunk)))


@dataclass(frozen=True)
class OtherClaim:
    participant_id: str
    partner_id: str
    submission_id: int
    sheet_row: int | None


def _accepted_elsewhere(session: Session, *, partner_id: str, period: str) -> dict[int | None, str | None]:
    """Other partners' accepted submissions for the period: submission id -> partner id."""
    found = session.exec(
        select(Submission.id, Submission.partner_id).where(
            Submission.period == period, Submission.status == "accepted", Submission.partner_id != partner_id
        )
    )
    return {submission_id: partner for submission_id, partner in found}


def claims_elsewhere(
    session: Session, *, partner_id: str, period: str, participant_ids: Sequence[str]
) -> list[OtherClaim]:
    """The same participants in other partners' accepted returns for the period."""
    accepted = _accepted_elsewhere(session, partner_id=partner_id, period=period)
    if not accepted:  # nobody else has filed for the month: nothing to read
        return []
    claims = [
        OtherClaim(participant_id, accepted[submission_id] or "", submission_id, sheet_row)
        for participant_id, _, submission_id, sheet_row in _rows_of(session, participant_ids)
        if submission_id in accepted
    ]
    return sorted(claims, key=lambda c: (c.participant_id, c.partner_id))


def duplicate_claims(session: Session, *, period: str) -> dict[str, list[str]]:
    """participant id -> the partners whose accepted returns for the period all include them."""
    shared = (
        select(ParticipantRecord.participant_id)
        .join(Submission, col(Submission.id) == ParticipantRecord.submission_id)
        .where(Submission.period == period, Submission.status == "accepted")
        .group_by(col(ParticipantRecord.participant_id))
        .having(func.count(func.distinct(Submission.partner_id)) > 1)
    )
    found = session.exec(
        select(ParticipantRecord.participant_id, Submission.partner_id)
        .join(Submission, col(Submission.id) == ParticipantRecord.submission_id)
        .where(
            Submission.period == period,
            Submission.status == "accepted",
            col(ParticipantRecord.participant_id).in_(shared),
        )
        .distinct()
    )
    claims: dict[str, list[str]] = {}
    for participant_id, partner_id in found:
        claims.setdefault(participant_id, []).append(partner_id or "")
    return {pid: sorted(partners) for pid, partners in sorted(claims.items())}


def recent_months(session: Session, *, partner_id: str, before: str, limit: int) -> list[MonthFigures]:
    """The partner's accepted months before ``before``, newest first, as figures."""
    found = session.exec(
        select(Submission)
        .where(
            Submission.partner_id == partner_id,
            Submission.status == "accepted",
            col(Submission.period) < before,
            col(Submission.measure_counts).is_not(None),
        )
        .order_by(col(Submission.period).desc())
        .limit(limit)
    )
    return [
        MonthFigures(period=s.period or "", rows=s.row_count, achieved=json.loads(s.measure_counts or "{}"))
        for s in found
    ]


def add_findings(session: Session, *, submission: Submission, findings: Sequence[Finding]) -> None:
    """Findings that arise after a submission was filed (another partner's later claim); counts follow."""
    assert submission.id is not None
    if findings:
        session.execute(_bulk(FindingRecord), [_finding_values(submission.id, f) for f in findings])
    counts = count_by_severity(list(findings))
    submission.error_count += counts["error"]
    submission.warning_count += counts["warning"]
    submission.info_count += counts["info"]
    session.add(submission)
    session.flush()


def findings_of(session: Session, *, submission_id: int) -> list[FindingRecord]:
    return list(
        session.exec(
            select(FindingRecord).where(FindingRecord.submission_id == submission_id).order_by(col(FindingRecord.id))
        )
    )


def latest_run(session: Session, *, period: str) -> PaymentRun | None:
    return session.exec(
        select(PaymentRun).where(PaymentRun.period == period).order_by(col(PaymentRun.version).desc()).limit(1)
    ).first()


def runs_of(session: Session, *, period: str) -> list[PaymentRun]:
    return list(session.exec(select(PaymentRun).where(PaymentRun.period == period).order_by(col(PaymentRun.version))))


def run_by_key(session: Session, *, idempotency_key: str) -> PaymentRun | None:
    return session.exec(select(PaymentRun).where(PaymentRun.idempotency_key == idempotency_key)).first()


def lines_of(session: Session, *, run_id: int) -> list[PaymentLine]:
    return list(session.exec(select(PaymentLine).where(PaymentLine.run_id == run_id).order_by(col(PaymentLine.id))))


def periods_with_runs(session: Session) -> list[str]:
    return list(session.exec(select(PaymentRun.period).distinct().order_by(col(PaymentRun.period))))


def enqueue(
    session: Session,
    *,
    dedup_key: str,
    channel: str,
    kind: str,
    text: str,
    at: datetime,
    partner_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Notification:
    """Add a message to the outbox once: the same dedup key returns the existing row."""
    existing = session.exec(select(Notification).where(Notification.dedup_key == dedup_key)).first()
    if existing is not None:
        return existing
    notification = Notification(
        dedup_key=dedup_key,
        channel=channel,
        partner_id=partner_id,
        kind=kind,
        text=text,
        payload=json.dumps(payload or {}, sort_keys=True, default=str),
        created_at=at,
    )
    session.add(notification)
    session.flush()
    return notification


def has_notification(session: Session, *, dedup_key: str) -> bool:
    return session.exec(select(Notification.id).where(Notification.dedup_key == dedup_key)).first() is not None


def count_notifications(session: Session, *, status: str) -> int:
    return session.exec(select(func.count()).select_from(Notification).where(Notification.status == status)).one()


def notifications(session: Session, *, status: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(col(Notification.id))
    if status:
        query = query.where(Notification.status == status)
    return list(session.exec(query))


# --- Outbox delivery --------------------------------------------------------------------------


def due_notifications(
    session: Session, *, now: datetime, limit: int | None = None, slack: bool = True, email: bool = False
) -> list[int]:
    """Pending messages whose time has come and that no relay holds, oldest first: those to Slack channels,
    to email addresses (channel ``email:...``), or both."""
    query = (
        select(Notification.id)
        .where(Notification.status == "pending")
        .where(or_(col(Notification.next_attempt_at).is_(None), col(Notification.next_attempt_at) <= now))
        .where(or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) <= now))
        .order_by(col(Notification.id))
    )
    if not (slack and email):
        is_email = col(Notification.channel).startswith(EMAIL)
        query = query.where(is_email if email else ~is_email)
    if limit is not None:
        query = query.limit(limit)
    return [i for i in session.exec(query) if i is not None]


def claim_notification(
    session: Session, *, notification_id: int, now: datetime, until: datetime
) -> Notification | None:
    """Hold one message for this relay: a single UPDATE, so two relays never both send it.

    The attempt is counted when claimed, so a relay that dies mid-send leaves a message that the
    next relay knows may already be in Slack.
    """
    claimed = session.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .where(col(Notification.status) == "pending")
        .where(or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) <= now))
        .where(or_(col(Notification.next_attempt_at).is_(None), col(Notification.next_attempt_at) <= now))
        .values(claimed_until=until, attempts=Notification.attempts + 1)  # type: ignore[operator]
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Notification, notification_id, populate_existing=True)


def renew_claim(session: Session, *, notification_id: int, held_until: datetime, until: datetime) -> bool:
    """Extend this relay's hold just before a write; False if the lease ran out and another relay took it."""
    renewed = session.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .where(col(Notification.status) == "pending")
        .where(col(Notification.claimed_until) == held_until)
        .values(claimed_until=until)
    )
    return renewed.rowcount == 1  # type: ignore[attr-defined]


def record_progress(
    session: Session, *, notification_id: int, slack_ts: str | None = None, file_id: str | None = None
) -> None:
    """Save what Slack already holds (the message, an uploaded file) before the next step."""
    row = session.get(Notification, notification_id)
    if row is None:
        return
    if slack_ts is not None:
        row.slack_ts = slack_ts
    if file_id is not None:
        row.file_id = file_id
    session.add(row)


def finish_delivery(
    session: Session,
    *,
    notification_id: int,
    status: str,
    at: datetime,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    slack_ts: str | None = None,
    held_until: datetime | None = None,
) -> None:
    """Release the message: sent, failed for good, or pending until ``next_attempt_at``.

    A relay whose lease ran out (another holds it now) records only a success, never a failure.
    """
    row = session.get(Notification, notification_id)
    if row is None or (status != "sent" and held_until is not None and row.claimed_until != held_until):
        return
    record_progress(session, notification_id=notification_id, slack_ts=slack_ts)
    row.status = status
    row.claimed_until = None
    row.last_error = error
    row.next_attempt_at = next_attempt_at
    if status == "sent":
        row.sent_at = at
    session.add(row)


def requeue_failed(session: Session, *, notification_ids: list[int] | None = None) -> list[int]:
    """Put failed messages back in the queue (after their channel was fixed), to go at the next send."""
    query = select(Notification).where(Notification.status == "failed")
    if notification_ids is not None:
        query = query.where(col(Notification.id).in_(notification_ids))
    requeued = []
    for row in session.exec(query):
        row.status, row.next_attempt_at, row.claimed_until = "pending", None, None
        session.add(row)
        requeued.append(row.id)
    return [i for i in requeued if i is not None]
