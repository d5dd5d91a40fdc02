from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.contract import Contract
from domain.periods import Period
from models.db import session_scope
from services.status import count_statuses, period_status
from tests.services.stored import store

OCTOBER = Period(2026, 10)  # due 14/11/2026
BEFORE_DUE = datetime(2026, 11, 10, 9, tzinfo=UTC)
AFTER_DUE = datetime(2026, 11, 16, 9, tzinfo=UTC)


def table(engine: Engine, contract: Contract, now: datetime) -> dict[str, dict[str, object]]:
    with session_scope(engine) as session:
        return {row["partner"]: row for row in period_status(session, contract=contract, period=OCTOBER, now=now)}


def test_each_partner_has_a_status_and_timeliness(engine: Engine, contract: Contract) -> None:
    store(engine, contract, "harbour-trust", status="rejected", at=BEFORE_DUE, errors=3)
    store(engine, contract, "harbour-trust", version=2, status="accepted", at=AFTER_DUE, on_time=False)
    store(engine, contract, "city-mind", status="rejected", at=AFTER_DUE, on_time=False, errors=2)
    rows = table(engine, contract, AFTER_DUE)
    assert {p: (r["status"], r["timeliness"]) for p, r in rows.items()} == {
        "city-mind": ("rejected", "late"),
        "harbour-trust": ("accepted", "on time"),  # the first version arrived in time
        "northfield-works": ("missing", "late"),
    }
    assert rows["harbour-trust"] == {
        "partner": "harbour-trust",
        "status": "accepted",
        "timeliness": "on time",
        "due": "14/11/2026",
        "versions": 2,
        "rows": 4,
        "errors": 0,
        "warnings": 0,
        "feedback": "out/feedback/2026-10/harbour-trust-2026-10-v2-feedback.xlsx",
    }
    assert rows["city-mind"]["errors"] == 2
    assert count_statuses(list(rows.values())) == {
        "awaiting": 0,
        "missing": 1,
        "submitted": 0,
        "accepted": 1,
        "rejected": 1,
        "late": 2,
    }


def test_before_the_due_date_nothing_received_is_awaiting(engine: Engine, contract: Contract) -> None:
    store(engine, contract, "city-mind", status="received", at=BEFORE_DUE)
    rows = table(engine, contract, BEFORE_DUE)
    assert {p: (r["status"], r["timeliness"]) for p, r in rows.items()} == {
        "city-mind": ("submitted", "on time"),
        "harbour-trust": ("awaiting", "not yet due"),
        "northfield-works": ("awaiting", "not yet due"),
    }


def test_the_year_grid_counts_expected_returned_and_on_time_per_month_and_partner(
    engine: Engine, contract: Contract
) -> None:
    from services.status import year_grid

    september = Period(2026, 9)
    store(engine, contract, "harbour-trust", period="2026-09", status="accepted", at=BEFORE_DUE, on_time=True)
    store(engine, contract, "city-mind", period="2026-09", status="accepted", at=AFTER_DUE, on_time=False)
    store(engine, contract, "harbour-trust", status="rejected", at=BEFORE_DUE, errors=3)
    store(engine, contract, "city-mind", status="accepted", at=BEFORE_DUE)
    with session_scope(engine) as session:
        grid = year_grid(
            session, contract=contract, periods=[september, OCTOBER, Period(2026, 11)], year=1, now=AFTER_DUE
        )
    words = {(p, str(m)): grid.cells[(p, m)].standing.value for p, m in grid.cells}
    assert words[("harbour-trust", "2026-10")] == "sent back" and grid.cells[("harbour-trust", OCTOBER)].errors == 3
    assert words[("northfield-works", "2026-09")] == "overdue"
    assert words[("city-mind", "2026-11")] == "not yet due"
    assert grid.by_month[september].as_dict() == {
        "expected": 3,
        "returned": 2,
        "on_time": 1,
        "reporting_rate": 0.6667,
        "on_time_rate": 0.3333,
    }
    assert (grid.by_month[OCTOBER].expected, grid.by_month[OCTOBER].returned) == (3, 1)
    assert grid.by_month[Period(2026, 11)].expected == 0  # nothing due yet: no rate
    assert grid.by_month[Period(2026, 11)].reporting_rate is None
    city = grid.by_partner["city-mind"]
    assert (city.expected, city.returned, city.on_time) == (2, 2, 1)
    assert (grid.overall.expected, grid.overall.returned) == (6, 3)
