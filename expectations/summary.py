"""The Summary sheet reconciles with the Participants rows."""

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from domain import return_layout as layout
from domain.contract import Framework
from domain.findings import Finding
from domain.return_layout import canonical_header
from domain.returns import RawReturn
from expectations.participants import normalise_yes_no


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def display_number(value: Any) -> str | None:
    """A value as the partner typed it: 21 typed is read as 21.0, and shown as 21."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _row(cell: str | None) -> int:
    return int(cell[1:]) if cell else 0


def _key_cell(cell: str | None) -> str | None:
    return f"A{cell[1:]}" if cell else None


def reconcile_summary(raw: RawReturn, framework: Framework) -> list[Finding]:
    """The Summary's totals against the rows as written (rows with other problems still count)."""
    expected = {layout.SUMMARY_PARTICIPANTS: len(raw.table)}
    for measure in framework.measures:
        # Each distinct value read once (True, 1 and 1.0 are one key, and all of them read as Yes).
        seen = Counter(raw.table.column(measure.id))
        expected[measure.id] = sum(n for value, n in seen.items() if normalise_yes_no(value) is True)
    # An item is read under what the template shows (a measure's label) or under its id.
    read_as = {canonical_header(shown): key for key, shown in framework.summary_items.items()}
    read_as |= {canonical_header(key): key for key in framework.summary_items}
    stated_as: dict[str, tuple[Any, str | None]] = {}
    repeated = []
    for written, value in sorted(raw.summary.items(), key=lambda item: _row(raw.summary_cells.get(item[0]))):
        key = read_as.get(canonical_header(written))
        if key is None:
            continue
        cell = raw.summary_cells.get(written)
        if key in stated_as:  # the same item under its label and its id: unclear, and the last one is read
            repeated.append(
                Finding(
                    "KEY_REPEATED",
                    sheet=layout.SUMMARY,
                    cell=_key_cell(cell),
                    row=_row(cell),
                    value=written,
                    params={"field": written},
                )
            )
        stated_as[key] = (value, cell)
    if all(stated_as.get(key, (None, None))[0] is None for key in expected):
        return [*repeated, Finding("SUMMARY_BLANK", sheet=layout.SUMMARY)]
    findings = repeated
    for key, count in expected.items():
        stated, cell = stated_as.get(key, (None, None))
        if _number(stated) != count:
            findings.append(
                Finding(
                    "SUMMARY_MISMATCH",
                    sheet=layout.SUMMARY,
                    cell=cell,
                    row=int(cell[1:]) if cell else None,
                    column=key,
                    value=display_number(stated),
                    params={"field": key, "expected": count},
                )
            )
    return findings
