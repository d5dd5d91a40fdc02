"""The report's O/E figure and funnel plot: a partner with a count hidden in a month to date gets rough figures
(E to the nearest 10, O/E to one place), and its point is drawn on the side of the limits its own figures put it."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from domain.contract import Contract
from domain.performance import Against, AlliancePerformance, against, on_its_side
from domain.periods import Period
from domain.publication import (
    WITHHELD,
    Shown,
    count_grids,
)
from integrations.plots import FunnelLayout, FunnelPoint, funnel_layout, funnel_png
from integrations.report_site import Column, Figure
from services.report_figures import Gathered, make_figure, names_of
from services.review import FUNNELS


def hid_a_count(contract: Contract, gathered: Gathered, periods: list[Period]) -> frozenset[str]:
    """The partners with participants or an outcome count hidden (``<5`` or ``*``) in a month's report of
    ``periods``: their O/E and E are published only roughly (``rough``). Which counts were hidden, the month
    reports say anyway."""
    threshold = contract.report.suppress_below
    volumes, outcomes = count_grids(
        {p: gathered.rows[p] for p in periods}, {p: gathered.achieved[p] for p in periods}, threshold
    )
    return frozenset(
        pid
        for published in [volumes, *outcomes.values()]
        for month in published.months.values()
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
            row["standing"] = against(p.ratio, limits).value if limits else None
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
    return make_figure(contract, "partner_performance", columns, rows, notes=notes, plots=("funnel",))


# Each point's colour says where it sits against its own limits, as the table's last column does.
STATUSES = {
    Against.below: ("tab:red", "partner below its limits"),
    Against.within: ("tab:blue", "partner within its limits"),
    Against.above: ("tab:green", "partner above its limits"),
}


def funnel_layout_of(
    contract: Contract, performance: AlliancePerformance, label: str, roughly: frozenset[str]
) -> FunnelLayout:
    """The report's funnel: each comparable partner at its E and O/E (rough ones rounded, as in the table), coloured
    by where it sits against its own limits, and drawn on that side of the funnel at the review's limit."""
    names = names_of(contract)
    z = float(contract.review.control_limit_z)
    funnels = list(FUNNELS)
    if all(abs(z - f) > 1e-3 for f, _ in funnels):
        funnels.append((z, f"review limit (z = {z:g})"))
    points = []
    for p in performance.partners:
        limits = p.limits(z)
        if not p.comparable or p.ratio is None or limits is None:
            continue
        side = against(p.ratio, limits)
        expected, ratio = rough(p.expected, p.ratio) if p.partner_id in roughly else (p.expected, p.ratio)
        if expected > 0 and performance.drawable:
            ratio = on_its_side(float(ratio), performance.funnel(float(expected), z), side)
        name = names.get(p.partner_id, p.partner_id)
        points.append(FunnelPoint(label=name, expected=float(expected), ratio=float(ratio), status=side))
    return funnel_layout(
        points,
        limits=performance.funnel if performance.drawable else None,
        funnels=funnels,
        statuses=STATUSES,
        title=f"Outcomes for case mix, {label}",
        name_all=True,
    )


def funnel_plot(contract: Contract, performance: AlliancePerformance, label: str, roughly: frozenset[str]) -> bytes:
    return funnel_png(funnel_layout_of(contract, performance, label, roughly))
