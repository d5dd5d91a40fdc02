"""The annual review (DESIGN.md section 6): figures, flags, evidence and the partner's replies.

Statistics and rules are in ``domain.performance`` and ``domain.review``; this module gathers the year's accepted
returns, stores what the board acts on, writes evidence packs and queues the messages (in the same transaction as
the change they report). The board's decision, and the funding adjustment it makes, are in
``services.board_decisions``.
"""

import hashlib
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain.access import Principal, authorise_person
from domain.contract import Contract, FirstYearRule, RankBy
from domain.errors import UsageError
from domain.performance import Z_95, Z_998, AlliancePerformance, BandCounts, Overdispersion, assess
from domain.periods import LONDON, Period, contract_month, format_day, london_date
from domain.review import (
    PartnerStanding,
    PreviousYear,
    Standing,
    classify,
    control_limit,
    first_year_limit,
    previous_year,
)
from domain.spot_checks import without_withdrawn
from integrations.plots import FunnelPoint, funnel_layout, funnel_png
from integrations.spreadsheets.evidence import EvidencePack, QualityRow, write_evidence_pack
from models import repo, reviews
from models.audit import append_audit
from models.db import session_scope
from models.tables import ReviewCase, ReviewRecord, ReviewReply
from services import messages, outbox
from services.deps import Deps
from services.spot_checks import withdrawn_rows_in

REPLY_FILE_LIMIT = 20 * 1024 * 1024
REPLY_TEXT_LIMIT = 20_000  # characters; a longer case goes as a document


# --- The year and its figures ------------------------------------------------------------------


def year_periods(contract: Contract, year: int) -> list[Period]:
    if year < 1:
        raise UsageError(f"contract year {year} does not exist: years are numbered from 1 ({contract.alliance.start})")
    first = contract.alliance.start.plus(12 * (year - 1))
    return [first.plus(i) for i in range(12)]


def year_label(contract: Contract, year: int) -> str:
    periods = year_periods(contract, year)
    return f"contract year {year} ({periods[0]} to {periods[-1]})"


def year_so_far(deps: Deps, year: int) -> str | None:
    """Whether a year's figures can be shown yet: refused (UsageError) before the year begins; for a year not yet
    ended, the words saying so (its figures are a preview of the months so far); None once it has ended."""
    contract = deps.contract
    periods = year_periods(contract, year)
    today = london_date(deps.clock())
    if today < periods[0].first_day:
        this_year, _ = contract_month(
            max(Period(today.year, today.month), contract.alliance.start), contract.alliance.start
        )
        now = (
            "the contract has not begun yet"
            if today < contract.alliance.start.first_day
            else f"this is contract year {this_year}"
        )
        raise UsageError(
            f"{year_label(contract, year)} has not begun: it begins on {format_day(periods[0].first_day)} ({now})"
        )
    if today <= periods[-1].last_day:
        return f"the year runs until {format_day(periods[-1].last_day)}; it is reviewed after it ends"
    return None


@dataclass(frozen=True)
class Assessment:
    year: int
    periods: list[Period]
    performance: AlliancePerformance
    standings: tuple[PartnerStanding, ...]

    def standing(self, partner_id: str) -> PartnerStanding:
        return next(s for s in self.standings if s.partner_id == partner_id)


def assess_year(session: Session, *, contract: Contract, year: int) -> Assessment:
    """Every partner's figures and standing over the year's accepted returns, as of now."""
    periods = year_periods(contract, year)
    performance = performance_over(session, contract=contract, periods=periods)
    months = _accepted_months(session, periods=periods)
    review = contract.review
    previous: PreviousYear | None = None
    if review.persistence and year > 1:
        before = performance_over(session, contract=contract, periods=year_periods(contract, year - 1))
        previous = previous_year(before, review.rank_by)
    halves = None
    new_this_year = previous is None or any(pid not in previous.ranked for pid in contract.partner_ids)
    if review.persistence and review.first_year is FirstYearRule.both_halves and new_this_year:
        # The first-year rule, for contract year 1 or a partner not ranked last year: each half taken on its own.
        halves = (
            performance_over(session, contract=contract, periods=periods[:6]),
            performance_over(session, contract=contract, periods=periods[6:]),
        )
    standings = classify(
        performance,
        review=review,
        accepted_months=months,
        names={p.id: p.name for p in contract.partners},
        previous=previous,
        halves=halves,
    )
    return Assessment(year=year, periods=periods, performance=performance, standings=standings)


