"""SQLModel tables. Money is integer pence (BIGINT); points and rates are decimal strings."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.return_layout import TEXT_LIMITS
from models.types import UTCDateTime


def _utc(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable)


class PartnerBase(SQLModel):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    size: str
    annual_core_pence: int = Field(sa_type=BigInteger)
    slack_channel: str


class PartnerRecord(PartnerBase, table=True):
    __tablename__ = "partner"


class PeriodRecord(SQLModel, table=True):
    __tablename__ = "period"
    id: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    state: str = Field(default="open")  # open -> due -> closed
    last_cycle_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class SubmissionBase(SQLModel):
    sha256: str = Field(max_length=64, unique=True)
    filename: str  # as the partner named it
    stored_path: str  # the archived, read-only copy of the original bytes
    source: str | None = None  # where it was found (inbox path or URL)
    size_bytes: int | None = None
    sender_partner_id: str | None = Field(default=None, max_length=64)  # the partner folder it came from
    received_at: datetime = Field(sa_column=_utc())
    partner_id: str | None = Field(default=None, foreign_key="partner.id", index=True)
    period: str | None = Field(default=None, max_length=7, index=True)
    version: int | None = None
    # received -> accepted | rejected | quarantined (no partner to file it under); accepted -> superseded | sent_back
    status: str = "received"
    on_time: bool | None = None
    row_count: int = 0
    error_count: int = 0
    warning_count: int = 0
    info_count: int = 0
    feedback_path: str | None = None
    # JSON {measure id: rows achieving it}, for plausibility against later months
    measure_counts: str | None = Field(default=None, sa_type=Text)


class Submission(SubmissionBase, table=True):
    __table_args__ = (UniqueConstraint("partner_id", "period", "version", name="uq_submission_version"),)
    id: int | None = Field(default=None, primary_key=True)
    processed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    code: str = Field(max_length=64)
    severity: str = Field(max_length=16)
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = Field(default=None, sa_type=Text)
    message: str = Field(sa_type=Text)
    fix: str | None = Field(default=None, sa_type=Text)  # how to put it right, as the partner was told (from 0010)


class ParticipantRecord(SQLModel, table=True):
    __tablename__ = "participant_row"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    participant_id: str = Field(max_length=TEXT_LIMITS["participant_id"], index=True)
    sheet_row: int | None = None  # the row on the partner's Participants sheet
    referral_date: date
    complexity_band: str = Field(max_length=64)
    achieved: str = ""  # measure ids achieved, comma-separated, sorted
    postcode_district: str | None = None


class AchievementGroup(SQLModel, table=True):
    """How many of a submission's rows have each complexity band and set of measures achieved: what its outcome
    points are computed from, counted once when the rows are recorded (a payment run reads these, not the rows)."""

    __tablename__ = "achievement_group"
    __table_args__ = (UniqueConstraint("submission_id", "complexity_band", "achieved", name="uq_achievement_group"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    complexity_band: str = Field(max_length=64)
    achieved: str = ""  # measure ids achieved, comma-separated, sorted (as participant_row.achieved)
    rows: int


class PaymentRun(SQLModel, table=True):
    """One immutable version of a period's payments (UPDATE/DELETE refused by the database)."""

    __tablename__ = "payment_run"
    __table_args__ = (UniqueConstraint("period", "version", name="uq_payment_run_version"),)
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, index=True)
    version: int
    idempotency_key: str = Field(unique=True)
    inputs_hash: str = Field(max_length=64)
    contract_fingerprint: str = Field(max_length=64)
    framework_version: int
    target_points: str
    alliance_points: str
    alliance_factor: str
    pool_pence: int = Field(sa_type=BigInteger)
    payable_pence: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_column=_utc())
    # A draft until an officer approves it (payments.require_officer_approval when it was made).
    requires_approval: bool = False
    # The payable version whose amounts this one's adjustment lines take off (None: the first paid).
    base_version: int | None = None
    inputs: str = Field(default="{}", sa_type=Text)  # canonical JSON of what inputs_hash covers


