"""The report's funnel plot says what the table beside it says: each partner's colour is its standing against its
own limits, and its point sits on that side of the funnel drawn; one return gives a plot saying so."""

from typing import Any

import pytest

from domain.performance import Against, AlliancePerformance, BandCounts, assess
from services.report_performance import STATUSES, funnel_layout_of, funnel_plot, partner_performance
from services.review import performance_of
from tests.services.report_helpers import LAST, open_books_deps


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from models.db import session_scope
    from services.review import counted_rows, year_periods

    deps = open_books_deps(tmp_path_factory.mktemp("funnel") / "ws")
    with session_scope(deps.engine) as session:
        counted = counted_rows(session, periods=year_periods(deps.contract, 1))
    return deps, performance_of(deps.contract, counted)


def test_each_point_is_coloured_and_placed_as_the_table_says_it_stands(books: Any) -> None:
    deps, performance = books
    assert isinstance(performance, AlliancePerformance)
    contract = deps.contract
    roughly = frozenset({"partner-01", "partner-02"})
    table = {r["partner"]: r["standing"] for r in partner_performance(contract, performance, "y", roughly).rows}
    layout = funnel_layout_of(contract, performance, "y", roughly)
    z = float(contract.review.control_limit_z)
    assert layout.message is None and len(layout.points) == len(contract.partners)
    for placed in layout.points:
        p = placed.point
        side = Against(table[p.label])
        assert p.status == side and placed.colour == STATUSES[side][0]
        lower, upper = performance.funnel(p.expected, z)
        assert p.ratio < lower if side is Against.below else p.ratio > upper if side is Against.above else True
        assert lower <= p.ratio <= upper or side is not Against.within
    assert {text for _, text in layout.legend} == {STATUSES[Against(s)][1] for s in table.values()}
    rough_points = {pp.point.label: pp.point for pp in layout.points if pp.point.label in ("Partner 01", "Partner 02")}
    assert all(p.expected % 10 == 0 for p in rough_points.values())  # plotted as roughly as the table says


def test_a_month_with_one_return_gives_a_funnel_saying_there_is_not_enough_data(books: Any) -> None:
    """Issue 30: the report of a month with only one return raised ZeroDivisionError in the funnel (its E, rough
    beside its hidden counts, rounded to 0)."""
    deps, _ = books
    counts = [BandCounts("partner-01", LAST, "standard", 3, {"housing_sustained": 1})]
    weights = {m.id: m.weight for m in deps.contract.framework.measures}
    one = assess(counts, weights, ["partner-01"])
    layout = funnel_layout_of(deps.contract, one, "one return", frozenset({"partner-01"}))
    assert layout.message is not None and layout.message.startswith("Not enough data")
    assert funnel_plot(deps.contract, one, "one return", frozenset({"partner-01"}))[:4] == b"\x89PNG"
    nobody = assess([], weights, [])
    assert funnel_layout_of(deps.contract, nobody, "none", frozenset()).message is not None