def performance_over(session: Session, *, contract: Contract, periods: list[Period]) -> AlliancePerformance:
    return performance_of(contract, counted_rows(session, periods=periods))


def performance_of(contract: Contract, counted: list[reviews.CountRow]) -> AlliancePerformance:
    """O, E and the limits from rows as counted (``counted_rows``)."""
    grouped: dict[tuple[str, str, str], tuple[int, dict[str, int]]] = {}
    for row in counted:
        rows, achieved = grouped.get((row.partner_id, row.period, row.band), (0, {}))
        for measure in row.achieved:
            achieved[measure] = achieved.get(measure, 0) + row.rows
        grouped[row.partner_id, row.period, row.band] = (rows + row.rows, achieved)
    counts = [
        BandCounts(partner_id=pid, period=Period.parse(period), band=band, rows=rows, achieved=achieved)
        for (pid, period, band), (rows, achieved) in sorted(grouped.items())
    ]
    weights = {m.id: m.weight for m in contract.framework.measures}
    return assess(counts, weights, contract.partner_ids, overdispersion=contract.review.overdispersion)


def counted_rows(session: Session, *, periods: list[Period]) -> list[reviews.CountRow]:
    """The accepted returns' rows in ``periods`` as counted: claims withdrawn after spot checks left out."""
    counts = reviews.year_counts(session, periods=[str(p) for p in periods])
    withdrawn = withdrawn_rows_in(session, periods=[str(p) for p in periods])
    if not withdrawn:
        return counts
    by_month: dict[tuple[str, str], list[reviews.CountRow]] = {}
    for row in counts:
        by_month.setdefault((row.partner_id, row.period), []).append(row)
    counted = [row for key, rows in by_month.items() if key not in withdrawn for row in rows]
    for (partner_id, period), rows in withdrawn.items():
        groups = [(r.band, r.achieved, r.rows) for r in by_month.get((partner_id, period), [])]
        counted += [
            reviews.CountRow(partner_id, period, band, achieved, n)
            for band, achieved, n in without_withdrawn(groups, rows)
        ]
    return counted


def _accepted_months(session: Session, *, periods: list[Period]) -> dict[str, int]:
    months: dict[str, set[str]] = {}
    for s in reviews.submissions_in(session, periods=[str(p) for p in periods]):
        if s.status == "accepted" and s.partner_id and s.period:
            months.setdefault(s.partner_id, set()).add(s.period)
    return {pid: len(ps) for pid, ps in months.items()}


FUNNELS = ((Z_95, "95% limits"), (Z_998, "99.8% limits"))
# Each point's colour says the partner's standing in the review.
REVIEW_STATUSES = {
    Standing.clear: ("tab:blue", "partner: clear"),
    Standing.watch: ("tab:purple", "partner: on the watch list"),
    Standing.flagged: ("tab:orange", "partner: flagged for formal review"),
}


def funnel_for(assessment: Assessment, contract: Contract, *, highlight: str | None = None) -> bytes:
    points = [
        FunnelPoint(
            label=_name(contract, s.partner_id),
            expected=s.performance.expected,
            ratio=s.performance.ratio or 0.0,
            status=s.standing,
        )
        for s in assessment.standings
        if s.performance.ratio is not None
    ]
    funnels = list(FUNNELS)
    configured = control_limit(contract.review)
    if all(abs(configured - z) > 1e-3 for z, _ in funnels):
        funnels.append((configured, f"review limit (z = {configured:g})"))
    od = assessment.performance.overdispersion
    note = f"\nlimits allow for overdispersion (tau² = {od.tau2:.4f})" if od.applied else ""
    performance = assessment.performance
    return funnel_png(
        funnel_layout(
            points,
            limits=performance.funnel if performance.drawable else None,
            funnels=funnels,
            statuses=REVIEW_STATUSES,
            title=f"Outcomes for case mix, {year_label(contract, assessment.year)}{note}",
            highlight=highlight,
        )
    )