class PaymentLine(SQLModel, table=True):
    __tablename__ = "payment_line"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="payment_run.id", index=True)
    partner_id: str = Field(foreign_key="partner.id")
    kind: str = Field(max_length=16)  # core | outcome | adjustment
    amount_pence: int = Field(sa_type=BigInteger)
    points: str | None = None
    explanation: str = Field(sa_type=Text)
    working: str = Field(default="{}", sa_type=Text)  # canonical JSON: the figures behind the line


class PaymentApproval(SQLModel, table=True):
    """An officer's approval of one run version (append-only, one per run)."""

    __tablename__ = "payment_approval"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="payment_run.id", unique=True)
    approved_by: str
    approved_at: datetime = Field(sa_column=_utc())


class ReturnLock(SQLModel, table=True):
    """A lock or unlock of one partner's return for a period (append-only; the latest event holds)."""

    __tablename__ = "return_lock"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, index=True)
    partner_id: str = Field(foreign_key="partner.id")
    action: str = Field(max_length=8)  # lock | unlock
    run_id: int | None = Field(default=None, foreign_key="payment_run.id")  # the approved run that locked it
    by: str
    reason: str = Field(default="", sa_type=Text)
    at: datetime = Field(sa_column=_utc())


class FundingAdjustment(SQLModel, table=True):
    """A board-approved step-down of core funding, in force from a period onwards (append-only)."""

    __tablename__ = "funding_adjustment"
    __table_args__ = (UniqueConstraint("reverses_id", name="uq_funding_adjustment_reverses"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="partner.id", index=True)
    from_period: str = Field(max_length=7)
    percent: int
    reason: str = Field(sa_type=Text)
    decided_by: str
    decided_at: datetime = Field(sa_column=_utc())
    decision_id: int | None = None  # the board decision (board_decision.id) that put it in force
    # The adjustment an appeal reversed (it has percent 0: funding restored from that one's start).
    reverses_id: int | None = None


class ReviewRecord(SQLModel, table=True):
    """One contract year's review as computed and notified (append-only: the board acts on this)."""

    __tablename__ = "review"
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(unique=True)  # contract year (1 = the first twelve months)
    first_period: str = Field(max_length=7)
    last_period: str = Field(max_length=7)
    computed_at: datetime = Field(sa_column=_utc())
    reply_closes: date  # last London day of the flagged partners' right of reply
    board_deadline: datetime = Field(sa_column=_utc())  # after it, the chair is told and funding is unchanged
    phi: float
    tau2: float
    overdispersion_applied: bool
    variance_per_expected: float


class ReviewCase(SQLModel, table=True):
    """One partner's figures and standing in a review (append-only)."""

    __tablename__ = "review_case"
    __table_args__ = (UniqueConstraint("review_id", "partner_id", name="uq_review_case_partner"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    partner_id: str = Field(foreign_key="partner.id")
    standing: str = Field(max_length=16)  # flagged | watch | clear
    basis: str = Field(max_length=32)  # the rule that decided it (domain.review.Basis)
    reason: str = Field(sa_type=Text)
    rank: int | None = None
    ranked: int
    bottom: int
    accepted_months: int
    rows: int
    observed: float
    expected: float
    variance: float
    ratio: float | None = None
    z: float | None = None
    z_adjusted: float | None = None
    lower_limit: float | None = None
    upper_limit: float | None = None
    lower_998: float | None = None
    trend: str = Field(default="[]", sa_type=Text)  # JSON [[period, rows, O, E], ...]
    case_mix: str = Field(default="{}", sa_type=Text)  # JSON {band: rows}
    evidence_path: str | None = None  # the evidence pack workbook, for flagged partners


class ReviewReply(SQLModel, table=True):
    """A flagged partner's reply within its right of reply (append-only)."""

    __tablename__ = "review_reply"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    received_at: datetime = Field(sa_column=_utc())
    by: str
    text: str = Field(default="", sa_type=Text)
    filename: str | None = None  # as the partner named it
    stored_path: str | None = None  # the archived copy of the file
    sha256: str | None = Field(default=None, max_length=64)


class BoardDecisionRecord(SQLModel, table=True):
    """The board's decision on a review case, or a later one on appeal (append-only)."""

    __tablename__ = "board_decision"
    id: int | None = Field(default=None, primary_key=True)
    # review decisions: "<year>/<partner>"; reversals: "reverse/<decision id>": each is taken once
    decision_key: str = Field(unique=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    partner_id: str = Field(foreign_key="partner.id")
    kind: str = Field(max_length=32)
    step_down_percent: int | None = None
    effective: str | None = Field(default=None, max_length=7)
    decided_by: str
    reason: str = Field(sa_type=Text)
    decided_at: datetime = Field(sa_column=_utc())
    via: str = Field(max_length=32)  # prefect-ui | cli
    reverses_id: int | None = Field(default=None, foreign_key="board_decision.id")


class BoardConfirmation(SQLModel, table=True):
    """One board member's confirmation of a proposed step-down or withdrawal, where the contract asks for more than
    one (review.decision_quorum); the decision is recorded once that many different members confirm the same one."""

    __tablename__ = "board_confirmation"
    __table_args__ = (UniqueConstraint("case_id", "proposal", "member_key", name="uq_board_confirmation_member"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    proposal: str = Field(max_length=64)  # "step_down/25/2027-06": what is confirmed
    member: str  # who confirmed, as the account or the contract names them
    member_key: str = Field(max_length=255)  # the same person however written
    reason: str = Field(sa_type=Text)
    confirmed_at: datetime = Field(sa_column=_utc())


class AuditEntry(SQLModel, table=True):
    """Append-only; each entry carries the hash of the one before it."""

    __tablename__ = "audit_entry"
    # One entry follows each entry: a fork of the chain is refused by the database.
    __table_args__ = (Index("uq_audit_entry_prev_hash", "prev_hash", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc())
    actor: str
    action: str
    subject: str
    detail: str = Field(default="{}", sa_type=Text)  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class Notification(SQLModel, table=True):
    """The outbox: written in the same transaction as the change it reports."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True)
    channel: str
    partner_id: str | None = Field(default=None, foreign_key="partner.id")
    kind: str = Field(max_length=64)
    text: str = Field(sa_type=Text)
    payload: str = Field(default="{}", sa_type=Text)
    status: str = "pending"  # pending -> sent | failed
    attempts: int = 0
    created_at: datetime = Field(sa_column=_utc())
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    slack_ts: str | None = None  # Slack's id of the delivered message (a statement file goes in its thread)
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # a relay is sending it
    file_id: str | None = None  # an uploaded statement file, not yet known to be shared


class SpotCheckDraw(SQLModel, table=True):
    """A sample of one accepted version's claimed outcomes for officers to verify (append-only: the seed is kept).

    One per accepted version: a corrected version gets a draw of its own, from the claims not drawn before."""

    __tablename__ = "spot_check_draw"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=7, index=True)
    partner_id: str = Field(foreign_key="partner.id")
    submission_id: int = Field(foreign_key="submission.id", unique=True)  # the accepted version drawn from
    seed: str = Field(max_length=64)  # domain.spot_checks.draw: anyone holding it can repeat the draw
    claims: int  # claims in the version not drawn before: what the sample was drawn from
    sample_size: int
    risks: str = Field(default="[]", sa_type=Text)  # JSON [[risk, evidence], ...]: why the sample is that large
    drawn_at: datetime = Field(sa_column=_utc())


class SpotCheckClaim(SQLModel, table=True):
    """A claim drawn: one participant's one outcome in the partner's accepted return (append-only)."""

    __tablename__ = "spot_check_claim"
    __table_args__ = (UniqueConstraint("draw_id", "participant_id", "measure", name="uq_spot_check_claim"),)
    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="spot_check_draw.id", index=True)
    participant_id: str = Field(max_length=64)
    measure: str = Field(max_length=64)
    band: str = Field(max_length=64)
    sheet_row: int | None = None


class SpotCheckResult(SQLModel, table=True):
    """An officer's finding on a claim drawn: verified, or not (then it is withdrawn). Once per claim, append-only."""

    __tablename__ = "spot_check_result"
    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="spot_check_claim.id", unique=True)
    result: str = Field(max_length=16)  # verified | not_verified
    by: str
    reason: str = Field(default="", sa_type=Text)
    recorded_at: datetime = Field(sa_column=_utc())
