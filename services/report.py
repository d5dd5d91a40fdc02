"""The alliance report (open books): a period's or a contract year's figures, graded and with small numbers
hidden, written as a static site per audience (``integrations.report_site``).

What is counted is what was paid: accepted returns, claims withdrawn after spot checks left out. Counts of
participants and claims are hidden under ``report.suppress_below`` (and withheld where a total would give a
hidden one away, ``domain.publication``). Money paid and O/E are organisations' figures, but a partner's outcome
payment over the alliance's price per point is its points exactly, and for a small partner points can narrow
(with equal band weights, pin) a hidden count: so partners' payments are for the alliance by default, and the
public sees the alliance's totals. No participant id is ever read into a figure.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from domain.board import LABELS, DecisionKind
from domain.contract import Contract
from domain.errors import UsageError
from domain.monitors import MONITORS, Alert
from domain.performance import AlliancePerformance
from domain.periods import Period, contract_month, format_day, london_date
from domain.publication import (
    FIGURES,
    WITHHELD,
    Grade,
    Grid,
    Shown,
    grade_of,
    grid,
    show_with_total,
    show_year_total,
)
from integrations.plots import FunnelPoint, bars_png, funnel_png, lines_png
from integrations.report_site import Column, Figure, ReportDoc, write_report, written_at
from models import checks, ledger, repo, reviews
from models.db import session_scope
from models.ledger import RunState
from models.reviews import CountRow
from services.deps import Deps
from services.monitors import monitor_periods
from services.payment_reports import due_by_partner
from services.review import FUNNELS, counted_rows, performance_of, year_label, year_periods
from services.status import period_status

ALLIANCE = "All partners"


@dataclass(frozen=True)
class ReportWritten:
    label: str
    pages: dict[Grade, Path]


def build_report(deps: Deps, *, period: Period | None = None, year: int | None = None) -> ReportWritten:
    """Write the report of a period (``period``) or of a contract year to date (``year``) for every audience."""
    if (period is None) == (year is None):
        raise UsageError("give either --period YYYY-MM or --year N")
    contract = deps.contract
    with session_scope(deps.engine) as session:
        if period is not None:
            if not _has_books(session, period):
                raise UsageError(f"{period} has no accepted return or payment run yet: nothing to report")
            year_of, _ = contract_month(period, contract.alliance.start)
            books = _books(session, deps, year=year_of, through=period, alert_periods=[period])
            doc = _period_doc(session, deps, books, period)
        else:
            assert year is not None
            books = _books(session, deps, year=year, through=None, alert_periods=None)
            doc = _year_doc(session, deps, books)
    return ReportWritten(doc.label, write_report(deps.workspace.out / "report", doc))


def build_cycle_reports(
    deps: Deps, periods: list[Period], alerts: Mapping[int, list[Alert]] | None = None
) -> list[ReportWritten]:
    """What a cycle publishes: the report of every period it paid, and each one's contract year to date, the
    records read once per year; and again the report of any month with spot-check findings recorded since it
    was built (it was built before officers checked its claims), and its year's. ``alerts``: per contract
    year, ``year_alerts`` already worked out."""
    contract = deps.contract
    root = deps.workspace.out / "report"
    with session_scope(deps.engine) as session:
        found = checks.last_findings(session)
    checked = [Period.parse(p) for p, at in found.items() if _built_before(root, Period.parse(p), at)]
    by_year: dict[int, set[Period]] = {}
    for period in [*periods, *checked]:
        by_year.setdefault(contract_month(period, contract.alliance.start)[0], set()).add(period)
    written = []
    for year, again in sorted(by_year.items()):
        with session_scope(deps.engine) as session:
            known = (alerts or {}).get(year)
            books = _books(session, deps, year=year, through=None, alert_periods=None, alerts=known)
            docs = [_period_doc(session, deps, books, p) for p in sorted(again)] + [_year_doc(session, deps, books)]
        written += [ReportWritten(doc.label, write_report(root, doc)) for doc in docs]
    return written


def _built_before(root: Path, period: Period, finding_at: datetime) -> bool:
    built = written_at(root, str(period))
    return built is None or built <= finding_at


# --- Gathering ---------------------------------------------------------------------------------------


@dataclass
class Gathered:
    """Per month: each partner's counted rows and outcomes (accepted partners only), and its spot checks."""

    rows: dict[Period, dict[str, int]]
    achieved: dict[Period, dict[str, dict[str, int]]]  # period -> measure -> partner -> rows achieving it
    checks: dict[Period, dict[str, dict[str, int]]]  # period -> drawn/verified/not_verified/to_check -> partner


