"""The Summary sheet reconciles with the Participants rows."""

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from domain import return_layout as layout
from domain.contract import Framework
from domain.findings import Finding
from domain.returns import RawReturn
from expectations.participants import normalise_yes_no


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def reconcile_summary(raw: RawReturn, framework: Framework) -> list[Finding]:
    """The Summary's totals against the rows as written (rows with other problems still count)."""
    expected = {layout.SUMMARY_PARTICIPANTS: len(raw.rows)}
    for measure in framework.measures:
        # Each distinct value read once (True, 1 and 1.0 are one key, and all of them read as Yes).
        seen = Counter(r.values.get(measure.id) for r in raw.rows)
        expected[measure.id] = sum(n for value, n in seen.items() if normalise_yes_no(value) is True)
    if all(raw.summary.get(key) is None for key in expected):
        return [Finding("SUMMARY_BLANK", sheet=layout.SUMMARY)]
    findings = []
    for key, count in expected.items():
        stated = raw.summary.get(key)
        if _number(stated) != count:
            cell = raw.summary_cells.get(key)
            findings.append(
                Finding(
                    "SUMMARY_MISMATCH",
                    sheet=layout.SUMMARY,
                    cell=cell,
                    row=int(cell[1:]) if cell else None,
                    column=key,
                    value=None if stated is None else str(stated),
                    params={"field": key, "expected": count},
                )
            )
    return findings
