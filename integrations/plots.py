"""The report's and the review's plots as PNGs (matplotlib, no screen needed); the funnel's layout is worked out
first, as data, so tests can read what it shows."""

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only, whatever the machine has

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    expected: float
    ratio: float
    status: str = ""  # a key of the plot's ``statuses``: what its colour and the legend say


# (expected outcomes, z) -> (lower, upper) limit on O/E
Limits = Callable[[float, float], tuple[float, float]]

# status -> (colour, what the legend says); a status not listed is drawn in the first colour.
Statuses = Mapping[Any, tuple[str, str]]  # a standing (a str enum) -> (colour, label)

LABEL_HEIGHT = 0.045  # a partner's name on the plot, as a fraction of the axes' height and (per character) width
LABEL_CHAR_WIDTH = 0.0105
LABEL_OFFSET = (0.012, 0.008)


@dataclass(frozen=True)
class PlacedPoint:
    point: FunnelPoint
    colour: str
    label_at: tuple[float, float] | None  # where its name is written, in data units (None: not named)


@dataclass(frozen=True)
class FunnelLayout:
    """What the funnel plot shows, worked out before it is drawn (tests read this, not pixels)."""

    title: str
    message: str | None  # instead of a plot: why there is not enough data for one
    xs: tuple[float, ...]  # where the limits are drawn (every one above 0)
    curves: tuple[tuple[str, str, tuple[float, ...], tuple[float, ...]], ...]  # (label, style, lower, upper)
    points: tuple[PlacedPoint, ...]
    legend: tuple[tuple[str, str], ...]  # (colour, label) for the points, one per status shown
    x_max: float
    y_max: float
    highlight: str | None = None


