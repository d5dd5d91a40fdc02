"""One entry point: a raw return checked in layers, every finding collected."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from domain import return_layout as layout
from domain.contract import Contract, Partner
from domain.findings import Finding, has_errors, in_partners_words, ordered
from domain.periods import Period, format_day
from domain.returns import ParticipantRow, RawReturn, ReturnContext
from expectations.about import identify
from expectations.participants import normalise_id, validate_participants
from expectations.summary import reconcile_summary


@dataclass(frozen=True)
class ValidatedReturn:
    partner: Partner | None
    period: Period | None
    rows: list[ParticipantRow]
    findings: list[Finding]

    @property
    def accepted(self) -> bool:
        return self.partner is not None and self.period is not None and not has_errors(self.findings)


# Given whose return it is, for which month, and the participant ids in it: what the records know.
ContextFor = Callable[[Partner, Period, list[str]], ReturnContext]


def participant_ids(raw: RawReturn) -> list[str]:
    """The ids the return claims, as validation will read them (for looking up the records)."""
    ids = (normalise_id(row.values.get("participant_id")) for row in raw.rows)
    return sorted({i for i in ids if isinstance(i, str)})


def validate_return(
    raw: RawReturn, contract: Contract, *, sender: str | None = None, context_for: ContextFor | None = None
) -> ValidatedReturn:
    """Every layer, every finding. Without ``context_for`` (the offline self-check) the checks that need
    the records (claims before, claims by others, the partner's history) find nothing."""
    raw = raw.with_column_ids(contract.framework.header_aliases)
    identity = identify(raw.about, contract, sender=sender)
    columns = contract.framework.columns
    # A notes column is ignored whole, its error cells included.
    cell_findings = [f for f in raw.cell_findings if f.sheet != layout.PARTICIPANTS or f.column in columns]
    findings = cell_findings + [_at_about_cell(f, raw) for f in identity.findings]
    rows: list[ParticipantRow] = []
    if identity.period is not None:
        context = None
        if context_for is not None and identity.partner is not None:
            context = context_for(identity.partner, identity.period, participant_ids(raw))
        rows, row_findings = validate_participants(
            raw, contract.framework, identity.period, contract_start=contract.alliance.start, context=context
        )
        # A cell already reported as an error or an uncalculated formula is not "empty" as well.
        flagged = {(f.sheet, f.cell) for f in cell_findings}
        findings += [f for f in row_findings if not (f.code == "VALUE_REQUIRED" and (f.sheet, f.cell) in flagged)]
        if raw.rows:
            findings += reconcile_summary(raw, contract.framework)
        if context is not None and context.locked_on is not None:
            findings.append(locked(identity.period, context.locked_on))
    named = in_partners_words(ordered(findings), contract.framework.names)
    return ValidatedReturn(identity.partner, identity.period, rows, named)


def locked(period: Period, locked_on: date) -> Finding:
    """The month's return is locked: no new version is accepted until an officer unlocks it."""
    return Finding("RETURN_LOCKED", value=format_day(locked_on), params={"period": str(period)})


def _at_about_cell(finding: Finding, raw: RawReturn) -> Finding:
    cell = raw.about_cells.get(finding.column or "") if finding.sheet == layout.ABOUT else None
    if cell is None:
        return finding
    return replace(finding, cell=cell, row=int(cell[1:]))
