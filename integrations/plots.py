"""The review's funnel plot as a PNG (matplotlib, no screen needed)."""

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only, whatever the machine has

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    expected: float
    ratio: float
    flagged: bool = False


# (expected outcomes, z) -> (lower, upper) limit on O/E
Limits = Callable[[float, float], tuple[float, float]]


def funnel_png(
    points: Sequence[FunnelPoint],
    *,
    limits: Limits,
    funnels: Sequence[tuple[float, str]],
    title: str,
    highlight: str | None = None,
    name_all: bool = False,
) -> bytes:
    """O/E against expected outcomes with control limits; ``highlight`` is marked and named (``name_all``: every
    partner is named, for a report where the plot stands for the table beside it)."""
    figure, axes = plt.subplots(figsize=(8, 5.5), dpi=110)
    try:
        largest = max((p.expected for p in points), default=1.0)
        steps = 200
        low_e = largest * 0.05  # the funnel's mouth: small partners' wide limits
        xs = [low_e + (largest * 1.15 - low_e) * i / steps for i in range(steps + 1)]
        for (z, label), style in zip(funnels, ("--", ":", "-."), strict=False):
            bounds = [limits(x, z) for x in xs]
            axes.plot(xs, [b[0] for b in bounds], style, color="tab:gray", linewidth=1, label=label)
            axes.plot(xs, [b[1] for b in bounds], style, color="tab:gray", linewidth=1)
        axes.axhline(1.0, color="black", linewidth=0.8, label="as expected for case mix (O/E = 1)")
        others = [p for p in points if p.label != highlight]
        axes.scatter(
            [p.expected for p in others],
            [p.ratio for p in others],
            c=["tab:orange" if p.flagged else "tab:blue" for p in others],
            s=28,
            zorder=3,
            label="partners (orange: flagged)",
        )
        for p in points:
            if name_all and p.label != highlight:
                axes.annotate(p.label, (p.expected, p.ratio), textcoords="offset points", xytext=(5, 4), fontsize=7)
            if p.label == highlight:
                axes.scatter([p.expected], [p.ratio], c="tab:red", s=90, marker="D", zorder=4, label=p.label)
                axes.annotate(p.label, (p.expected, p.ratio), textcoords="offset points", xytext=(8, -12))
        axes.set_xlabel("expected outcomes for the partner's case mix (E, weighted points)")
        axes.set_ylabel("observed / expected (O/E)")
        axes.set_title(title, fontsize=10)
        axes.set_ylim(bottom=0)
        axes.set_xlim(left=0)
        axes.legend(loc="lower right", fontsize=8)
        axes.grid(alpha=0.3)
        buffer = io.BytesIO()
        figure.tight_layout()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
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