def funnel_layout(
    points: Sequence[FunnelPoint],
    *,
    limits: Limits | None,
    funnels: Sequence[tuple[float, str]],
    statuses: Statuses,
    title: str,
    highlight: str | None = None,
    name_all: bool = False,
) -> FunnelLayout:
    """The funnel's limits, the points coloured by status and their names set apart, or (no limits, or fewer
    than two partners with outcomes expected: a funnel compares partners) a message saying there is not enough
    data."""
    drawn = [p for p in points if p.expected > 0 and math.isfinite(p.expected) and math.isfinite(p.ratio)]
    if limits is None or len(drawn) < 2:
        why = (
            "Not enough data for a funnel plot yet: it compares partners, and "
            f"{len(drawn)} partner{'' if len(drawn) == 1 else 's'} had outcomes expected for their case mix."
        )
        return FunnelLayout(title, why, (), (), (), (), 1.0, 1.0, highlight)
    largest = max(p.expected for p in drawn)
    steps = 200
    low_e = largest * 0.05  # the funnel's mouth: small partners' wide limits
    xs = tuple(low_e + (largest * 1.15 - low_e) * i / steps for i in range(steps + 1))
    curves = []
    for (z, label), style in zip(funnels, ("--", ":", "-."), strict=False):
        bounds = [limits(x, z) for x in xs]
        curves.append((label, style, tuple(max(b[0], 0.0) for b in bounds), tuple(b[1] for b in bounds)))
    x_max = largest * 1.15
    y_max = max(2.0, max(p.ratio for p in drawn) * 1.15)
    palette = list(statuses.items())
    default = palette[0][1][0] if palette else "tab:blue"
    placed_boxes: list[tuple[float, float, float, float]] = []
    placed = []
    for p in sorted(drawn, key=lambda p: (p.ratio, p.expected, p.label)):
        colour = statuses[p.status][0] if p.status in statuses else default
        label_at = None
        if name_all or p.label == highlight:
            x, y = p.expected / x_max + LABEL_OFFSET[0], p.ratio / y_max + LABEL_OFFSET[1]
            width = LABEL_CHAR_WIDTH * len(p.label)
            # Only names beside this one in x can be in its way, whatever its height: those are found once, not
            # at every step up (200 named partners: 2.5 s of a national cycle went on looking at all of them).
            beside = [box for box in placed_boxes if x < box[0] + box[2] and box[0] < x + width]
            while any(_overlap((x, y, width, LABEL_HEIGHT), box) for box in beside):
                y += LABEL_HEIGHT / 4
            placed_boxes.append((x, y, width, LABEL_HEIGHT))
            label_at = (x * x_max, y * y_max)
        placed.append(PlacedPoint(p, colour, label_at))
    shown = {p.status for p in drawn}
    legend = tuple((colour, text) for status, (colour, text) in palette if status in shown)
    return FunnelLayout(title, None, xs, tuple(curves), tuple(placed), legend, x_max, y_max, highlight)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def funnel_png(layout: FunnelLayout) -> bytes:
    """The layout drawn: O/E against expected outcomes with control limits, or its message."""
    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=110)
    try:
        axes.set_title(layout.title, fontsize=10)
        if layout.message is not None:
            axes.text(0.5, 0.5, layout.message, ha="center", va="center", wrap=True, fontsize=10)
            axes.set_axis_off()
            return _png(figure)
        for label, style, lower, upper in layout.curves:
            axes.plot(layout.xs, lower, style, color="tab:gray", linewidth=1, label=label)
            axes.plot(layout.xs, upper, style, color="tab:gray", linewidth=1)
        axes.axhline(1.0, color="black", linewidth=0.8, label="as expected for case mix (O/E = 1)")
        for colour, text in layout.legend:
            mine = [pp.point for pp in layout.points if pp.colour == colour and pp.point.label != layout.highlight]
            axes.scatter([p.expected for p in mine], [p.ratio for p in mine], c=colour, s=28, zorder=3, label=text)
        for pp in layout.points:
            p = pp.point
            if p.label == layout.highlight:
                axes.scatter([p.expected], [p.ratio], c=pp.colour, s=90, marker="D", edgecolors="black", zorder=4)
            if pp.label_at is not None:
                # The name, and a line from the point to the name's corner. A line, not an annotation's arrow:
                # matplotlib clips each arrow to its text's box by bisecting curves in Python, which cost 2.6 s of
                # CPU for 200 named partners (0.67 s for 50), most of a national cycle's report.
                axes.plot([p.expected, pp.label_at[0]], [p.ratio, pp.label_at[1]], "-", color="tab:gray", linewidth=0.5)
                name = axes.text(*pp.label_at, p.label, fontsize=7 if p.label != layout.highlight else 9, va="bottom")
                name.set_in_layout(False)  # inside the axes: the margins are for the titles and ticks
        axes.set_xlabel("expected outcomes for the partner's case mix (E, weighted points)")
        axes.set_ylabel("observed / expected (O/E)")
        axes.set_ylim(0, layout.y_max)
        axes.set_xlim(0, layout.x_max)
        axes.legend(loc="lower right", fontsize=8)
        axes.grid(alpha=0.3)
        return _png(figure)
    finally:
        plt.close(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def bars_png(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    ylabel: str,
    hidden_label: str = "hidden",
    stacked: bool = False,
) -> bytes:
    """Grouped (or stacked) bars; a value of None is not drawn and is marked ``hidden_label`` instead."""
    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        count = max(len(series), 1)
        width = 0.8 if stacked else 0.8 / count
        bottoms = [0.0] * len(categories)
        for n, (label, values) in enumerate(series):
            xs = [i if stacked else i - 0.4 + width * (n + 0.5) for i in range(len(categories))]
            heights = [v if v is not None else 0.0 for v in values]
            axes.bar(xs, heights, width=width, bottom=bottoms if stacked else None, label=label)
            for x, v in zip(xs, values, strict=True):
                if v is None:
                    axes.annotate(hidden_label, (x, 0), ha="center", va="bottom", fontsize=7, rotation=90)
            if stacked:
                bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        axes.set_xticks(range(len(categories)))
        axes.set_xticklabels(categories, rotation=30 if len(categories) > 4 else 0, ha="right", fontsize=8)
        axes.set_ylabel(ylabel)
        axes.set_title(title, fontsize=10)
        axes.legend(fontsize=8)
        axes.grid(axis="y", alpha=0.3)
        return _png(figure)
    finally:
        plt.close(figure)


def lines_png(
    xs: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    ylabel: str,
    levels: Sequence[tuple[float, str]] = (),
) -> bytes:
    """One line per series over ``xs`` (None: a gap), with horizontal reference ``levels``."""
    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        positions = list(range(len(xs)))
        for label, values in series:
            axes.plot(positions, [v if v is not None else float("nan") for v in values], marker="o", label=label)
        for value, label in levels:
            axes.axhline(value, linestyle="--", color="tab:gray", linewidth=1)
            axes.annotate(label, (0, value), textcoords="offset points", xytext=(2, 3), fontsize=7, color="tab:gray")
        axes.set_xticks(positions)
        axes.set_xticklabels(xs, rotation=30 if len(xs) > 6 else 0, fontsize=8)
        axes.set_ylabel(ylabel)
        axes.set_title(title, fontsize=10)
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
        return _png(figure)
    finally:
        plt.close(figure)
