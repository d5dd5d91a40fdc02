"""The gaming monitors of a period, from the records (the statistics are in ``domain.monitors``)."""

from sqlmodel import Session

from domain.contract import Contract
from domain.monitors import Alert, Cycling, PartnerMonth, run_monitors
from domain.periods import Period, contract_month
from models import monitoring

WINDOW_MONTHS = 12  # the months a monitor looks back over, this one included
DEADLINE_MONTHS = 2  # the last months of a contract year: the annual review counts them, its limits are near


def deadline_periods(contract: Contract, period: Period) -> frozenset[Period]:
    """The last ``DEADLINE_MONTHS`` months of ``period``'s contract year."""
    year, _ = contract_month(period, contract.alliance.start)
    last = contract.alliance.start.plus(12 * year - 1)
    return frozenset(last.plus(-n) for n in range(DEADLINE_MONTHS))


def window(contract: Contract, period: Period) -> list[Period]:
    first = max(period.plus(1 - WINDOW_MONTHS), contract.alliance.start)
    return [first.plus(n) for n in range(period.months_since(first) + 1)]


def partner_months(session: Session, *, periods: list[Period]) -> list[PartnerMonth]:
    months = []
    for period in periods:
        grouped: dict[str, tuple[dict[str, int], dict[str, int], dict[str, int]]] = {}
        for row in monitoring.month_rows(session, period=str(period), first_day=period.first_day):
            rows, new, achieved = grouped.setdefault(row.partner_id, ({}, {}, {}))
            rows[row.band] = rows.get(row.band, 0) + row.rows
            if row.new:
                new[row.band] = new.get(row.band, 0) + row.rows
            for measure in row.achieved:
                achieved[measure] = achieved.get(measure, 0) + row.rows
        months += [PartnerMonth(pid, period, r, n, a) for pid, (r, n, a) in sorted(grouped.items())]
    return months


def monitor_period(session: Session, *, contract: Contract, period: Period) -> list[Alert]:
    """Every gaming monitor's alerts about ``period``, over the months before it."""
    return monitor_periods(session, contract=contract, periods=[period])


def monitor_periods(session: Session, *, contract: Contract, periods: list[Period]) -> list[Alert]:
    """The alerts about each of ``periods`` (oldest first), the months they look back over read once. Cycling
    needs a pass over every participant of a window, so it is judged as at the last period only."""
    first, last = window(contract, periods[0])[0], periods[-1]
    months = partner_months(session, periods=[first.plus(n) for n in range(last.months_since(first) + 1)])
    alerts: list[Alert] = []
    for period in periods:
        start = window(contract, period)[0]
        seen = [m for m in months if start <= m.period <= period]
        alerts += run_monitors(
            seen,
            _cycling(session, window(contract, period)) if period == last else [],
            period=period,
            bands=contract.framework.bands,
            deadline_periods=deadline_periods(contract, period),
        )
    return alerts


def _cycling(session: Session, periods: list[Period]) -> list[Cycling]:
    return [
        Cycling(c.partner_id, c.participants, c.reentered, c.rereferred)
        for c in monitoring.cycling(session, periods=[str(p) for p in periods])
    ]
