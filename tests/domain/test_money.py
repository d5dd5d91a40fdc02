from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import (
    apply_rate,
    exact,
    format_pounds,
    largest_remainder,
    pounds_to_pence,
    round_half_even,
    split_evenly,
)

weights = st.dictionaries(
    st.text(alphabet="abcdefghij-", min_size=1, max_size=8),
    st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=30,
)


@given(total=st.integers(min_value=0, max_value=10**12), weights=weights)
def test_largest_remainder_parts_sum_to_the_total_each_within_a_penny_of_its_share(
    total: int, weights: dict[str, Decimal]
) -> None:
    if sum(weights.values()) == 0:
        weights = {**weights, "z": Decimal(1)}
    parts = largest_remainder(total, weights)
    assert sum(parts.values()) == total
    assert set(parts) == set(weights)
    weight_sum = sum(weights.values())
    for key, weight in weights.items():
        share = Decimal(total) * weight / weight_sum
        assert abs(Decimal(parts[key]) - share) < 1


@given(total=st.integers(min_value=0, max_value=10**12), count=st.integers(min_value=1, max_value=24))
def test_split_evenly_sums_and_differs_by_at_most_a_penny(total: int, count: int) -> None:
    parts = split_evenly(total, count)
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # earlier instalments take the spare pennies


def test_ties_are_broken_by_key_order() -> None:
    assert largest_remainder(1, {"b": 1, "a": 1}) == {"a": 1, "b": 0}
    assert largest_remainder(2, {"c": 1, "b": 1, "a": 1}) == {"a": 1, "b": 1, "c": 0}


def test_zero_weights_split_nothing_and_refuse_something() -> None:
    assert largest_remainder(0, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    with pytest.raises(ValueError):
        largest_remainder(5, {"a": 0})


def test_round_half_even_is_the_one_rule() -> None:
    assert round_half_even(Decimal("2.5")) == 2
    assert round_half_even(Decimal("3.5")) == 4
    assert apply_rate(125, Decimal("0.5")) == 62  # 62.5 -> 62
    assert apply_rate(135, Decimal("0.5")) == 68  # 67.5 -> 68


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        exact(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pounds_to_pence(1.5)  # type: ignore[arg-type]


def test_pounds_to_pence_is_exact_and_refuses_fractions_of_a_penny() -> None:
    assert pounds_to_pence(Decimal("310000.50")) == 31000050
    assert pounds_to_pence("0.07") == 7
    with pytest.raises(ValueError):
        pounds_to_pence(Decimal("1.005"))


def test_format_pounds() -> None:
    assert format_pounds(31000050) == "£310,000.50"
    assert format_pounds(-5) == "-£0.05"