# --- Starting a review -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewStart:
    review: ReviewRecord
    cases: list[ReviewCase]
    created: bool

    @property
    def flagged(self) -> list[ReviewCase]:
        return [c for c in self.cases if c.standing == Standing.flagged]


def start_review(deps: Deps, *, year: int) -> ReviewStart:
    """Compute the year's review, store it, write evidence packs and tell the flagged partners and the board.

    Once per year: a second call (or a re-run of the flow) returns the stored review unchanged.
    """
    contract = deps.contract
    periods = year_periods(contract, year)
    now = deps.clock()
    if london_date(now) <= periods[-1].last_day:
        raise UsageError(
            f"{year_label(contract, year)} runs until {format_day(periods[-1].last_day)}: review it after it ends"
        )
    with session_scope(deps.engine) as session:
        existing = reviews.review_of(session, year=year)
        if existing is not None and existing.id is not None:
            return ReviewStart(existing, reviews.cases_of(session, review_id=existing.id), created=False)
        assessment = assess_year(session, contract=contract, year=year)
        quality = reviews.submissions_in(session, periods=[str(p) for p in periods])
    folder = deps.workspace.reviews_dir / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "funnel.png").write_bytes(funnel_for(assessment, contract))
    reply_closes = london_date(now) + timedelta(days=contract.review.right_of_reply_days)
    board_deadline = _end_of_day(reply_closes + timedelta(days=contract.review.board_timeout_days))
    evidence: dict[str, str] = {}
    for standing in assessment.standings:
        if standing.flagged:
            path = folder / evidence_name(standing.partner_id, year)
            pack = _pack(contract, assessment, standing, quality, reply_closes)
            write_evidence_pack(pack, path)
            evidence[standing.partner_id] = path.name
    try:
        with session_scope(deps.engine) as session:
            return _store(deps, session, assessment, evidence, reply_closes, board_deadline)
    except DatabaseIntegrityError:
        with session_scope(deps.engine) as session:  # another process stored it first: the same review
            stored = reviews.review_of(session, year=year)
            if stored is None or stored.id is None:
                raise
            return ReviewStart(stored, reviews.cases_of(session, review_id=stored.id), created=False)


def evidence_name(partner_id: str, year: int) -> str:
    return f"{partner_id}-review-{year}.xlsx"


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), LONDON).astimezone(UTC)


def _store(
    deps: Deps,
    session: Session,
    assessment: Assessment,
    evidence: dict[str, str],
    reply_closes: date,
    board_deadline: datetime,
) -> ReviewStart:
    contract, now, year = deps.contract, deps.clock(), assessment.year
    od = assessment.performance.overdispersion
    review = ReviewRecord(
        year=year,
        first_period=str(assessment.periods[0]),
        last_period=str(assessment.periods[-1]),
        computed_at=now,
        reply_closes=reply_closes,
        board_deadline=board_deadline,
        phi=od.phi,
        tau2=od.tau2,
        overdispersion_applied=od.applied,
        variance_per_expected=assessment.performance.variance_per_expected,
    )
    session.add(review)
    session.flush()
    assert review.id is not None
    cases = [_case(review.id, s, evidence.get(s.partner_id), contract) for s in assessment.standings]
    session.add_all(cases)
    session.flush()
    flagged = [c for c in cases if c.standing == Standing.flagged]
    append_audit(
        session,
        at=now,
        actor="partner-review",
        action="review.started",
        subject=f"year {year}",
        detail={
            "flagged": [c.partner_id for c in flagged],
            "watch": [c.partner_id for c in cases if c.standing == Standing.watch],
            "tau2": od.tau2,
            "reply_closes": reply_closes.isoformat(),
        },
    )
    label = year_label(contract, year)
    for case in flagged:
        partner = contract.partner(case.partner_id)
        assert partner is not None
        outbox.tell_partner(
            session,
            partner,
            dedup_key=f"review:{year}:evidence:{case.partner_id}",
            kind="review_evidence",
            at=now,
            text=messages.review_evidence(
                partner_name=partner.name,
                year_label=label,
                reason=case.reason,
                reply_closes=format_day(reply_closes),
                partner_id=partner.id,
            ),
            payload={"folder": "reviews", "file": f"{year}/{case.evidence_path}", "review": year},
        )
    text = messages.review_started(
        year_label=label,
        flagged=[_name(contract, c.partner_id) for c in flagged],
        watch=[_name(contract, c.partner_id) for c in cases if c.standing == Standing.watch],
        reply_closes=format_day(reply_closes),
        board_deadline=format_day(london_date(board_deadline)),
    )
    for channel in (contract.alliance.board_channel, contract.alliance.officers_channel):
        repo.enqueue(
            session,
            dedup_key=f"review:{year}:started:{channel}",
            channel=channel,
            kind="review_started",
            at=now,
            text=text,
        )
    return ReviewStart(review, cases, created=True)