CHECK_COLUMNS = (
    ("drawn", "claims drawn"),
    ("verified", "verified"),
    ("not_verified", "not verified"),
    ("to_check", "still to check"),
)


def _gather(session: Session, contract: Contract, periods: list[Period], counted: list[CountRow]) -> Gathered:
    measures = contract.framework.measure_ids
    accepted = {p: {s.partner_id for s in repo.accepted_submissions(session, period=str(p))} for p in periods}
    rows: dict[Period, dict[str, int]] = {
        p: dict.fromkeys(sorted(pid for pid in accepted[p] if pid), 0) for p in periods
    }
    achieved = {p: {m: dict.fromkeys(rows[p], 0) for m in measures} for p in periods}
    for r in counted:
        period = Period.parse(r.period)
        rows[period][r.partner_id] = rows[period].get(r.partner_id, 0) + r.rows
        for m in r.achieved:
            if m in achieved[period]:
                achieved[period][m][r.partner_id] = achieved[period][m].get(r.partner_id, 0) + r.rows
    checked: dict[Period, dict[str, dict[str, int]]] = {p: {k: {} for k, _ in CHECK_COLUMNS} for p in periods}
    draws = checks.draws_in(session, periods=[str(p) for p in periods])
    for c in checks.checked_claims(session, draw_ids=[d.id for d in draws if d.id is not None]):
        table = checked[Period.parse(c.draw.period)]
        state = c.result.result if c.result else "to_check"
        for key in ("drawn", state):
            table[key][c.draw.partner_id] = table[key].get(c.draw.partner_id, 0) + 1
    for period in periods:  # every partner drawn from has every column
        drawn = checked[period]["drawn"]
        for key, _ in CHECK_COLUMNS:
            checked[period][key] = {pid: checked[period][key].get(pid, 0) for pid in drawn}
    return Gathered(rows, achieved, checked)


# --- Figures -------------------------------------------------------------------------------------------


def _figure(
    contract: Contract, figure_id: str, columns: Sequence[Column], rows: list[dict[str, Any]], **extra: Any
) -> Figure:
    info = FIGURES[figure_id]
    return Figure(
        id=figure_id,
        title=info.title,
        about=info.about,
        grade=grade_of(figure_id, contract.report.figures),
        columns=tuple(columns),
        rows=rows,
        **extra,
    )


def _names(contract: Contract) -> dict[str, str]:
    return {p.id: p.name for p in contract.partners}


def _share(shown: Shown, target: Decimal) -> float | None:
    # A share of a hidden count would give the count away.
    return shown.value / float(target) if shown.value is not None and target > 0 else None


def alliance_outcomes(contract: Contract, grids: Mapping[str, Grid], periods: list[Period], *, year: bool) -> Figure:
    rows: list[dict[str, Any]] = []
    for measure in contract.framework.measures:
        g = grids[measure.id]
        for period in periods if year else periods[-1:]:
            shown = g.month_totals[period]
            rows.append(
                {
                    "period": str(period),
                    "measure": measure.label,
                    "achieved": shown,
                    "target": measure.monthly_target,
                    "of_target": _share(shown, measure.monthly_target),
                }
            )
        if year:
            target = measure.monthly_target * len(periods)
            rows.append(
                {
                    "period": "year to date",
                    "measure": measure.label,
                    "achieved": g.year_total,
                    "target": target,
                    "of_target": _share(g.year_total, target),
                }
            )
    columns = (
        Column("period", "Month"),
        Column("measure", "Outcome"),
        Column("achieved", "Participants achieving it", "count"),
        Column("target", "Alliance target", "number"),
        Column("of_target", "Of target", "percent"),
    )
    return _figure(contract, "alliance_outcomes", columns, rows, plots=("outcomes",))


