"""One entry point: a raw return checked in layers, every finding collected."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from domain import return_layout as layout
from domain.contract import Contract, Partner
from domain.errors import answer_or_raise
from domain.findings import Finding, has_errors, in_partners_words, ordered
from domain.periods import Period, format_day
from domain.returns import ParticipantRows, RawReturn, ReturnContext
from expectations import quality
from expectations.about import Identity, identify
from expectations.participants import (
    ParticipantsChecking,
    finish_participants,
    normalise_id,
    start_participants,
)
from expectations.summary import reconcile_summary


@dataclass(frozen=True)
class ValidatedReturn:
    partner: Partner | None
    period: Period | None
    rows: ParticipantRows
    findings: list[Finding]

    @property
    def accepted(self) -> bool:
        return self.partner is not None and self.period is not None and not has_errors(self.findings)


# Given whose return it is, for which month, and the participant ids in it: what the records know.
ContextFor = Callable[[Partner, Period, list[str]], ReturnContext]


def participant_ids(raw: RawReturn) -> list[str]:
    """The ids the return claims, as validation will read them (for looking up the records)."""
    ids = set(map(normalise_id, raw.table.column("participant_id")))
    return sorted({i for i in ids if isinstance(i, str)})


def validate_return(
    raw: RawReturn, contract: Contract, *, sender: str | None = None, context_for: ContextFor | None = None
) -> ValidatedReturn:
    """Every layer, every finding. Without ``context_for`` (the offline self-check) the checks that need
    the records (claims before, claims by others, the partner's history) find nothing."""
    return answer_or_raise(validate_returns([ToValidate(raw, sender, context_for)], contract)[0])


@dataclass(frozen=True)
class ToValidate:
    """A raw return to validate, whose folder it came from (``sender``) and how to look up the records."""

    raw: RawReturn
    sender: str | None = None
    context_for: ContextFor | None = None


def validate_returns(returns: list[ToValidate], contract: Contract) -> list[ValidatedReturn | BaseException]:
    """``validate_return`` of each, with one Great Expectations validation for many returns (``quality.run_suites``):
    the same findings, each return's own. A return whose checks raised gets its exception back instead, and only
    it: the others are validated all the same (a cycle's one bad file fails alone, as it does processed alone)."""
    started: list[_Started | BaseException] = []
    for item in returns:
        try:
            started.append(_start(item, contract))
        except Exception as failed:  # noqa: BLE001 - handed back as this return's answer
            started.append(failed)
    requests = [suite for begun in started if (suite := _suite_of(begun)) is not None]
    answers = iter(quality.run_suites(requests))
    validated: list[ValidatedReturn | BaseException] = []
    for begun in started:
        if isinstance(begun, BaseException):
            validated.append(begun)
            continue
        unexpected = next(answers) if _suite_of(begun) is not None else []
        if isinstance(unexpected, BaseException):
            validated.append(unexpected)
            continue
        try:
            validated.append(_finish(begun, unexpected, contract))
        except Exception as failed:  # noqa: BLE001 - handed back as this return's answer
            validated.append(failed)
    return validated


@dataclass
class _Started:
    """A return checked up to the suite (``participants`` None: its month is unknown, so no rows were checked)."""

    raw: RawReturn
    identity: Identity
    cell_findings: list[Finding]
    findings: list[Finding]
    participants: ParticipantsChecking | None = None
    context: ReturnContext | None = None


def _suite_of(begun: "_Started | BaseException") -> quality.SuiteRequest | None:
    if isinstance(begun, BaseException) or begun.participants is None:
        return None
    return begun.participants.suite


def _start(item: ToValidate, contract: Contract) -> _Started:
    raw = item.raw.with_column_ids(contract.framework.header_aliases)
    identity = identify(raw.about, contract, sender=item.sender)
    columns = contract.framework.columns
    # A notes column is ignored whole, its error cells included.
    cell_findings = [f for f in raw.cell_findings if f.sheet != layout.PARTICIPANTS or f.column in columns]
    findings = cell_findings + [_at_about_cell(f, raw) for f in identity.findings]
    begun = _Started(raw, identity, cell_findings, findings)
    if identity.period is not None:
        if item.context_for is not None and identity.partner is not None:
            begun.context = item.context_for(identity.partner, identity.period, participant_ids(raw))
        begun.participants = start_participants(
            raw, contract.framework, identity.period, contract_start=contract.alliance.start, context=begun.context
        )
    return begun


def _finish(begun: _Started, unexpected: list[quality.Unexpected], contract: Contract) -> ValidatedReturn:
    raw, identity, findings = begun.raw, begun.identity, list(begun.findings)
    rows = ParticipantRows()
    if identity.period is not None and begun.participants is not None:
        rows, row_findings = finish_participants(begun.participants, unexpected)
        # A cell already reported as an error or an uncalculated formula is not "empty" as well.
        flagged = {(f.sheet, f.cell) for f in begun.cell_findings}
        findings += [f for f in row_findings if not (f.code == "VALUE_REQUIRED" and (f.sheet, f.cell) in flagged)]
        if raw.table:
            findings += reconcile_summary(raw, contract.framework)
        if begun.context is not None and begun.context.locked_on is not None:
            findings.append(locked(identity.period, begun.context.locked_on))
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
