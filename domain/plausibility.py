"""Plausibility against a partner's own recent months: far-off figures are warnings, with the figures.

A month is compared with the partner's last accepted months (at least ``MIN_MONTHS``):
- volume: unusual when outside the range seen *and* under half or over twice the median,
  and at least ``MIN_VOLUME_CHANGE`` rows from it (small partners' counts move a lot);
- an outcome rate: unusual when it differs from the pooled recent rate by more than
  ``MIN_RATE_CHANGE`` *and* by more than ``RATE_Z`` binomial standard errors.
Both rules are deliberately loose: a warning that cries wolf every month is not read.
"""

import math
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from domain.returns import MonthFigures

MIN_MONTHS = 3
RECENT_MONTHS = 6
MIN_VOLUME_CHANGE = 10
MIN_RATE_CHANGE = 0.15
RATE_Z = 3.0


@dataclass(frozen=True)
class Unusual:
    code: str  # VOLUME_UNUSUAL | RATE_UNUSUAL
    value: str
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def against_history(month: MonthFigures, history: tuple[MonthFigures, ...]) -> list[Unusual]:
    recent = history[:RECENT_MONTHS]
    if len(recent) < MIN_MONTHS:
        return []
    found: list[Unusual] = []
    volumes = [m.rows for m in recent]
    middle = median(volumes)
    outside = month.rows < min(volumes) or month.rows > max(volumes)
    far = month.rows < middle / 2 or month.rows > middle * 2
    if outside and far and abs(month.rows - middle) >= MIN_VOLUME_CHANGE:
        found.append(
            Unusual(
                "VOLUME_UNUSUAL",
                value=str(month.rows),
                params={"months": len(recent), "expected": _span(volumes), "median": _number(middle)},
            )
        )
    if month.rows == 0:
        return found
    for measure, achieved in month.achieved.items():
        counted = [m for m in recent if measure in m.achieved]  # a measure new to the framework has no past
        if len(counted) < MIN_MONTHS:
            continue
        rows_before = sum(m.rows for m in counted)
        before = sum(m.achieved[measure] for m in counted)
        base = before / rows_before if rows_before else 0.0
        rate = achieved / month.rows
        spread = math.sqrt(base * (1 - base) / month.rows)
        significant = abs(rate - base) > RATE_Z * spread if spread > 0 else month.rows >= MIN_VOLUME_CHANGE
        if abs(rate - base) > MIN_RATE_CHANGE and significant:
            found.append(
                Unusual(
                    "RATE_UNUSUAL",
                    value=f"{rate:.0%} ({achieved} of {month.rows})",
                    column=measure,
                    params={"months": len(counted), "expected": f"{base:.0%} ({before} of {rows_before})"},
                )
            )
    return found


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


def _number(value: float) -> str:
    return f"{value:g}"
