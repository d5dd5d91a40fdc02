"""Where partners' returns stand: per period (awaiting, missing, submitted, accepted or rejected; on time or late),
and the returns grid of a contract year (partners x months, each cell in the portal's words, with reporting and
on-time rates per month and per partner) that `alliance status` prints and the officers' page shows."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from domain.access import Principal, authorise
from domain.contract import Contract, Partner
from domain.periods import Period, contract_month, due_at, due_date, format_day, london_date
from domain.return_status import (
    SENT_BACK,
    Rates,
    ReturnState,
    ReturnStatus,
    Standing,
    Version,
    month_standing,
    rates,
    return_state,
)
from models import ledger, repo
from models.db import read_scope
from models.tables import Submission
from services.deps import Deps
from services.review import year_periods


@dataclass(frozen=True)
class PartnerReturn:
    partner: Partner
    state: ReturnState
    versions: list[Submission]  # this partner's versions for the period, oldest first
    accepted: Submission | None

    @property
    def latest(self) -> Submission | None:
        return self.versions[-1] if self.versions else None

    @property
    def shown(self) -> Submission | None:
        """The version that speaks for the partner: the accepted one, else the latest."""
        return self.accepted or self.latest


def partner_returns(session: Session, *, contract: Contract, period: Period, now: datetime) -> list[PartnerReturn]:
    due = due_at(period, contract.deadlines.due_day)
    submissions = [s for s in repo.submissions_for_period(session, period=str(period)) if s.status != "quarantined"]
    result = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = sorted((s for s in submissions if s.partner_id == partner.id), key=lambda s: s.version or 0)
        state = return_state(
            [Version(s.version or 0, s.status, s.received_at, s.on_time) for s in own], due=due, now=now
        )
        accepted = next((s for s in reversed(own) if s.status == "accepted"), None)
        result.append(PartnerReturn(partner, state, own, accepted))
    return result


def period_status(session: Session, *, contract: Contract, period: Period, now: datetime) -> list[dict[str, Any]]:
    due = format_day(due_date(period, contract.deadlines.due_day))
    table = []
    for entry in partner_returns(session, contract=contract, period=period, now=now):
        shown = entry.shown
        table.append(
            {
                "partner": entry.partner.id,
                "status": entry.state.status.value,
                "timeliness": entry.state.timeliness,
                "due": due,
                "versions": len(entry.versions),
                "rows": entry.accepted.row_count if entry.accepted else 0,
                "errors": shown.error_count if shown else 0,
                "warnings": shown.warning_count if shown else 0,
                "feedback": shown.feedback_path if shown and shown.feedback_path else "",
            }
        )
    return table


def count_statuses(table: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {status.value: 0 for status in ReturnStatus} | {"late": 0}
    for row in table:
        counts[row["status"]] += 1
        if row["timeliness"] == "late":
            counts["late"] += 1
    return counts


# --- The returns grid ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One partner's return for one month, as the grid, the partner's months page and `alliance status` say it."""

    partner_id: str
    period: Period
    standing: Standing
    late: bool
    due: date
    due_passed: bool
    versions: int
    errors: int  # of the version shown (the latest refused one when sent back)
    version_id: int | None  # the version shown: the accepted one, else the latest
    version: int | None
    accepted_version: int | None  # the version a payment run counts (None: none accepted)
    sent_back: int = 0  # versions refused by the checks or sent back by an officer

    def as_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner_id,
            "period": str(self.period),
            "standing": self.standing.value,
            "late": self.late,
            "due": self.due.isoformat(),
            "versions": self.versions,
            "errors": self.errors,
            "version": self.version,
            "accepted_version": self.accepted_version,
            "sent_back": self.sent_back,
        }


def period_cells(session: Session, *, contract: Contract, period: Period, now: datetime) -> list[Cell]:
    """Every partner's cell for ``period`` (ordered by partner id)."""
    today = london_date(now)
    due = due_date(period, contract.deadlines.due_day)
    due_passed = now > due_at(period, contract.deadlines.due_day)
    locks: dict[str, str] = {}
    for event in ledger.lock_events(session, period=str(period)):  # oldest first: the last event stands
        locks[event.partner_id] = event.action
    cells = []
    for entry in partner_returns(session, contract=contract, period=period, now=now):
        locked = locks.get(entry.partner.id) == "lock" and entry.accepted is not None
        standing = month_standing(entry.state, month_ended=today > period.last_day, locked=locked)
        shown = entry.shown
        cells.append(
            Cell(
                partner_id=entry.partner.id,
                period=period,
                standing=standing.standing,
                late=standing.late,
                due=due,
                due_passed=due_passed,
                versions=len(entry.versions),
                errors=shown.error_count if shown else 0,
                version_id=shown.id if shown else None,
                version=shown.version if shown else None,
                accepted_version=entry.accepted.version if entry.accepted else None,
                sent_back=sum(1 for v in entry.versions if v.status in ("rejected", SENT_BACK)),
            )
        )
    return cells


@dataclass(frozen=True)
class Grid:
    year: int
    periods: list[Period]
    partners: list[Partner]
    cells: dict[tuple[str, Period], Cell]
    by_month: dict[Period, Rates]
    by_partner: dict[str, Rates]
    overall: Rates

    def as_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "periods": [str(p) for p in self.periods],
            "partners": [
                {
                    "partner": partner.id,
                    "name": partner.name,
                    "rates": self.by_partner[partner.id].as_dict(),
                    "months": [self.cells[(partner.id, p)].as_dict() for p in self.periods],
                }
                for partner in self.partners
            ],
            "months": [{"period": str(p), "rates": self.by_month[p].as_dict()} for p in self.periods],
            "rates": self.overall.as_dict(),
        }


def _rates_of(cells: list[Cell]) -> Rates:
    return rates((c.standing, c.late, c.due_passed) for c in cells)


def year_grid(session: Session, *, contract: Contract, periods: list[Period], year: int, now: datetime) -> Grid:
    """Partners x the year's months."""
    partners = sorted(contract.partners, key=lambda p: p.id)
    cells: dict[tuple[str, Period], Cell] = {}
    for period in periods:
        for cell in period_cells(session, contract=contract, period=period, now=now):
            cells[(cell.partner_id, period)] = cell
    by_month = {p: _rates_of([cells[(partner.id, p)] for partner in partners]) for p in periods}
    by_partner = {partner.id: _rates_of([cells[(partner.id, p)] for p in periods]) for partner in partners}
    return Grid(year, periods, partners, cells, by_month, by_partner, _rates_of(list(cells.values())))


# --- For a caller: `alliance status` and the officers' returns grid ----------------------------------


def current_year(deps: Deps) -> int:
    """The contract year this month is in (1 before the contract starts)."""
    today = london_date(deps.clock())
    year, _ = contract_month(
        max(Period(today.year, today.month), deps.contract.alliance.start), deps.contract.alliance.start
    )
    return year


def returns_grid(deps: Deps, principal: Principal, *, year: int) -> Grid:
    authorise(principal, "status")
    periods = year_periods(deps.contract, year)
    with read_scope(deps.engine) as session:
        return year_grid(session, contract=deps.contract, periods=periods, year=year, now=deps.clock())


def period_grid(deps: Deps, principal: Principal, *, period: Period) -> Grid:
    """One month's column of the grid (its year's number with it)."""
    authorise(principal, "status")
    year, _ = contract_month(period, deps.contract.alliance.start)
    with read_scope(deps.engine) as session:
        return year_grid(session, contract=deps.contract, periods=[period], year=year, now=deps.clock())