def _name(contract: Contract, partner_id: str) -> str:
    partner = contract.partner(partner_id)
    return partner.name if partner else partner_id


def _case(review_id: int, s: PartnerStanding, evidence: str | None, contract: Contract) -> ReviewCase:
    p = s.performance
    limits = p.limits(control_limit(contract.review))
    wide = p.limits(Z_998)
    return ReviewCase(
        review_id=review_id,
        partner_id=s.partner_id,
        standing=s.standing.value,
        basis=s.basis.value,
        reason=s.reason,
        rank=s.rank,
        ranked=s.ranked,
        bottom=s.bottom,
        accepted_months=s.accepted_months,
        rows=p.rows,
        observed=p.observed,
        expected=p.expected,
        variance=p.variance,
        ratio=p.ratio,
        z=p.z,
        z_adjusted=p.z_adjusted,
        lower_limit=limits[0] if limits else None,
        upper_limit=limits[1] if limits else None,
        lower_998=wide[0] if wide else None,
        trend=json.dumps([[str(m.period), m.rows, m.observed, m.expected] for m in p.months]),
        case_mix=json.dumps(dict(p.rows_by_band), sort_keys=True),
        evidence_path=evidence,
    )


def _pack(
    contract: Contract,
    assessment: Assessment,
    standing: PartnerStanding,
    quality: Sequence[Any],
    reply_closes: date,
) -> EvidencePack:
    p = standing.performance
    partner = contract.partner(standing.partner_id)
    assert partner is not None
    z_limit = control_limit(contract.review)
    limits = p.limits(z_limit)
    alliance_bands: dict[str, int] = {}
    for other in assessment.performance.partners:
        for band, rows in other.rows_by_band.items():
            alliance_bands[band] = alliance_bands.get(band, 0) + rows
    od = assessment.performance.overdispersion
    figures: list[tuple[str, float | int | str | None, str]] = [
        ("Participant rows in accepted returns", p.rows, "#,##0"),
        ("Accepted months", standing.accepted_months, "0"),
        ("Observed outcomes O (weighted points)", round(p.observed, 2), "#,##0.00"),
        ("Expected for its case mix E", round(p.expected, 2), "#,##0.00"),
        ("O/E", p.ratio, "0.000"),
        ("z-score", p.z, "0.00"),
        ("z-score allowing for overdispersion", p.z_adjusted, "0.00"),
        (f"Lower control limit (z = {z_limit:g})", limits[0] if limits else None, "0.000"),
        ("Lower 99.8% limit", (p.limits(Z_998) or (None,))[0], "0.000"),
        (f"Rank by {_key(contract)} (1 = lowest)", f"{standing.rank} of {standing.ranked}", ""),
        ("Rule applied", standing.rule.value, ""),
        ("Partners in the bottom fraction", standing.bottom, "0"),
    ]
    mine = [q for q in quality if q.partner_id == standing.partner_id]
    return EvidencePack(
        alliance=contract.alliance.name,
        partner_id=partner.id,
        partner_name=partner.name,
        year_label=year_label(contract, assessment.year),
        standing=standing.standing.value,
        reason=standing.reason,
        rule=review_rule(contract),
        figures=figures,
        trend=p.months,
        case_mix=[(b, p.rows_by_band.get(b, 0), alliance_bands.get(b, 0)) for b in contract.framework.bands],
        quality=[
            QualityRow(
                period=q.period or "",
                version=q.version or 0,
                filename=q.filename,
                received=format_day(london_date(q.received_at)),
                on_time=q.on_time,
                status=q.status,
                errors=q.error_count,
                warnings=q.warning_count,
            )
            for q in mine
        ],
        method=method_lines(contract, od),
        reply_closes=format_day(reply_closes),
        funnel_png=funnel_for(assessment, contract, highlight=partner.name),
    )


