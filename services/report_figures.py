"""The alliance report's figures (tables and plots) other than partners' performance, from the counts as gathered
and published (``domain.publication``: small numbers hidden in partner cells, alliance totals exact)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from domain.board import LABELS, DecisionKind
from domain.contract import Contract
from domain.monitors import MONITORS, Alert
from domain.periods import Period, format_day, london_date
from domain.publication import (
    FIGURES,
    WITHHELD,
    Grid,
    Shown,
    grade_of,
    show_with_total,
    show_year_total,
)
from integrations.plots import bars_png, lines_png
from integrations.report_site import Column, Figure
from models import reviews
from models.ledger import RunState
from services.deps import Deps
from services.payment_reports import due_by_partner
from services.review import year_label
from services.status import period_status

ALLIANCE = "All partners"


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


# --- Figures -------------------------------------------------------------------------------------------


def make_figure(
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


def names_of(contract: Contract) -> dict[str, str]:
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
    return make_figure(contract, "alliance_outcomes", columns, rows, plots=("outcomes",))


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
    return make_figure(contract, "partner_volumes", columns, rows)


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
    return make_figure(contract, "partner_outcomes", columns, rows, notes=notes)


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
    return make_figure(contract, "alliance_factor", columns, rows, notes=notes, plots=("factor",)), rows


def factor_plot(contract: Contract, rows: list[dict[str, Any]]) -> bytes:
    return lines_png(
        [r["period"] for r in rows],
        [("alliance factor", [float(r["factor"]) if "factor" in r else None for r in rows])],
        title="The alliance factor by month",
        ylabel="factor (A / T within collar and cap)",
        levels=[(float(contract.payments.collar), "collar"), (float(contract.payments.cap), "cap"), (1.0, "on target")],
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
    return make_figure(contract, "partner_payments", columns, rows, notes=(note,), plots=("payments",))


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
        names = names_of(contract)
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
        return make_figure(contract, "returns_on_time", columns, rows)
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
    return make_figure(contract, "returns_on_time", counted, tallied)


def review_decisions(session: Session, contract: Contract, year: int) -> Figure:
    review = reviews.review_of(session, year=year)
    rows = []
    flagged = 0
    if review is not None and review.id is not None:
        names = names_of(contract)
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
    return make_figure(contract, "review_decisions", columns, rows, notes=(note,), empty="No decision recorded yet.")


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
    return make_figure(contract, "spot_checks", columns, rows, notes=notes)


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
    names = names_of(contract)
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
    return make_figure(contract, "gaming_monitors", columns, rows, notes=notes, empty="No monitor raised an alert.")