def outcomes_plot(contract: Contract, grids: Mapping[str, Grid], periods: list[Period], threshold: int) -> bytes:
    measures = contract.framework.measures
    if len(periods) == 1:
        return bars_png(
            [m.label for m in measures],
            [
                ("achieved", [_value(grids[m.id].month_totals[periods[0]]) for m in measures]),
                ("monthly target", [float(m.monthly_target) for m in measures]),
            ],
            title=f"Alliance outcomes against targets, {periods[0]}",
            ylabel="participants",
            hidden_label=f"<{threshold}",
        )
    return lines_png(
        [str(p) for p in periods],
        [(m.label, [_value(grids[m.id].month_totals[p]) for p in periods]) for m in measures],
        title="Alliance outcomes by month (dashed: each outcome's monthly target)",
        ylabel="participants",
        levels=[(float(m.monthly_target), f"target: {m.label}") for m in measures],
    )


def _value(shown: Shown) -> float | None:
    return float(shown.value) if shown.value is not None else None


def partner_volumes(contract: Contract, volumes: Grid, periods: list[Period], *, year: bool) -> Figure:
    rows = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        if year:
            months = sum(1 for p in periods if partner.id in volumes.months[p])
            count = volumes.year.get(partner.id)
            rows.append({"partner": partner.name, "months": months, "participants": count})
        else:
            count = volumes.months[periods[-1]].get(partner.id)
            rows.append(
                {"partner": partner.name, "return": "accepted" if count else "none accepted", "participants": count}
            )
    total = volumes.year_total if year else volumes.month_totals[periods[-1]]
    if year:
        rows.append({"partner": ALLIANCE, "months": None, "participants": total})
        columns = (
            Column("partner", "Partner"),
            Column("months", "Months accepted", "number"),
            Column("participants", "Participant rows", "count"),
        )
    else:
        rows.append({"partner": ALLIANCE, "return": "", "participants": total})
        columns = (
            Column("partner", "Partner"),
            Column("return", "Return"),
            Column("participants", "Participant rows", "count"),
        )
    return _figure(contract, "partner_volumes", columns, rows)


def partner_outcomes(contract: Contract, grids: Mapping[str, Grid], periods: list[Period], *, year: bool) -> Figure:
    measures = contract.framework.measures
    rows = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        row: dict[str, Any] = {"partner": partner.name}
        for m in measures:
            g = grids[m.id]
            row[m.id] = g.year.get(partner.id) if year else g.months[periods[-1]].get(partner.id)
        rows.append(row)
    rows.append(
        {"partner": ALLIANCE}
        | {m.id: grids[m.id].year_total if year else grids[m.id].month_totals[periods[-1]] for m in measures}
    )
    columns = (Column("partner", "Partner"), *(Column(m.id, m.label, "count") for m in measures))
    notes = ("A partner without an accepted return shows n/a. Claims withdrawn after spot checks are not counted.",)
    return _figure(contract, "partner_outcomes", columns, rows, notes=notes)