def _key(contract: Contract) -> str:
    return "z-score (allowing for overdispersion)" if contract.review.rank_by is RankBy.z else "O/E"


def review_rule(contract: Contract) -> str:
    r = contract.review
    rule = (
        f"A partner is flagged for formal review when it is among the lowest {r.bottom_fraction:%} of partners "
        f"by {_key(contract)} (at least one partner), AND below its lower control limit "
        f"(z = {r.control_limit_z}), AND has at least {r.min_accepted_months} months of accepted returns"
    )
    if r.persistence:
        first = (
            "below its lower control limit in each half of the year, each half taken on its own"
            if r.first_year is FirstYearRule.both_halves
            else f"below its 99.8% lower limit (z = {first_year_limit(r):.2f})"
        )
        rule += (
            ", AND was in the lowest fifth (by the same measure) the year before; in a year with no previous one "
            f"(contract year 1, or a partner new this year), instead {first}"
        )
    return rule + ". Otherwise a bottom-fraction partner is on the watch list, not under review."


def method_lines(contract: Contract, od: Overdispersion) -> list[str]:
    applied = "applied" if od.applied else "not applied (no excess variation found, or switched off)"
    return [
        "Observed O: the sum over outcome measures of weight x participants achieving it, over the year's "
        "accepted returns.",
        "Expected E: for each complexity band, the partner's participants x the whole alliance's achievement rate "
        "in that band, weighted the same way (indirect standardisation): what an average partner would achieve "
        "with the same cases.",
        "O/E above 1: better than expected for its case mix; below 1: worse. z = (O - E) / sqrt(V), "
        "V = sum of weight^2 x n x r x (1 - r).",
        f"Overdispersion: {Overdispersion.METHOD}. Here phi = {od.phi:.3f}, tau^2 = {od.tau2:.5f}: {applied}.",
        "Control limits on O/E: 1 +/- z x sqrt(se^2 + tau^2), with se = sqrt(V) / E; the funnel plot draws 95% "
        "and 99.8% limits.",
        review_rule(contract),
    ]


# --- Replies -----------------------------------------------------------------------------------


def _flagged_case(
    session: Session, *, contract: Contract, year: int, partner_id: str
) -> tuple[ReviewRecord, ReviewCase]:
    contract.known_partner(partner_id)
    review = reviews.review_of(session, year=year)
    if review is None or review.id is None:
        raise UsageError(f"there is no review for {year_label(contract, year)} yet: run `alliance review run`")
    case = reviews.case_of(session, review_id=review.id, partner_id=partner_id)
    if case is None or case.standing != Standing.flagged:
        raise UsageError(f"{partner_id} is not under review in {year_label(contract, year)}")
    return review, case


