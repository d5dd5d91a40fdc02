"""A partner's accepted return as typed rows, and the outcome points it earns."""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.contract import Framework
from domain.findings import Finding


@dataclass(frozen=True)
class RawRow:
    row: int  # the Excel row number
    values: dict[str, Any]  # header -> cell value, blanks as None


@dataclass
class RawReturn:
    about: dict[str, Any] = field(default_factory=dict)
    about_cells: dict[str, str] = field(default_factory=dict)  # About field -> the cell holding its value
    columns: dict[str, str] = field(default_factory=dict)  # canonical header -> column letter
    labels: dict[str, str] = field(default_factory=dict)  # canonical header -> the header as written
    rows: list[RawRow] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    summary_cells: dict[str, str] = field(default_factory=dict)
    # Cells whose value could not be trusted (errors, formulas never calculated), as findings.
    cell_findings: list[Finding] = field(default_factory=list)
    # The sheets read, as the partner wrote them (values from A1), for the feedback workbook.
    grids: dict[str, list[list[Any]]] = field(default_factory=dict)

    def with_column_ids(self, aliases: dict[str, str]) -> "RawReturn":
        """The same return with each column under its id where it was read under another name (a measure's label,
        read without the contract's aliases). Usually nothing to rename: then the return itself."""
        rename = {name: aliases[name] for name in self.columns if aliases.get(name, name) != name}
        if not rename or any(target in self.columns for target in rename.values()):
            return self  # nothing to do, or a header given twice over (the reader with the aliases reports it)
        return replace(
            self,
            columns={rename.get(k, k): v for k, v in self.columns.items()},
            labels={rename.get(k, k): v for k, v in self.labels.items()},
            rows=[RawRow(r.row, {rename.get(k, k): v for k, v in r.values.items()}) for r in self.rows],
            cell_findings=[
                replace(f, column=rename[f.column]) if f.column in rename else f for f in self.cell_findings
            ],
        )


@dataclass(frozen=True)
class ParticipantRow:
    participant_id: str
    referral_date: date
    complexity_band: str
    achieved: frozenset[str]  # ids of the measures achieved this period
    postcode_district: str | None = None
    sheet_row: int | None = field(default=None, compare=False)  # where it was on the Participants sheet


@dataclass(frozen=True)
class PointsBreakdown:
    """Points by (measure, band): how a partner's outcome points were made up."""

    total: Decimal
    by_measure_band: dict[tuple[str, str], tuple[int, Decimal]]  # (count achieved, points)


def points_breakdown(rows: Iterable[ParticipantRow], framework: Framework) -> PointsBreakdown:
    return points_from_counts(((row.complexity_band, row.achieved, 1) for row in rows), framework)


def points_from_counts(counts: Iterable[tuple[str, frozenset[str], int]], framework: Framework) -> PointsBreakdown:
    """Points from (band, measures achieved, number of rows so) groups: the same as row by row."""
    cells: dict[tuple[str, str], tuple[int, Decimal]] = {}
    total = Decimal(0)
    for band, achieved, rows in counts:
        multiplier = framework.bands[band]
        for measure in framework.measures:
            if measure.id not in achieved:
                continue
            points = measure.weight * multiplier * rows
            count, sub = cells.get((measure.id, band), (0, Decimal(0)))
            cells[(measure.id, band)] = (count + rows, sub + points)
            total += points
    return PointsBreakdown(total=total, by_measure_band=dict(sorted(cells.items())))


@dataclass(frozen=True)
class MonthFigures:
    """A month of one partner's accepted return in figures: rows, and rows achieving each measure."""

    period: str
    rows: int
    achieved: dict[str, int]


@dataclass(frozen=True)
class ReturnContext:
    """What the records know that a file alone cannot say; empty for the offline self-check."""

    # participant id -> measure id -> another period (usually earlier) this partner was accepted claiming it in
    claimed_in_other_months: dict[str, dict[str, str]] = field(default_factory=dict)
    # participant ids in another partner's accepted return for the same period
    claimed_elsewhere: frozenset[str] = frozenset()
    # this partner's recent accepted months, newest first
    history: tuple[MonthFigures, ...] = ()
    # the London day the partner's return for the month was locked by an approved payment run
    locked_on: date | None = None
