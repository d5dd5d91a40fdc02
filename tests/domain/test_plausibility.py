from domain.plausibility import against_history
from domain.returns import MonthFigures


def month(rows: int, **achieved: int) -> MonthFigures:
    return MonthFigures(period="", rows=rows, achieved=achieved)


STEADY = tuple(month(r, into_work=r // 4) for r in (100, 95, 110, 104, 98, 101))


def test_a_usual_month_raises_nothing() -> None:
    assert against_history(month(108, into_work=28), STEADY) == []


def test_rows_pasted_twice_are_an_unusual_volume_with_the_figures() -> None:
    [unusual] = against_history(month(212, into_work=53), STEADY)
    assert unusual.code == "VOLUME_UNUSUAL"
    assert unusual.value == "212"
    assert unusual.params == {"months": 6, "expected": "95-110", "median": "100.5"}


def test_a_half_empty_month_is_unusual_too() -> None:
    assert [u.code for u in against_history(month(40, into_work=10), STEADY)] == ["VOLUME_UNUSUAL"]


def test_small_partners_counts_may_double_without_a_warning() -> None:
    small = tuple(month(r, into_work=1) for r in (4, 5, 3))
    assert against_history(month(11, into_work=3), small) == []


def test_an_outcome_filled_down_is_an_unusual_rate() -> None:
    [unusual] = against_history(month(100, into_work=100), STEADY)
    assert unusual.code == "RATE_UNUSUAL" and unusual.column == "into_work"
    assert unusual.value == "100% (100 of 100)"
    assert unusual.params["expected"] == "25% (150 of 608)"


def test_a_modest_change_in_rate_is_not_flagged() -> None:
    assert against_history(month(100, into_work=35), STEADY) == []


def test_too_little_history_judges_nothing() -> None:
    assert against_history(month(1000, into_work=1000), STEADY[:2]) == []


def test_only_the_most_recent_six_months_count() -> None:
    old = tuple(month(1000, into_work=900) for _ in range(6))
    assert [u.code for u in against_history(month(1000, into_work=900), STEADY + old)] == [
        "VOLUME_UNUSUAL",
        "RATE_UNUSUAL",
    ]


def test_a_measure_new_to_the_framework_has_no_past_to_be_unusual_against() -> None:
    assert against_history(month(100, into_work=25, new_measure=60), STEADY) == []