def reply(
    deps: Deps,
    *,
    year: int,
    partner_id: str,
    by: "str | Principal",
    text: str = "",
    file: Path | None = None,
    filename: str | None = None,
) -> ReviewReply:
    """A flagged partner's reply (text, a file or both), kept for the board; only within the right of reply.
    ``by``: a signed-in account, or a name (the CLI's ``--by``); ``filename``: the file's name as the partner
    gave it, when ``file`` is a copy under another name (an upload)."""
    contract, now = deps.contract, deps.clock()
    text = text.strip()
    if not text and file is None:
        raise UsageError("a reply needs --text or --file")
    if len(text) > REPLY_TEXT_LIMIT:
        raise UsageError(f"a reply's text is at most {REPLY_TEXT_LIMIT:,} characters: attach a document instead")
    if isinstance(by, str) and not by.strip():
        raise UsageError("say who replies for the partner: --by NAME")
    by = authorise_person(contract.roles, by, "review reply", partner_id=partner_id)  # with roles: acts for it
    shown_name = (filename or (file.name if file else "")).strip() or None
    if file is not None:
        if not file.is_file():
            raise UsageError(f"{shown_name} is not a file")
        if file.stat().st_size > REPLY_FILE_LIMIT:
            raise UsageError(f"{shown_name} is larger than {REPLY_FILE_LIMIT // (1024 * 1024)} MB: send a smaller file")
    with session_scope(deps.engine) as session:
        review, case = _flagged_case(session, contract=contract, year=year, partner_id=partner_id)
        if london_date(now) > review.reply_closes:
            closed = format_day(review.reply_closes)
            raise UsageError(f"the right of reply closed on {closed}: the reply was not recorded")
        stored, digest = _archive_reply(deps, year, partner_id, file, shown_name or "") if file else (None, None)
        assert case.id is not None
        record = reviews.add_reply(
            session,
            reply=ReviewReply(
                case_id=case.id,
                received_at=now,
                by=by.strip(),
                text=text,
                filename=shown_name if file else None,
                stored_path=stored,
                sha256=digest,
            ),
        )
        append_audit(
            session,
            at=now,
            actor=by.strip(),
            action="review.reply",
            subject=f"year {year}/{partner_id}",
            detail={"reply_id": record.id, "file": shown_name if file else None, "sha256": digest},
        )
        partner = contract.partner(partner_id)
        assert partner is not None
        label = year_label(contract, year)
        repo.enqueue(
            session,
            dedup_key=f"review:{year}:reply:{record.id}:board",
            channel=contract.alliance.board_channel,
            kind="review_reply",
            at=now,
            text=messages.review_reply_received(
                partner_name=partner.name, year_label=label, text=text, filename=shown_name if file else None
            ),
        )
        outbox.tell_partner(
            session,
            partner,
            dedup_key=f"review:{year}:reply:{record.id}:partner",
            kind="review_reply",
            at=now,
            text=messages.review_reply_acknowledged(
                partner_name=partner.name, year_label=label, reply_closes=format_day(review.reply_closes)
            ),
        )
        return record


def _archive_reply(deps: Deps, year: int, partner_id: str, file: Path, name: str) -> tuple[str, str]:
    content = file.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    folder = deps.workspace.reviews_dir / str(year) / "replies" / partner_id
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name or file.name)
    stem, dot, suffix = safe.rpartition(".")
    if len(safe) > 120:  # a file name is at most 255 bytes: keep the start and the extension
        safe = f"{stem[:100]}.{suffix[:16]}" if dot else safe[:120]
    target = folder / f"{digest[:16]}-{safe}"
    if not target.exists():
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(file, partial)
        partial.replace(target)
    return str(target.relative_to(deps.workspace.root)), digest


def review_table(deps: Deps, *, year: int) -> tuple[bool, list[dict[str, Any]]]:
    """Per partner: O, E, ratio, z, limits, flagged, watch, reason; (stored?, rows). Before the review has
    been started the figures are computed from the accepted returns as they are now."""
    contract = deps.contract
    with session_scope(deps.engine) as session:
        review = reviews.review_of(session, year=year)
        if review is not None and review.id is not None:
            rows = [_row_from_case(c) for c in reviews.cases_of(session, review_id=review.id)]
            return True, rows
        assessment = assess_year(session, contract=contract, year=year)
    # Unsaved cases: the preview is built exactly as the stored review's rows are.
    return False, [_row_from_case(_case(0, s, None, contract)) for s in assessment.standings]


def _row_from_case(c: ReviewCase) -> dict[str, Any]:
    return {
        "partner": c.partner_id,
        "O": round(c.observed, 4),
        "E": round(c.expected, 4),
        "ratio": _round(c.ratio),
        "z": _round(c.z_adjusted),
        "lower_limit": _round(c.lower_limit),
        "upper_limit": _round(c.upper_limit),
        "accepted_months": c.accepted_months,
        "flagged": c.standing == Standing.flagged,
        "watch": c.standing == Standing.watch,
        "reason": c.reason,
    }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