def alliance_factor(contract: Contract, runs: Mapping[Period, RunState | None]) -> tuple[Figure, list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    for period, state in runs.items():
        if state is None:
            rows.append({"period": str(period), "run": "not paid yet"})
            continue
        run = state.run
        rows.append(
            {
                "period": str(period),
                "run": f"v{run.version} ({state.status})",
                "alliance_points": Decimal(run.alliance_points),
                "target_points": Decimal(run.target_points),
                "factor": Decimal(run.alliance_factor),
                "pool": run.pool_pence,
                "payable": run.payable_pence,
            }
        )
    columns = (
        Column("period", "Month"),
        Column("run", "Payment run"),
        Column("alliance_points", "Alliance points (A)", "number"),
        Column("target_points", "Target points (T)", "number"),
        Column("factor", "Alliance factor", "ratio"),
        Column("pool", "Monthly outcome pool", "money"),
        Column("payable", "Outcome payments", "money"),
    )
    notes = (
        f"The factor is A / T within the collar {contract.payments.collar} and cap {contract.payments.cap}; "
        "outcome payments are the pool times the factor, shared by partners in proportion to their points.",
    )
    return _figure(contract, "alliance_factor", columns, rows, notes=notes, plots=("factor",)), rows


def factor_plot(contract: Contract, rows: list[dict[str, Any]]) -> bytes:
    return lines_png(
        [r["period"] for r in rows],
        [("alliance factor", [float(r["factor"]) if "factor" in r else None for r in rows])],
        title="The alliance factor by month",
        ylabel="factor (A / T within collar and cap)",
        levels=[(float(contract.payments.collar), "collar"), (float(contract.payments.cap), "cap"), (1.0, "on target")],
    )


def hid_a_count(contract: Contract, gathered: Gathered, periods: list[Period]) -> frozenset[str]:
    """The partners with participants or an outcome count hidden (``<5`` or ``*``) in a month's report of
    ``periods``: their O/E and E are published only roughly (``rough``). Which counts were hidden, the month
    reports say anyway."""
    threshold = contract.report.suppress_below
    tables = [{p: gathered.rows[p] for p in periods}]
    tables += [{p: gathered.achieved[p][m] for p in periods} for m in contract.framework.measure_ids]
    return frozenset(
        pid
        for table in tables
        for month in grid(table, threshold).months.values()
        for pid, cell in month.items()
        if cell.hidden
    )


def rough(expected: float, ratio: float) -> tuple[Decimal, Decimal]:
    """E to the nearest 10 and O/E to one place, half-even. Exact, O/E times E is a partner's weighted outcomes
    to date, and this month's report less last month's gives the month's, from which a hidden count can be
    worked out (a reviewer did, exactly); roughly, the month's weighted outcomes are known only within about
    E/20 + 5 either way."""
    tens = (Decimal(str(expected)) / 10).quantize(Decimal(1), ROUND_HALF_EVEN) * 10
    return tens, Decimal(str(ratio)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def _standing(ratio: float, limits: tuple[float, float]) -> str:
    return "below its limits" if ratio < limits[0] else "above its limits" if ratio > limits[1] else "within"


def partner_performance(
    contract: Contract, performance: AlliancePerformance, label: str, roughly: frozenset[str]
) -> Figure:
    z = float(contract.review.control_limit_z)
    rows = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        p = performance.partner(partner.id)
        row: dict[str, Any] = {"partner": partner.name}
        if p is not None and p.comparable and p.ratio is not None:
            limits = p.limits(z)
            row["standing"] = _standing(p.ratio, limits) if limits else None
            if partner.id in roughly:
                tens, tenths = rough(p.expected, p.ratio)
                withheld = Shown(None, WITHHELD)
                row |= {"expected": Shown(None, f"~{tens}"), "ratio": Shown(None, f"~{tenths}")}
                row |= {"lower": withheld, "upper": withheld, "z": withheld}
            else:
                row |= {
                    "expected": Decimal(f"{p.expected:.1f}"),
                    "ratio": p.ratio,
                    "lower": limits[0] if limits else None,
                    "upper": limits[1] if limits else None,
                    "z": Decimal(f"{p.z_adjusted:.2f}") if p.z_adjusted is not None else None,
                }
        rows.append(row)
    columns = (
        Column("partner", "Partner"),
        Column("expected", "Expected for case mix (E, weighted points)", "number"),
        Column("ratio", "Observed / expected (O/E)", "ratio"),
        Column("lower", f"Lower limit (z = {z:g})", "ratio"),
        Column("upper", "Upper limit", "ratio"),
        Column("z", "z (overdispersion allowed)", "number"),
        Column("standing", "Against its limits"),
    )
    notes = (
        f"{label}. O/E = 1 is what the alliance achieves with the same case mix; a partner is compared with its own "
        "limits, which are wider for smaller partners. Being low is not a decision: only the annual review, with "
        "the partner's reply and the board's decision, changes anyone's funding.",
        "~: roughly (E to the nearest 10, O/E to one place, and so plotted; limits and z withheld, *) for a partner "
        "with a count hidden in a month to date: exact, they would give it away. 'Against its limits' is exact.",
    )
    return _figure(contract, "partner_performance", columns, rows, notes=notes, plots=("funnel",))


def funnel_plot(contract: Contract, performance: AlliancePerformance, label: str, roughly: frozenset[str]) -> bytes:
    names = _names(contract)
    points = []
    for p in performance.partners:
        if not p.comparable or p.ratio is None:
            continue
        expected, ratio = rough(p.expected, p.ratio) if p.partner_id in roughly else (p.expected, p.ratio)
        points.append(
            FunnelPoint(label=names.get(p.partner_id, p.partner_id), expected=float(expected), ratio=float(ratio))
        )
    return funnel_png(
        points, limits=performance.funnel, funnels=list(FUNNELS), title=f"Outcomes for case mix, {label}", name_all=True
    )


def partner_payments(
    session: Session, contract: Contract, runs: Mapping[Period, RunState | None], *, year: bool
) -> Figure:
    """Per partner what its months were paid: due under each month's last payable run, and how much of that
    later versions paid as corrections."""
    periods = list(runs) if year else list(runs)[-1:]
    totals = due_by_partner(session, contract=contract, periods=periods)
    rows: list[dict[str, Any]] = [
        {
            "partner": p.name,
            "core": totals[p.id]["core"],
            "outcome": totals[p.id]["outcome"],
            "total": totals[p.id]["core"] + totals[p.id]["outcome"],
            "corrections": totals[p.id]["corrections"],
        }
        for p in sorted(contract.partners, key=lambda p: p.id)
    ]
    rows.append(
        {"partner": ALLIANCE} | {k: sum(int(r[k]) for r in rows) for k in ("core", "outcome", "total", "corrections")}
    )
    columns = (
        Column("partner", "Partner"),
        Column("core", "Core", "money"),
        Column("outcome", "Outcome", "money"),
        Column("total", "Due", "money"),
        Column("corrections", "Of which paid by corrections", "money"),
    )
    paid_months = [str(p) for p in periods if runs.get(p) is not None]
    note = (
        f"Due under the last payable payment run of {', '.join(paid_months)}; corrections (late returns, claims "
        "withdrawn, board step-downs) were paid by later versions of a month's run, never by editing one."
        if paid_months
        else "No payable payment run yet."
    )
    return _figure(contract, "partner_payments", columns, rows, notes=(note,), plots=("payments",))


def payments_plot(figure: Figure) -> bytes:
    partners = [r for r in figure.rows if r["partner"] != ALLIANCE]
    return bars_png(
        [r["partner"] for r in partners],
        [
            ("core", [r["core"] / 100 for r in partners]),
            ("outcome", [r["outcome"] / 100 for r in partners]),
        ],
        title="Payments due by partner (pounds)",
        ylabel="£",
        stacked=True,
    )


def returns_on_time(session: Session, deps: Deps, periods: list[Period], *, year: bool) -> Figure:
    contract = deps.contract
    if not year:
        table = period_status(session, contract=contract, period=periods[-1], now=deps.clock())
        names = _names(contract)
        rows = [
            {
                "partner": names[r["partner"]],
                "status": r["status"],
                "timeliness": r["timeliness"],
                "versions": r["versions"],
                "due": r["due"],
            }
            for r in table
        ]
        columns = (
            Column("partner", "Partner"),
            Column("status", "Return"),
            Column("timeliness", "Arrived"),
            Column("versions", "Versions sent", "number"),
            Column("due", "Due by"),
        )
        return _figure(contract, "returns_on_time", columns, rows)
    tally = {p.id: {"on_time": 0, "late": 0, "not_accepted": 0} for p in contract.partners}
    for period in periods:
        for r in period_status(session, contract=contract, period=period, now=deps.clock()):
            if r["status"] != "accepted":
                tally[r["partner"]]["not_accepted"] += 1
            elif r["timeliness"] == "late":
                tally[r["partner"]]["late"] += 1
            else:
                tally[r["partner"]]["on_time"] += 1
    tallied = [{"partner": p.name, **tally[p.id]} for p in sorted(contract.partners, key=lambda p: p.id)]
    counted = (
        Column("partner", "Partner"),
        Column("on_time", "Months accepted, on time", "number"),
        Column("late", "Months accepted, late", "number"),
        Column("not_accepted", "Months without an accepted return", "number"),
    )
    return _figure(contract, "returns_on_time", counted, tallied)


def review_decisions(session: Session, contract: Contract, year: int) -> Figure:
    review = reviews.review_of(session, year=year)
    rows = []
    flagged = 0
    if review is not None and review.id is not None:
        names = _names(contract)
        for case in reviews.cases_of(session, review_id=review.id):
            if case.standing != "flagged" or case.id is None:
                continue
            flagged += 1
            decisions = reviews.decisions_of(session, case_id=case.id)
            if not decisions:
                continue
            latest = decisions[-1]
            rows.append(
                {
                    "partner": names.get(case.partner_id, case.partner_id),
                    "decision": _decision_text(latest.kind, latest.step_down_percent, latest.effective),
                    "decided": format_day(london_date(latest.decided_at)),
                }
            )
    note = (
        f"The review of {year_label(contract, year)} put {flagged} partner(s) under formal review; a decision is "
        "shown once the board has recorded it."
        if review is not None
        else f"The review of {year_label(contract, year)} has not been run."
    )
    columns = (Column("partner", "Partner"), Column("decision", "Board decision"), Column("decided", "Decided"))
    return _figure(contract, "review_decisions", columns, rows, notes=(note,), empty="No decision recorded yet.")


def _decision_text(kind: str, percent: int | None, effective: str | None) -> str:
    label = LABELS[DecisionKind(kind)]
    if kind == DecisionKind.step_down:
        return f"{label} by {percent}% from {effective}"
    if kind == DecisionKind.withdraw:
        return f"{label} from {effective}"
    return label


FINDINGS = ("verified", "not_verified", "to_check")  # what became of the claims drawn: they add up to them


def _checks_row(
    counts: Mapping[str, int], threshold: int, withheld: frozenset[str] = frozenset()
) -> tuple[dict[str, Shown], Shown]:
    return show_with_total(
        {k: counts.get(k, 0) for k in FINDINGS}, counts.get("drawn", 0), threshold, withheld=withheld
    )


def spot_checks_figure(contract: Contract, gathered: Gathered, periods: list[Period], *, year: bool) -> Figure:
    """The alliance's claims drawn and their findings, month by month: a partner's few claims a month would be
    hidden whole, and its findings add up to its claims (one shown would give the others away)."""
    threshold = contract.report.suppress_below
    monthly = {p: {k: sum(v.values()) for k, v in gathered.checks[p].items()} for p in periods}
    rows: list[dict[str, Any]] = []
    published: dict[Period, tuple[dict[str, Shown], Shown]] = {}
    for period in periods:
        parts, drawn = published[period] = _checks_row(monthly[period], threshold)
        rows.append({"period": str(period), "drawn": drawn, **parts})
    if year:
        # Each column to date may not give away a month hidden in its monthly report; then the row's own rule.
        total = {k: sum(monthly[p][k] for p in periods) for k in ("drawn", *FINDINGS)}
        withheld = frozenset(
            k for k in FINDINGS if show_year_total([published[p][0][k] for p in periods], total[k], threshold).hidden
        )
        parts, drawn = _checks_row(total, threshold, withheld)
        if show_year_total([published[p][1] for p in periods], total["drawn"], threshold).hidden:  # and its parts
            drawn = Shown(None, WITHHELD)
            parts = {k: v if v.hidden else Shown(None, WITHHELD) for k, v in parts.items()}
        rows = [*rows, {"period": "year to date", "drawn": drawn, **parts}]
    columns = (
        Column("period", "Month"),
        Column("drawn", "Claims drawn", "count"),
        *(Column(key, label, "count") for key, label in CHECK_COLUMNS if key in FINDINGS),
    )
    notes = (
        "Each month a seeded random sample of every partner's claimed outcomes, larger where data quality was poor, "
        "claims rose unusually or earlier checks failed, is checked against evidence. A claim not verified is "
        "withdrawn and its payment recovered by the next payment run. Per partner, with the claims themselves: "
        "`alliance checks list` (officers).",
    )
    return _figure(contract, "spot_checks", columns, rows, notes=notes)


def _evidence(alert: Alert, threshold: int) -> str:
    """The alert's evidence, unless it rests on a count too small to publish: its rates and ratios would
    give the count away."""
    counts = [int(alert.params[k]) for k in MONITORS[alert.code].counts if k in alert.params]
    if any(n < threshold for n in counts):
        return (
            f"Its evidence rests on counts under {threshold}, so it is not published here: "
            "see the officers' cycle summary for the month."
        )
    return alert.evidence()


def gaming_monitors(contract: Contract, alerts: list[Alert], *, year: bool = False) -> Figure:
    threshold = contract.report.suppress_below
    names = _names(contract)
    rows = [
        {
            "period": str(a.period),
            "partner": names.get(a.partner_id, a.partner_id),
            "monitor": MONITORS[a.code].title,
            "code": a.code.value,
            "z": Decimal(f"{a.statistic:.2f}"),
            "threshold": Decimal(f"{a.threshold:.2f}"),
            "evidence": _evidence(a, threshold),
        }
        for a in alerts
    ]
    columns = (
        Column("period", "Month"),
        Column("partner", "Partner"),
        Column("monitor", "Monitor"),
        Column("code", "Code"),
        Column("z", "z", "number"),
        Column("threshold", "Threshold", "number"),
        Column("evidence", "Evidence"),
    )
    notes = (
        "A monitor states its evidence for officers to look into; none changes any payment by itself. "
        + " ".join(f"{info.title}: {info.what}" for info in MONITORS.values())
        + (" Each month's alerts are shown; participants cycling, as at the latest month." if year else ""),
    )
    return _figure(contract, "gaming_monitors", columns, rows, notes=notes, empty="No monitor raised an alert.")


# --- The two documents ------------------------------------------------------------------------------------


def _runs(session: Session, periods: list[Period]) -> dict[Period, RunState | None]:
    return {p: ledger.last_payable(ledger.run_states(session, period=str(p))) for p in periods}


@dataclass(frozen=True)
class Books:
    """A contract year to date as the records have it, read once for its period and year reports."""

    year: int
    periods: list[Period]  # from the year's first month to the last reported (or asked for)
    counted: list[CountRow]  # the accepted rows as counted, withdrawn claims left out
    gathered: Gathered
    runs: dict[Period, RunState | None]  # each month's last payable run
    alerts: list[Alert]


def reported_periods(session: Session, *, contract: Contract, year: int, through: Period | None = None) -> list[Period]:
    """The year's months to ``through``, else to its last month with an accepted return or a payment run."""
    every = year_periods(contract, year)
    if through is None:
        reported = [p for p in every if _has_books(session, p)]
        if not reported:
            raise UsageError(f"{year_label(contract, year)} has no accepted return yet: nothing to report")
        through = reported[-1]
    return every[: every.index(through) + 1]


def _has_books(session: Session, period: Period) -> bool:
    """Whether the month has anything to report: an accepted return or a payment run."""
    return bool(repo.accepted_submissions(session, period=str(period)) or repo.latest_run(session, period=str(period)))


def year_alerts(session: Session, *, contract: Contract, year: int) -> list[Alert]:
    """The gaming monitors' alerts about every month of the year to date, as its year report shows them."""
    return monitor_periods(session, contract=contract, periods=reported_periods(session, contract=contract, year=year))


def _books(
    session: Session,
    deps: Deps,
    *,
    year: int,
    through: Period | None,
    alert_periods: list[Period] | None,
    alerts: list[Alert] | None = None,
) -> Books:
    """The year to ``through`` (None: to its last month with an accepted return or a payment run)."""
    contract = deps.contract
    periods = reported_periods(session, contract=contract, year=year, through=through)
    counted = counted_rows(session, periods=periods)
    if alerts is None:
        alerts = monitor_periods(session, contract=contract, periods=alert_periods or periods)
    return Books(year, periods, counted, _gather(session, contract, periods, counted), _runs(session, periods), alerts)


def _documents(
    session: Session,
    deps: Deps,
    books: Books,
    *,
    periods: list[Period],
    label: str,
    title: str,
    subtitle: str,
    is_year: bool,
) -> ReportDoc:
    contract = deps.contract
    threshold = contract.report.suppress_below
    gathered = books.gathered
    volumes = grid({p: gathered.rows[p] for p in periods}, threshold)
    outcomes = {
        m: grid({p: gathered.achieved[p][m] for p in periods}, threshold) for m in contract.framework.measure_ids
    }
    to_date = [p for p in books.periods if p <= periods[-1]]  # O/E and the factor: the year so far
    counted = [r for r in books.counted if Period.parse(r.period) <= periods[-1]]
    performance = performance_of(contract, counted)
    perf_label = f"{year_label(contract, books.year)}, to {periods[-1]}"
    rough_partners = hid_a_count(contract, gathered, to_date)
    factor, factor_rows = alliance_factor(contract, {p: books.runs[p] for p in to_date})
    payments = partner_payments(session, contract, {p: books.runs[p] for p in periods}, year=is_year)
    alerts = [a for a in books.alerts if a.period in periods]
    figures = [
        alliance_outcomes(contract, outcomes, periods, year=is_year),
        factor,
        partner_volumes(contract, volumes, periods, year=is_year),
        partner_outcomes(contract, outcomes, periods, year=is_year),
        partner_performance(contract, performance, perf_label, rough_partners),
        payments,
        returns_on_time(session, deps, periods, year=is_year),
        review_decisions(session, contract, books.year),
        spot_checks_figure(contract, gathered, periods, year=is_year),
        gaming_monitors(contract, alerts, year=is_year),
    ]
    plots = {
        "outcomes": outcomes_plot(contract, outcomes, periods, threshold),
        "factor": factor_plot(contract, factor_rows),
        "funnel": funnel_plot(contract, performance, perf_label, rough_partners),
        "payments": payments_plot(payments),
    }
    return ReportDoc(
        label=label,
        title=title,
        subtitle=subtitle,
        generated_at=deps.clock(),
        threshold=threshold,
        figures=figures,
        plots=plots,
    )


def _period_doc(session: Session, deps: Deps, books: Books, period: Period) -> ReportDoc:
    contract = deps.contract
    return _documents(
        session,
        deps,
        books,
        periods=[period],
        label=str(period),
        title=f"{contract.alliance.name}: report for {period}",
        subtitle=f"Commissioned by {contract.alliance.commissioner}; month {period} of "
        f"{year_label(contract, books.year)}",
        is_year=False,
    )


def _year_doc(session: Session, deps: Deps, books: Books) -> ReportDoc:
    contract = deps.contract
    return _documents(
        session,
        deps,
        books,
        periods=books.periods,
        label=f"year-{books.year}",
        title=f"{contract.alliance.name}: {year_label(contract, books.year)}",
        subtitle=f"Commissioned by {contract.alliance.commissioner}; the year to {books.periods[-1]}",
        is_year=True,
    )
