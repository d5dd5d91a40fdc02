"""A partner's accepted return as typed rows, and the outcome points it earns."""

from collections import Counter
from collections.abc import Iterable, Iterator
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


@dataclass(frozen=True)
class RawTable:
    """The Participants sheet's rows as columns: the Excel row of each row holding something (``numbers``) and, by
    column id, each such row's value in that column (blanks as None). A return's 5,000 rows are a few lists here,
    where row by row they were 5,000 dicts built, read and thrown away (``python -m bench read``)."""

    numbers: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.numbers)

    def column(self, name: str) -> list[Any]:
        """The column's values, all None where the sheet has no such column."""
        values = self.columns.get(name)
        return values if values is not None else [None] * len(self.numbers)

    def records(self) -> list[RawRow]:
        """Row by row, for the few that want rows (comparing two versions of a return)."""
        names = list(self.columns)
        if not names:
            return [RawRow(n, {}) for n in self.numbers]
        cells = zip(*self.columns.values(), strict=True)
        return [RawRow(n, dict(zip(names, values, strict=True))) for n, values in zip(self.numbers, cells, strict=True)]

    @classmethod
    def of(cls, rows: Iterable[RawRow]) -> "RawTable":
        """The table of ``rows`` (a column any row lacks is blank there)."""
        listed = list(rows)
        names = list(dict.fromkeys(name for row in listed for name in row.values))
        return cls([r.row for r in listed], {name: [r.values.get(name) for r in listed] for name in names})

    def renamed(self, rename: dict[str, str]) -> "RawTable":
        return RawTable(self.numbers, {rename.get(k, k): v for k, v in self.columns.items()})


@dataclass
class RawReturn:
    about: dict[str, Any] = field(default_factory=dict)
    about_cells: dict[str, str] = field(default_factory=dict)  # About field -> the cell holding its value
    columns: dict[str, str] = field(default_factory=dict)  # canonical header -> column letter
    labels: dict[str, str] = field(default_factory=dict)  # canonical header -> the header as written
    table: RawTable = field(default_factory=RawTable)
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
            table=self.table.renamed(rename),
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
class ParticipantRows:
    """A return's accepted rows as columns, in sheet order: what is recorded, without an object per row."""

    participant_ids: list[str] = field(default_factory=list)
    referral_dates: list[date] = field(default_factory=list)
    complexity_bands: list[str] = field(default_factory=list)
    achieved: list[frozenset[str]] = field(default_factory=list)  # ids of the measures achieved, per row
    postcode_districts: list[str | None] = field(default_factory=list)
    sheet_rows: list[int | None] = field(default_factory=list, compare=False)  # where they were: no part of the data

    def __post_init__(self) -> None:
        lengths = {len(self.participant_ids), len(self.referral_dates), len(self.complexity_bands), len(self.achieved)}
        lengths |= {len(self.postcode_districts), len(self.sheet_rows)}
        if len(lengths) > 1:
            raise ValueError(f"the columns of a return's rows differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.participant_ids)

    def __iter__(self) -> Iterator[ParticipantRow]:
        for pid, referred, band, achieved, postcode, row in zip(
            self.participant_ids,
            self.referral_dates,
            self.complexity_bands,
            self.achieved,
            self.postcode_districts,
            self.sheet_rows,
            strict=True,
        ):
            yield ParticipantRow(pid, referred, band, achieved, postcode, row)

    def __getitem__(self, index: int) -> ParticipantRow:
        i = range(len(self))[index]  # an IndexError as a list's
        return ParticipantRow(
            self.participant_ids[i],
            self.referral_dates[i],
            self.complexity_bands[i],
            self.achieved[i],
            self.postcode_districts[i],
            self.sheet_rows[i],
        )

    def groups(self) -> Counter[tuple[str, frozenset[str]]]:
        """How many rows have each complexity band and set of measures achieved."""
        return Counter(zip(self.complexity_bands, self.achieved, strict=True))

    @classmethod
    def of(cls, rows: Iterable[ParticipantRow]) -> "ParticipantRows":
        if isinstance(rows, ParticipantRows):
            return rows
        listed = list(rows)
        return cls(
            [r.participant_id for r in listed],
            [r.referral_date for r in listed],
            [r.complexity_band for r in listed],
            [r.achieved for r in listed],
            [r.postcode_district for r in listed],
            [r.sheet_row for r in listed],
        )


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
